import { readFile } from 'node:fs/promises';
import { writeFileAtomic, isErrno } from '../util/index.js';

const DEFAULT_HOSTS = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

export interface HostFileOptions {
  hostname: string;
  domainname?: string;
  /** Whether the container shares the host's network namespace (then it gets the host's /etc/hosts). */
  hostNetwork: boolean;
  /** Lines beyond localhost and the container's own name (see `extraHostLines`). */
  extraHosts: string[];
  /** Name servers, search domains and options; each empty list keeps the host's. */
  dns: { servers: string[]; search: string[]; options: string[] };
  /** The container's own addresses, for its /etc/hosts entry. */
  addresses?: string[];
}

/** `--add-host name:ip` (or `name=ip`) entries as /etc/hosts lines. */
export function extraHostLines(entries: string[]): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    const idx = entry.lastIndexOf(':');
    const sep = entry.indexOf('=') > 0 ? entry.indexOf('=') : idx;
    if (sep > 0) out.push(`${entry.slice(sep + 1)}\t${entry.slice(0, sep)}`);
  }
  return out;
}

async function readHostFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return '';
    throw err;
  }
}

/** The /etc/hosts, /etc/hostname and /etc/resolv.conf a container gets, written the way Docker writes them. */
export async function writeHostFiles(paths: { hosts: string; hostname: string; resolvConf: string }, o: HostFileOptions): Promise<void> {
  const fqdn = o.domainname ? `${o.hostname}.${o.domainname}` : o.hostname;
  let hosts: string;
  if (o.hostNetwork) {
    hosts = await readHostFile('/etc/hosts');
  } else {
    hosts = DEFAULT_HOSTS;
    for (const addr of o.addresses ?? []) hosts += `${addr}\t${fqdn === o.hostname ? o.hostname : `${fqdn} ${o.hostname}`}\n`;
  }
  for (const line of o.extraHosts) hosts += `${line}\n`;
  // Rewritten at every start, so a crash cannot lose them: no fsync.
  const quick = { durable: false };
  await Promise.all([
    writeFileAtomic(paths.hosts, hosts, 0o644, quick),
    writeFileAtomic(paths.hostname, `${o.hostname}\n`, 0o644, quick),
    writeFileAtomic(paths.resolvConf, await resolvConf(o), 0o644, quick),
  ]);
}

async function resolvConf(o: HostFileOptions): Promise<string> {
  const host = await readHostFile('/etc/resolv.conf');
  const lines = host.split('\n');
  let nameservers = lines.filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
  let search = lines.filter((l) => /^\s*search\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  let options = lines.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  if (!o.hostNetwork) {
    // A loopback resolver on the host is unreachable from the container's own network namespace.
    nameservers = nameservers.filter((ns) => !ns.startsWith('127.') && ns !== '::1');
    if (nameservers.length === 0) nameservers = ['8.8.8.8', '8.8.4.4'];
  }
  if (o.dns.servers.length) nameservers = o.dns.servers;
  // `--dns-search .` means no search domains at all.
  if (o.dns.search.length) search = o.dns.search.filter((s) => s !== '.');
  if (o.dns.options.length) options = o.dns.options;
  let out = '';
  for (const ns of nameservers) out += `nameserver ${ns}\n`;
  if (search.length) out += `search ${search.join(' ')}\n`;
  if (options.length) out += `options ${options.join(' ')}\n`;
  return out;
}
