export { Client, ApiError, ConnectError, DEFAULT_HOST, readAll, type TlsOptions } from './client.js';
export { demux, readProgress } from './stream.js';
