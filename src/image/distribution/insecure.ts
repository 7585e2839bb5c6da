import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { DOCKER_HUB } from './names.js';
import { isLoopbackIp } from './proxy.js';

/**
 * daemon.json `insecure-registries` as dockerd applies them: an entry is a registry name
 * (`host` or `host:port`, compared as written) or a CIDR, which matches a registry whose host
 * is, or resolves to, an address inside it. Loopback (127.0.0.0/8, ::1, `localhost`) is always
 * insecure, as Docker's default 127.0.0.0/8 is. Docker Hub never is.
 */
export class InsecureRegistries {
  readonly #names = new Set<string>();
  readonly #cidrs = new BlockList();
  #hasCidrs = false;
  readonly #resolve: (host: string) => Promise<string[]>;

  constructor(entries: string[], resolve: (host: string) => Promise<string[]> = defaultResolve) {
    this.#resolve = resolve;
    for (const raw of entries) {
      const entry = raw.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '');
      const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
      if (cidr && isIP(cidr[1])) {
        this.#cidrs.addSubnet(cidr[1], Number(cidr[2]), isIP(cidr[1]) === 6 ? 'ipv6' : 'ipv4');
        this.#hasCidrs = true;
      } else if (entry) {
        this.#names.add(entry.toLowerCase());
      }
    }
  }

  /** Whether `hostPort` (`host`, `host:port`, `[v6]:port`) may be reached over plain HTTP or unverified TLS. */
  async isInsecure(hostPort: string): Promise<boolean> {
    const key = hostPort.toLowerCase();
    if (key === DOCKER_HUB) return false;
    if (this.#names.has(key)) return true;
    const host = hostOf(key);
    if (host === 'localhost' || host.endsWith('.localhost') || isLoopbackIp(host)) return true;
    // Like dockerd, a name counts by the addresses it resolves to (so a name of 127.0.0.1 is insecure).
    const addrs = isIP(host) ? [host] : await this.#resolve(host).catch(() => [] as string[]);
    for (const a of addrs) {
      if (isLoopbackIp(a)) return true;
      if (this.#hasCidrs && this.#cidrs.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4')) return true;
    }
    return false;
  }
}

function hostOf(hostPort: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort);
  if (v6) return v6[1];
  if (isIP(hostPort) === 6) return hostPort;
  const i = hostPort.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(hostPort.slice(i + 1)) ? hostPort.slice(0, i) : hostPort;
}

async function defaultResolve(host: string): Promise<string[]> {
  const all = await lookup(host, { all: true });
  return all.map((a) => a.address);
}
