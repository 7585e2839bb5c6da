/**
 * Published ports as the docker CLI shows them: the `ps` PORTS column and `port`'s lines.
 */
import type { Port, PortMap } from '../../types/index.js';

/** Go's net.JoinHostPort: an IPv6 host in brackets. */
export const joinHostPort = (host: string, port: string | number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

const comparePorts = (a: Port, b: Port) => {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  const ip = (a.IP ?? '') < (b.IP ?? '') ? -1 : (a.IP ?? '') > (b.IP ?? '') ? 1 : 0;
  if (ip) return ip;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
};

/**
 * The PORTS column (docker/cli's DisplayablePorts): runs of consecutive ports that are either
 * unpublished or published on the same port number collapse into ranges (`9000-9002/tcp`,
 * `0.0.0.0:9000-9002->9000-9002/tcp`), listed in the order each run started, a run cut by a gap
 * listed when it is cut; mappings to another host port follow, one each.
 */
export function displayablePorts(ports: Port[] = []): string {
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const mappings: string[] = [];
  const group = (key: string, first: number, last: number) => {
    const slash = key.lastIndexOf('/');
    const [ip, type] = slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
    const range = first === last ? `${first}` : `${first}-${last}`;
    return `${ip ? `${joinHostPort(ip, range)}->${range}` : range}/${type}`;
  };
  for (const p of [...ports].sort(comparePorts)) {
    let key: string = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        mappings.push(`${joinHostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (g && p.PrivatePort === g.last + 1) {
      g.last = p.PrivatePort;
      continue;
    }
    if (g) result.push(group(key, g.first, g.last));
    // A Map keeps the order a key was first set in, which is the order docker lists the runs in.
    groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
  }
  for (const [key, g] of groups) result.push(group(key, g.first, g.last));
  return [...result, ...mappings].join(', ');
}

/** fvbommel/sortorder's NaturalLess: runs of digits compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [x, y] = [pa[i], pb[i]];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * `port`'s lines: `80/tcp -> 0.0.0.0:8080` for every binding, or the host addresses of one
 * container port (`wanted`, already in `80/tcp` form); sorted naturally, as docker sorts them.
 * undefined when `wanted` has no binding.
 */
export function portLines(ports: PortMap | null | undefined, wanted?: string): string[] | undefined {
  const map = ports ?? {};
  if (wanted !== undefined) {
    const binds = map[wanted];
    if (!binds?.length) return undefined;
    return binds.map((b) => joinHostPort(b.HostIp ?? '', b.HostPort ?? '')).sort(naturalCompare);
  }
  return Object.entries(map)
    .flatMap(([k, binds]) => (binds ?? []).map((b) => `${k} -> ${joinHostPort(b.HostIp ?? '', b.HostPort ?? '')}`))
    .sort(naturalCompare);
}
