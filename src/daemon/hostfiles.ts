import { readFile, writeFile } from 'node:fs/promises';
import { hostsContent, ownHostsRecords, resolvConfContent } from '../network/index.js';
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

async function resolvConfOf(hostNetwork: boolean, dns: HostFileOptions['dns']): Promise<string> {
  return resolvConfContent({ hostNetwork, hostResolvConf: await readHostFile('/etc/resolv.conf'), dns: dns.servers, dnsSearch: dns.search, dnsOptions: dns.options });
}

/** The /etc/hosts, /etc/hostname and /etc/resolv.conf a container gets, written the way Docker writes them. */
export async function writeHostFiles(paths: { hosts: string; hostname: string; resolvConf: string }, o: HostFileOptions): Promise<void> {
  const hostNetwork = o.hostNetwork;
  const [hostHosts, resolvConf] = await Promise.all([hostNetwork ? readHostFile('/etc/hosts') : '', resolvConfOf(hostNetwork, o.dns)]);
  const hosts = hostsContent({ hostname: o.hostname, domainname: o.domainname, hostNetwork, hostHosts, addresses: o.addresses, extraHosts: o.extraHosts });
  // Rewritten at every start, so a crash cannot lose them: no fsync.
  const quick = { durable: false };
  await Promise.all([
    writeFileAtomic(paths.hosts, hosts, 0o644, quick),
    writeFileAtomic(paths.hostname, `${o.hostname}\n`, 0o644, quick),
    writeFileAtomic(paths.resolvConf, resolvConf, 0o644, quick),
  ]);
}

/*
 * A running container's files change in place, as Docker changes them: it has each file itself
 * bind-mounted, so a new file renamed over one would not reach it.
 */

/** A running container's /etc/resolv.conf with new name servers. */
export async function rewriteResolvConf(path: string, dns: HostFileOptions['dns']): Promise<void> {
  await writeFile(path, await resolvConfOf(false, dns));
}

/**
 * A running container's /etc/hosts gains (a network joined) or loses (one left) the lines that
 * name it at its addresses there, as moby's etchosts.Add and Delete do; other lines stay as they are.
 */
export async function editOwnHostsRecords(path: string, change: 'add' | 'delete', o: { hostname: string; domainname?: string; addresses: readonly string[] }): Promise<void> {
  const records = ownHostsRecords(o.hostname, o.domainname, o.addresses);
  if (!records) return;
  const text = await readHostFile(path);
  if (change === 'add') {
    await writeFile(path, text + (text && !text.endsWith('\n') ? '\n' : '') + records);
    return;
  }
  const gone = new Set(records.split('\n').filter(Boolean));
  await writeFile(path, text.split('\n').filter((l) => !gone.has(l)).join('\n'));
}
