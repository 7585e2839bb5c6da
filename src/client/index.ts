export { Client, encodeRegistryAuth, type AttachOptions, type Filters, type LogsOptions } from './client.js';
export { Transport, negotiateVersion, queryString, type Query, type RequestInit } from './transport.js';
export { ApiError, ConnectError } from './errors.js';
export { DEFAULT_HOST, resolveEndpoint, type ConnectEnv, type ConnectOptions, type Endpoint } from './host.js';
export { Demuxer, copyRaw, demux, jsonLines, readAll, readProgress, type OutputSinks, type StreamId } from './stream.js';
