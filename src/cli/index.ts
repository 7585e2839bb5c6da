export { main, buildProgram } from './program.js';
export { Session, type IO, type ClientFactory } from './session.js';
export { Exit } from './errors.js';
export { CLI_VERSION } from './command.js';
