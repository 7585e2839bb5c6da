/**
 * A container's mount plan: what it mounts where, decided once at create from `-v`, `--mount`,
 * the anonymous volumes (`-v /path`, the image's VOLUME) and `--volumes-from`, and kept with the
 * container so every start mounts the same volumes. Pure: the daemon creates the volumes a plan
 * names and fills in their host paths.
 */
import { isAbsolute, posix } from 'node:path';
import type { ContainerConfig, HostConfig, MountPoint } from '../types/index.js';
import { InvalidArgumentError, goClean, type Mount } from '../util/index.js';

/** One bind or volume of a container, as its record keeps it. */
export interface PlannedMount {
  type: 'bind' | 'volume';
  /** The volume's name; '' in a plan not yet resolved for an anonymous one. */
  name?: string;
  /** The host path: the bind's source, or the volume's mountpoint once resolved. */
  source: string;
  destination: string;
  rw: boolean;
  /** The mode as inspect shows it (`ro,z`, `z` for a named `-v` volume, '' otherwise). */
  mode: string;
  /** The bind's propagation; '' for volumes, as Docker shows them. */
  propagation: string;
  /** Fill a new, empty volume from the image's content at the destination (not `nocopy`). */
  copyData: boolean;
  /** A volume this container made for itself (`-v /path`, VOLUME), which `rm -v` removes. */
  anonymous?: boolean;
  /** A `-v` bind whose missing source is created at start, as Docker does. */
  createSource?: boolean;
  nonRecursive?: boolean;
  /** `--mount volume-opt=` and `volume-label=`: for a volume the plan creates. */
  driverOptions?: Record<string, string>;
  labels?: Record<string, string>;
}

const MODES = ['ro', 'rw', 'z', 'Z', 'rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave', 'nocopy'];
const PROPAGATION = /^r?(private|shared|slave)$/;

/** `-v SRC:DST[:MODE]` or `-v DST` as a planned mount, in Docker's words when it does not parse. */
export function parseVolumeSpec(spec: string): PlannedMount {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new InvalidArgumentError(`invalid volume specification: '${spec}'`);
  if (parts.length === 1) return anonymous(spec);
  // Docker's rule: a destination with a mode (`/dst:ro`) is no volume; anonymous ones take none.
  if (parts.length === 2 && parts[1].split(',').every((o) => MODES.includes(o))) throw new InvalidArgumentError(`invalid volume specification: '${spec}'`);
  const [source, destination, mode = ''] = parts;
  if (!isAbsolute(destination)) {
    throw new InvalidArgumentError(`invalid volume specification: '${spec}': invalid mount config for type "${isAbsolute(source) ? 'bind' : 'volume'}": invalid mount path: '${destination}' mount path must be absolute`);
  }
  for (const o of mode ? mode.split(',') : []) if (!MODES.includes(o)) throw new InvalidArgumentError(`invalid mode: ${o}`);
  if (isAbsolute(source)) {
    const m = modeOf(mode, 'bind');
    return { type: 'bind', source: goClean(source), destination: goClean(destination), ...m, copyData: false, createSource: true };
  }
  const m = modeOf(mode, 'volume');
  return { type: 'volume', name: source, source: '', destination: goClean(destination), ...m, mode: mode || 'z' };
}

function anonymous(destination: string): PlannedMount {
  if (!isAbsolute(destination)) throw new InvalidArgumentError(`invalid volume specification: '${destination}': invalid mount config for type "volume": invalid mount path: '${destination}' mount path must be absolute`);
  return { type: 'volume', name: '', source: '', destination: goClean(destination), rw: true, mode: '', propagation: '', copyData: true, anonymous: true };
}

function modeOf(mode: string, type: 'bind' | 'volume'): Pick<PlannedMount, 'rw' | 'mode' | 'propagation' | 'copyData'> {
  const opts = mode ? mode.split(',') : [];
  if (type === 'volume' && opts.some((o) => PROPAGATION.test(o))) throw new InvalidArgumentError(`invalid mode: ${mode}`);
  return {
    rw: !opts.includes('ro'),
    mode,
    propagation: type === 'bind' ? (opts.find((o) => PROPAGATION.test(o)) ?? 'rprivate') : '',
    copyData: type === 'volume' && !opts.includes('nocopy'),
  };
}

