export { main, CLI_VERSION } from './program.js';
