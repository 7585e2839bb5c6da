import { readFile } from 'node:fs/promises';
import { hostsContent, resolvConfContent } from '../network/index.js';
import { writeFileAtomic, isErrno } from '../util/index.js';

export interface HostFileOptions {
  hostname: string;
  domainname?: string;
  /** Whether the container shares the host's network namespace (then it gets the host's /etc/hosts). */
  hostNetwork: boolean;
  /** `name:address` entries beyond localhost and the container's own name (--add-host, links). */
  extraHosts: string[];
  /** Name servers, search domains and options; each empty list keeps the host's. */
  dns: { servers: string[]; search: string[]; options: string[] };
  /** The container's own addresses, for its /etc/hosts entry. */
  addresses?: string[];
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
  const hostNetwork = o.hostNetwork;
  const [hostHosts, hostResolvConf] = await Promise.all([hostNetwork ? readHostFile('/etc/hosts') : '', readHostFile('/etc/resolv.conf')]);
  const hosts = hostsContent({ hostname: o.hostname, domainname: o.domainname, hostNetwork, hostHosts, addresses: o.addresses, extraHosts: o.extraHosts });
  const resolvConf = resolvConfContent({ hostNetwork, hostResolvConf, dns: o.dns.servers, dnsSearch: o.dns.search, dnsOptions: o.dns.options });
  // Rewritten at every start, so a crash cannot lose them: no fsync.
  const quick = { durable: false };
  await Promise.all([
    writeFileAtomic(paths.hosts, hosts, 0o644, quick),
    writeFileAtomic(paths.hostname, `${o.hostname}\n`, 0o644, quick),
    writeFileAtomic(paths.resolvConf, resolvConf, 0o644, quick),
  ]);
}