/** A `--volumes-from` entry: `container[:ro|rw]`. */
export function parseVolumesFrom(spec: string): { container: string; mode: '' | 'ro' | 'rw' } {
  const i = spec.lastIndexOf(':');
  if (i < 0) return { container: spec, mode: '' };
  const mode = spec.slice(i + 1);
  if (mode !== 'ro' && mode !== 'rw') throw new InvalidArgumentError(`invalid mode: ${mode}`);
  return { container: spec.slice(0, i), mode };
}

/**
 * The plan for a new container, in Docker's order of precedence: the anonymous volumes of
 * `Config.Volumes`, then what `--volumes-from` brings, then `-v`, then `--mount`; a later one
 * replaces an earlier one at the same destination, but two of the user's own (`-v` and
 * `--mount`) at one destination are an error. `from` is each `--volumes-from` container's
 * plan with its mode.
 */
export function planMounts(hc: HostConfig, config: ContainerConfig, from: { mounts: PlannedMount[]; mode: '' | 'ro' | 'rw' }[] = []): PlannedMount[] {
  const byDest = new Map<string, PlannedMount>();
  for (const d of Object.keys(config.Volumes ?? {})) {
    const m = anonymous(d);
    byDest.set(m.destination, m);
  }
  for (const f of from) {
    for (const m of f.mounts) {
      const rw = f.mode === '' ? m.rw : f.mode === 'rw';
      const { anonymous: _a, createSource: _c, driverOptions: _d, labels: _l, ...rest } = m;
      byDest.set(m.destination, { ...rest, rw, copyData: false, mode: f.mode || m.mode });
    }
  }
  const own = new Set<string>();
  const addOwn = (m: PlannedMount): void => {
    if (own.has(m.destination)) throw new InvalidArgumentError(`Duplicate mount point: ${m.destination}`);
    own.add(m.destination);
    byDest.set(m.destination, m);
  };
  for (const b of hc.Binds ?? []) addOwn(parseVolumeSpec(b));
  for (const m of hc.Mounts ?? []) {
    if (!m.Target || (m.Type !== 'bind' && m.Type !== 'volume')) continue;
    const destination = goClean(m.Target);
    if (m.Type === 'bind') {
      addOwn({ type: 'bind', source: m.Source ?? '', destination, rw: !m.ReadOnly, mode: '', propagation: m.BindOptions?.Propagation || 'rprivate', copyData: false, nonRecursive: m.BindOptions?.NonRecursive || undefined });
      continue;
    }
    const vo = m.VolumeOptions;
    const planned: PlannedMount = { type: 'volume', name: m.Source ?? '', source: '', destination, rw: !m.ReadOnly, mode: '', propagation: '', copyData: !vo?.NoCopy };
    if (!m.Source) planned.anonymous = true;
    if (vo?.DriverConfig?.Options && Object.keys(vo.DriverConfig.Options).length) planned.driverOptions = { ...vo.DriverConfig.Options };
    if (vo?.Labels && Object.keys(vo.Labels).length) planned.labels = { ...vo.Labels };
    addOwn(planned);
  }
  return [...byDest.values()];
}

/** How deep a destination is: parents are mounted before what is mounted inside them. */
export function mountDepth(path: string): number {
  return posix.normalize(path).split('/').filter(Boolean).length;
}

/** A resolved planned mount as the runtime's bind mount. */
export function plannedRuntimeMount(m: PlannedMount, source: string): Mount {
  const propagation = m.type === 'bind' ? m.propagation || 'rprivate' : 'rprivate';
  return { type: 'bind', source, target: m.destination, options: [m.nonRecursive ? 'bind' : 'rbind', m.rw ? 'rw' : 'ro', propagation] };
}

/** A planned mount as inspect's `Mounts` shows it. */
export function plannedMountPoint(m: PlannedMount): MountPoint {
  if (m.type === 'bind') return { Type: 'bind', Source: m.source, Destination: m.destination, Mode: m.mode, RW: m.rw, Propagation: m.propagation };
  return { Type: 'volume', Name: m.name ?? '', Source: m.source, Destination: m.destination, Driver: 'local', Mode: m.mode, RW: m.rw, Propagation: '' };
}
