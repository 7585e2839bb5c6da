/**
 * What a container is created as, decided from the request and its image: pure functions that
 * create and start use (the defaults Docker records, the image config merged under the user's,
 * signal names, log options).
 */
import { constants as osConstants } from 'node:os';
import type { ContainerConfig, ContainerCreateRequest, HealthConfig, HostConfig } from '../../types/index.js';
import { cgroupV2, type CreateOptions } from '../../runtime/index.js';
import { InvalidArgumentError } from '../../util/index.js';
import { defaultResources } from '../resources.js';
import { DEFAULT_SHM_SIZE } from '../spec.js';
import { thrownAway, type ContainerRecord } from './state.js';

/** Log driver names accepted; all write the same conmon log, which `logs` reads (but for `none`'s). */
export const LOG_DRIVERS = ['json-file', 'local', 'k8s-file', 'none'];
export const DEFAULT_LOG_DRIVER = 'json-file';

/**
 * The host config as Docker records it at create: the defaults the runtime applies written in,
 * so inspect tells the truth. `runtime` is the runtime's name, checked by the caller.
 */
export function recordedHostConfig(given: HostConfig | undefined, runtime: string): HostConfig {
  const hostConfig = { ...(given ?? {}) };
  hostConfig.Runtime = runtime;
  hostConfig.NetworkMode = hostConfig.NetworkMode && hostConfig.NetworkMode !== 'default' ? hostConfig.NetworkMode : 'bridge';
  // Docker stores "no limit" as null, whichever of 0 or -1 the client sent, and inspect shows it so.
  if (hostConfig.PidsLimit != null && hostConfig.PidsLimit <= 0) hostConfig.PidsLimit = null;
  if (hostConfig.MemorySwappiness === -1) hostConfig.MemorySwappiness = null;
  defaultResources(hostConfig, cgroupV2);
  hostConfig.IpcMode ||= 'private';
  hostConfig.ShmSize ||= DEFAULT_SHM_SIZE;
  hostConfig.RestartPolicy = { Name: hostConfig.RestartPolicy?.Name || 'no', MaximumRetryCount: hostConfig.RestartPolicy?.MaximumRetryCount ?? 0 };
  // Every driver name Docker scripts use is served by conmon's log file. The default is named
  // json-file as Docker's is: tools such as docker-compose read logs only from drivers they know.
  hostConfig.LogConfig = { Type: hostConfig.LogConfig?.Type || DEFAULT_LOG_DRIVER, Config: hostConfig.LogConfig?.Config ?? {} };
  if (!LOG_DRIVERS.includes(hostConfig.LogConfig.Type!)) {
    throw new InvalidArgumentError(`logger: no log driver named '${hostConfig.LogConfig.Type}' is registered`);
  }
  return hostConfig;
}

function envKey(e: string): string {
  const eq = e.indexOf('=');
  return eq < 0 ? e : e.slice(0, eq);
}

/** Docker merges the image's config under the user's: Env by key, entrypoint/cmd by its own rule. */
export function mergeImageConfig(req: ContainerCreateRequest, image: { config: object }): ContainerConfig {
  const ic: ContainerConfig = (image.config as { config?: ContainerConfig }).config ?? {};
  const userEntrypoint = req.Entrypoint && !(req.Entrypoint.length === 1 && req.Entrypoint[0] === '') ? req.Entrypoint : req.Entrypoint ? [] : null;
  let entrypoint: string[] | null;
  let cmd: string[] | null;
  if (userEntrypoint === null) {
    entrypoint = ic.Entrypoint ?? null;
    cmd = req.Cmd && req.Cmd.length ? req.Cmd : (ic.Cmd ?? null);
  } else {
    entrypoint = userEntrypoint;
    cmd = req.Cmd && req.Cmd.length ? req.Cmd : userEntrypoint.length === 0 ? (ic.Cmd ?? null) : null;
  }
  // Docker's order: the user's variables as given, then the image's that the user did not set.
  // An entry without '=' (`Foo`) is kept as given, as Docker keeps it, and hides the image's Foo=.
  const userEnv = (req.Env ?? []).filter((e) => e !== '' && !e.startsWith('='));
  const userKeys = new Set(userEnv.map(envKey));
  const env = [...userEnv, ...(ic.Env ?? []).filter((e) => !userKeys.has(envKey(e)))];
  return {
    Hostname: req.Hostname ?? '',
    Domainname: req.Domainname ?? '',
    User: req.User || ic.User || '',
    AttachStdin: req.AttachStdin ?? false,
    AttachStdout: req.AttachStdout ?? false,
    AttachStderr: req.AttachStderr ?? false,
    ExposedPorts: { ...(ic.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) },
    Tty: req.Tty ?? false,
    OpenStdin: req.OpenStdin ?? false,
    StdinOnce: req.StdinOnce ?? false,
    Env: env,
    Cmd: cmd,
    Image: req.Image,
    // The image's VOLUMEs and the request's anonymous volumes together, as Docker merges them.
    Volumes: req.Volumes || ic.Volumes ? { ...(ic.Volumes ?? {}), ...(req.Volumes ?? {}) } : null,
    WorkingDir: req.WorkingDir || ic.WorkingDir || '',
    Entrypoint: entrypoint,
    OnBuild: ic.OnBuild ?? null,
    Labels: { ...(ic.Labels ?? {}), ...(req.Labels ?? {}) },
    StopSignal: req.StopSignal || ic.StopSignal || undefined,
    StopTimeout: req.StopTimeout ?? undefined,
    Healthcheck: mergeHealthcheck(req.Healthcheck, ic.Healthcheck),
  };
}

/** Docker's merge: the image's check fills each field (the test included) the request leaves empty or zero. */
function mergeHealthcheck(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (!user || !image) return user ?? image;
  return {
    Test: user.Test?.length ? user.Test : image.Test,
    Interval: user.Interval || image.Interval,
    Timeout: user.Timeout || image.Timeout,
    StartPeriod: user.StartPeriod || image.StartPeriod,
    StartInterval: user.StartInterval || image.StartInterval,
    Retries: user.Retries || image.Retries,
  };
}

/** `SIGTERM`, `TERM`, `term` and `15` all name signal 15; anything else is Docker's "Invalid signal". */
export function signalNumber(sig: string | number): number {
  if (typeof sig === 'number') return sig;
  const s = sig.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw new InvalidArgumentError(`Invalid signal: ${sig}`);
    return n;
  }
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const m = /^SIGRTMIN\+(\d+)$/.exec(name);
  if (m) return 34 + Number(m[1]);
  const num = (osConstants.signals as Record<string, number>)[name];
  if (num === undefined) throw new InvalidArgumentError(`Invalid signal: ${sig}`);
  return num;
}

/** The runtime's log settings: the container's log options over the daemon's. */
export function logOptions(daemonOpts: Record<string, string>, record: Pick<ContainerRecord, 'hostConfig' | 'buildStep' | 'logPath'>): CreateOptions {
  const cfg = { ...daemonOpts, ...(record.hostConfig.LogConfig?.Config ?? {}) };
  return {
    logPath: record.logPath,
    logMaxSize: parseSize(cfg['max-size']),
    logMaxFiles: cfg['max-file'] ? Number(cfg['max-file']) : undefined,
    ...(thrownAway(record) ? { logUnsynced: true } : {}),
  };
}

function parseSize(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(s.trim());
  if (!m) throw new InvalidArgumentError(`invalid log option max-size: ${s}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}
