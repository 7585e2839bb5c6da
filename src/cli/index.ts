export { main, buildProgram } from './program.js';
export { Session, Exit, type IO, type ClientFactory } from './session.js';
export { CLI_VERSION } from './command.js';
