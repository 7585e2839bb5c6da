import { BlockList, isIP } from 'node:net';

/**
 * Which proxy a request goes through, by Go's net/http/httpproxy rules (what dockerd uses):
 * HTTPS_PROXY for https URLs, HTTP_PROXY for http ones (upper case first), ALL_PROXY when
 * neither is set; never for `localhost` or a loopback address; NO_PROXY entries `host`
 * (and its subdomains), `.domain` (subdomains only), `*.domain`, `host:port`, an IP, a CIDR, `*`.
 */
export class ProxyConfig {
  readonly #http?: string;
  readonly #https?: string;
  readonly #all: boolean;
  readonly #hosts: { suffix: string; matchHost: boolean; port: string }[] = [];
  readonly #ips: { ip: string; port: string }[] = [];
  readonly #cidrs = new BlockList();
  #hasCidrs = false;

  constructor(env: NodeJS.ProcessEnv) {
    const get = (name: string) => env[name] || env[name.toLowerCase()] || undefined;
    const all = get('ALL_PROXY');
    this.#http = normalizeProxy(get('HTTP_PROXY') ?? all);
    this.#https = normalizeProxy(get('HTTPS_PROXY') ?? all);
    this.#all = false;
    for (const raw of (get('NO_PROXY') ?? '').split(',')) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      if (entry === '*') {
        this.#all = true;
        break;
      }
      const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
      if (cidr && isIP(cidr[1])) {
        this.#cidrs.addSubnet(cidr[1], Number(cidr[2]), isIP(cidr[1]) === 6 ? 'ipv6' : 'ipv4');
        this.#hasCidrs = true;
        continue;
      }
      const { host, port } = splitHostPort(entry);
      if (isIP(host)) {
        this.#ips.push({ ip: host, port });
        continue;
      }
      let suffix = host.startsWith('*.') ? host.slice(1) : host;
      let matchHost = false;
      if (!suffix.startsWith('.')) {
        matchHost = true;
        suffix = '.' + suffix;
      }
      this.#hosts.push({ suffix, matchHost, port });
    }
  }

  /** The proxy URL for `url`, or undefined to connect directly. */
  proxyFor(url: URL): string | undefined {
    const proxy = url.protocol === 'https:' ? this.#https : url.protocol === 'http:' ? this.#http : undefined;
    if (!proxy) return undefined;
    return this.useProxy(url) ? proxy : undefined;
  }

  /** Whether NO_PROXY and the loopback rule let `url` be proxied. */
  useProxy(url: URL): boolean {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    if (host === 'localhost' || isLoopbackIp(host)) return false;
    if (this.#all) return false;
    const ipv = isIP(host);
    if (ipv) {
      for (const e of this.#ips) if (e.ip === host && (e.port === '' || e.port === port)) return false;
      if (this.#hasCidrs && this.#cidrs.check(host, ipv === 6 ? 'ipv6' : 'ipv4')) return false;
      return true;
    }
    for (const e of this.#hosts) {
      if (host.endsWith(e.suffix) || (e.matchHost && host === e.suffix.slice(1))) {
        if (e.port === '' || e.port === port) return false;
      }
    }
    return true;
  }
}

/** Go takes a proxy without a scheme as http://. */
function normalizeProxy(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
}

function splitHostPort(entry: string): { host: string; port: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return { host: v6[1], port: v6[2] ?? '' };
  if (isIP(entry) === 6) return { host: entry, port: '' };
  const i = entry.lastIndexOf(':');
  if (i > 0 && /^\d+$/.test(entry.slice(i + 1))) return { host: entry.slice(0, i), port: entry.slice(i + 1) };
  return { host: entry, port: '' };
}

export function isLoopbackIp(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    const l = h.toLowerCase();
    return l === '::1' || l === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(l);
  }
  return false;
}
