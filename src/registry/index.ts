export { RegistryError, ERROR_CODES, type RegistryErrorCode } from './errors.js';
export { isRepoName, isTag, isRegistryDigest } from './names.js';
export type { RegistryStorage, OpenBlob, UploadInfo, Revision } from './storage.js';
export { FsRegistryStorage } from './fs-storage.js';
export { parseManifest, MAX_MANIFEST_BYTES } from './manifest.js';
export { Htpasswd, AccessPolicy, TokenSigner, parseScopes, type AccessRule, type Scope } from './auth.js';
export { createRegistryServer, registryHandler, type RegistryOptions, type RegistryAuth, type TlsFiles } from './server.js';
export { collectGarbage, type GcOptions, type GcResult } from './gc.js';
