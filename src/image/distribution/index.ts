/**
 * The distribution client, the registry side of pull and push: reference normalization,
 * Registries (TLS from certs.d, insecure registries, proxies, mirrors, Basic and Bearer auth)
 * and its Repositories, and the layer codecs.
 */
export { parseRemoteRef, familiarRemote, registryHost, type RemoteName, type RemoteRef } from './names.js';
export { RegistryError } from './errors.js';
export type { FetchedManifest, BlobStream, Repository } from './repository.js';
export { Registries } from './registries.js';
export type { RegistryOptions } from './client.js';
export { decompressLayer, compressLayer } from './layer.js';
