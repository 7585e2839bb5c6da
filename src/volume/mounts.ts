/**
 * A container's mounts as Docker's API describes them (`HostConfig.Binds` from `-v`,
 * `HostConfig.Mounts` from `--mount`, `HostConfig.Tmpfs` from `--tmpfs`), turned into the
 * runtime's `Mount[]`, checked at create time with Docker's messages, and shown as the
 * `Mounts` of inspect and ps. A container created with a mount plan (plan.ts) takes its binds
 * and volumes from the plan; these functions still serve the tmpfs mounts, and the binds of
 * containers recorded before plans existed.
 */
import { isAbsolute, posix } from 'node:path';
import { stat } from 'node:fs/promises';
import type { HostConfig, MountPoint } from '../types/index.js';
import { InvalidArgumentError, isErrno, type Mount } from '../util/index.js';
import { mountDepth, parseVolumeSpec, plannedMountPoint, type PlannedMount } from './plan.js';

export interface ParsedBind {
  source: string;
  destination: string;
  readOnly: boolean;
  propagation: string;
  /** The mode string as given (`ro,z`), which inspect shows. */
  mode: string;
}

const BIND_MODES = ['ro', 'rw', 'z', 'Z', 'rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave', 'nocopy'];

/** Parse `-v /src:/dst[:ro,z,rshared]`; named volumes are not yet supported. */
export function parseBind(spec: string): ParsedBind {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw new InvalidArgumentError(`invalid volume specification: '${spec}'`);
  const [source, destination, mode = ''] = parts;
  if (!isAbsolute(destination)) {
    throw new InvalidArgumentError(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid mount path: '${destination}' mount path must be absolute`);
  }
  if (!isAbsolute(source)) {
    throw new InvalidArgumentError(`invalid volume specification: '${spec}': named volumes are not supported by this version of wharf yet; use an absolute host path`);
  }
  const opts = mode ? mode.split(',') : [];
  for (const o of opts) {
    if (!BIND_MODES.includes(o)) throw new InvalidArgumentError(`invalid mode: ${o}`);
  }
  return {
    source: posix.normalize(source),
    destination: posix.normalize(destination),
    readOnly: opts.includes('ro'),
    propagation: opts.find((o) => /^r?(private|shared|slave)$/.test(o)) ?? 'rprivate',
    mode,
  };
}

/** The `-v` binds and `--mount`s (bind and tmpfs), in that order, as runtime mounts. */
export function bindMounts(hc: HostConfig): Mount[] {
  const mounts: Mount[] = [];
  for (const b of hc.Binds ?? []) {
    const p = parseBind(b);
    mounts.push({ type: 'bind', source: p.source, target: p.destination, options: ['rbind', p.readOnly ? 'ro' : 'rw', p.propagation] });
  }
  for (const m of hc.Mounts ?? []) {
    if (!m.Target) continue;
    if (m.Type === 'tmpfs') {
      const opts = ['nosuid', 'nodev', 'noexec'];
      if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      mounts.push({ type: 'tmpfs', source: 'tmpfs', target: m.Target, options: opts });
    } else if (m.Type === 'bind' && m.Source) {
      const prop = m.BindOptions?.Propagation || 'rprivate';
      mounts.push({
        type: 'bind',
        source: m.Source,
        target: m.Target,
        options: [m.BindOptions?.NonRecursive ? 'bind' : 'rbind', m.ReadOnly ? 'ro' : 'rw', prop],
      });
    }
  }
  return mounts;
}

/**
 * `--tmpfs /dst[:opts]` as a runtime mount: Docker's nosuid,nodev,noexec, where an option the
 * user gives replaces its opposite (exec over noexec, and so on).
 */
export function tmpfsMount(target: string, opts: string): Mount {
  const options = ['nosuid', 'nodev', 'noexec'];
  for (const o of opts.split(',').map((s) => s.trim()).filter(Boolean)) {
    const opposite = o.startsWith('no') ? o.slice(2) : `no${o}`;
    const i = options.indexOf(opposite);
    if (i >= 0) options.splice(i, 1);
    if (!options.includes(o)) options.push(o);
  }
  return { type: 'tmpfs', source: 'tmpfs', target, options };
}

/**
 * Every mount a container asks for, in the order the runtime mounts them: `--tmpfs` first,
 * then `-v` binds, then `--mount`s.
 */
export function containerMounts(hc: HostConfig): Mount[] {
  const tmpfs = Object.entries(hc.Tmpfs ?? {}).map(([target, opts]) => tmpfsMount(target, opts));
  return [...tmpfs, ...bindMounts(hc)];
}

/**
 * The host directories a start creates when missing: Docker does so for a `-v /path:/dst`
 * source, never for a `--mount` one (create refused that already).
 */
export function bindSourcesToCreate(hc: HostConfig): string[] {
  return (hc.Binds ?? []).map((b) => parseBind(b).source);
}

/** Check the mounts at create time, with Docker's messages. */
export async function validateMounts(hc: HostConfig): Promise<void> {
  for (const b of hc.Binds ?? []) {
    const p = parseVolumeSpec(b);
    if (p.type !== 'bind') continue;
    try {
      await stat(p.source);
    } catch (err) {
      // A missing -v source is created at start; anything else (EACCES, ELOOP) is the user's to fix now.
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
  for (const m of hc.Mounts ?? []) {
    if (!m.Target || !isAbsolute(m.Target)) throw new InvalidArgumentError(`invalid mount config for type "${m.Type}": invalid mount path: '${m.Target ?? ''}' mount path must be absolute`);
    if (m.Type === 'bind') {
      if (!m.Source) throw new InvalidArgumentError('invalid mount config for type "bind": field Source must not be empty');
      try {
        await stat(m.Source);
      } catch {
        throw new InvalidArgumentError(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
      }
    } else if (m.Type === 'volume') {
      if (m.BindOptions) throw new InvalidArgumentError('invalid mount config for type "volume": field BindOptions must not be specified');
      if (m.TmpfsOptions) throw new InvalidArgumentError('invalid mount config for type "volume": field TmpfsOptions must not be specified');
    } else if (m.Type !== 'tmpfs') {
      throw new InvalidArgumentError(`invalid mount config: mount type unknown: "${m.Type ?? ''}"`);
    }
  }
}

/**
 * The Mounts array of inspect and ps: binds, volumes and `--mount`s; Docker leaves `--tmpfs`
 * out. With a plan, its binds and volumes, then the `--mount` tmpfs mounts.
 */
export function mountPoints(hc: HostConfig, plan?: PlannedMount[]): MountPoint[] {
  if (plan) {
    const tmpfs = (hc.Mounts ?? []).filter((m) => m.Type === 'tmpfs' && m.Target);
    return [...plan.map(plannedMountPoint), ...tmpfs.map((m) => ({ Type: 'tmpfs' as const, Source: '', Destination: m.Target!, Mode: '', RW: !m.ReadOnly, Propagation: '' }))];
  }
  const out: MountPoint[] = [];
  for (const b of hc.Binds ?? []) {
    const p = parseBind(b);
    out.push({ Type: 'bind', Source: p.source, Destination: p.destination, Mode: p.mode, RW: !p.readOnly, Propagation: p.propagation });
  }
  for (const m of hc.Mounts ?? []) {
    if (!m.Target) continue;
    out.push({
      Type: m.Type ?? 'bind',
      Source: m.Source ?? '',
      Destination: m.Target,
      Mode: '',
      RW: !m.ReadOnly,
      Propagation: m.Type === 'bind' ? m.BindOptions?.Propagation || 'rprivate' : '',
    });
  }
  return out;
}

/** The tmpfs mounts of `--tmpfs` and `--mount type=tmpfs`, which no plan holds. */
export function tmpfsMounts(hc: HostConfig): Mount[] {
  const out = Object.entries(hc.Tmpfs ?? {}).map(([target, opts]) => tmpfsMount(target, opts));
  return [...out, ...bindMounts({ Mounts: (hc.Mounts ?? []).filter((m) => m.Type === 'tmpfs') })];
}

/** Mounts in the order to mount them: a parent before what goes inside it, else as given. */
export function sortMounts(mounts: Mount[]): Mount[] {
  return mounts
    .map((m, i) => ({ m, i, d: mountDepth(m.target) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.m);
}
