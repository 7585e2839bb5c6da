export { createApiServer, createApiHandler, buildRouter } from './server.js';
