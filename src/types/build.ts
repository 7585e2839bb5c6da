/** POST /build/prune. */
export interface BuildCachePruneResponse {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}

/**
 * POST /build's query, parsed (moby api/swagger.yaml, ImageBuild). The API layer reads the
 * query into this; `wharf build` and the docker CLI's classic build send the same parameters.
 */
export interface BuildRequest {
  /** `dockerfile`: its path inside the context; default `Dockerfile`. */
  dockerfile: string;
  /** `t`, each `name:tag`. */
  tags: string[];
  /** `buildargs`: a JSON object; a null value means "take it from the daemon's environment", as Docker does. */
  buildArgs: Record<string, string | null>;
  target?: string;
  /** `nocache`. */
  noCache: boolean;
  /** `pull`: always look for a newer base. */
  pull: boolean;
  /** `labels`: a JSON object, added to the final image. */
  labels: Record<string, string>;
  /** `networkmode`: `default`, `bridge`, `host`, `none`, `container:<id>` or a network name. */
  networkMode?: string;
  /** `extrahosts`: `host:ip` entries. */
  extraHosts: string[];
  /** `q`: print only the image ID at the end. */
  quiet: boolean;
  /** `rm` (default true) and `forcerm`: remove intermediate containers after a good / any step. */
  rm: boolean;
  forceRm: boolean;
  platform?: string;
  /** `cachefrom`: a JSON array of image references whose steps may be reused. */
  cacheFrom: string[];
  /** `remote`: a URL context; only a plain HTTP(S) Dockerfile or tarball URL is supported. */
  remote?: string;
  /** Resources for RUN containers: `memory`, `memswap`, `cpushares`, `cpusetcpus`, `cpusetmems`, `cpuperiod`, `cpuquota`, `shmsize`. */
  memory?: number;
  memorySwap?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuPeriod?: number;
  cpuQuota?: number;
  shmSize?: number;
  /** `ulimits`: a JSON array like HostConfig.Ulimits. */
  ulimits?: { Name: string; Soft: number; Hard: number }[];
  /** `secrets`: wharf's own, `id=path` pairs on the daemon's host for `RUN --mount=type=secret` (the classic API has no session to carry them). */
  secrets?: Record<string, string>;
}

/** One entry of `system df`'s BuildCache (moby's BuildCache). */
export interface BuildCacheEntry {
  ID: string;
  Parent?: string | null;
  Parents?: string[] | null;
  Type: 'internal' | 'frontend' | 'source.local' | 'source.git.checkout' | 'exec.cachemount' | 'regular';
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}
