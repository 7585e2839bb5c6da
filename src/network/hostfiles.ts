/**
 * What goes into a container's /etc/hosts and /etc/resolv.conf, computed from the container's
 * settings and the host's own files (passed in as text, so these stay pure). The daemon reads
 * and writes the files.
 */

const DEFAULT_HOSTS = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

/** Google's public resolvers: Docker's fallback when the host has none the container can reach. */
const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

export interface HostsInput {
  hostname: string;
  domainname?: string;
  /** A container in the host's network namespace sees the host's own /etc/hosts. */
  hostNetwork: boolean;
  /** The host's /etc/hosts ('' when it has none); read only with `hostNetwork`. */
  hostHosts: string;
  /** The container's own addresses, each given a line with its names. */
  addresses?: string[];
  /** `name:address` entries (`--add-host`, HostConfig.ExtraHosts, links), before the container's own. */
  extraHosts?: string[];
}

export function hostsContent(o: HostsInput): string {
  const extra: string[] = [];
  for (const entry of o.extraHosts ?? []) {
    // The API's form is `name:address`; an IPv6 address has colons of its own, so the first one separates.
    const sep = entry.indexOf(':');
    if (sep > 0 && sep < entry.length - 1) extra.push(`${entry.slice(sep + 1)}\t${entry.slice(0, sep)}\n`);
  }
  // Docker copies the host's file only when there is nothing to add, so an entry can override a host name.
  if (o.hostNetwork && extra.length === 0) return o.hostHosts;
  const hosts = DEFAULT_HOSTS + extra.join('');
  if (o.hostNetwork) return hosts;
  return hosts + ownHostsRecords(o.hostname, o.domainname, o.addresses ?? []);
}

/** The lines of /etc/hosts that give the container's addresses its names (the full name, and the bare one when it has dots, as moby's makeHostsRecs writes them). */
export function ownHostsRecords(hostname: string, domainname: string | undefined, addresses: readonly string[]): string {
  let names = domainname ? `${hostname}.${domainname}` : hostname;
  const dot = names.indexOf('.');
  if (dot > 0) names += ` ${names.slice(0, dot)}`;
  return addresses.map((addr) => `${addr}\t${names}\n`).join('');
}

export interface ResolvConfInput {
  hostNetwork: boolean;
  /** The host's /etc/resolv.conf ('' when it has none). */
  hostResolvConf: string;
  /** Each replaces the host's value when not empty (`--dns`, `--dns-search`, `--dns-option`). */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}

export function resolvConfContent(o: ResolvConfInput): string {
  const lines = o.hostResolvConf.split('\n');
  let nameservers = lines.filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
  let search = lines.filter((l) => /^\s*search\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  let options = lines.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  if (!o.hostNetwork) {
    // A loopback resolver on the host is unreachable from the container's own network namespace.
    nameservers = nameservers.filter((ns) => !ns.startsWith('127.') && ns !== '::1');
    if (nameservers.length === 0) nameservers = FALLBACK_NAMESERVERS;
  }
  if (o.dns?.length) nameservers = o.dns;
  // `--dns-search .` means "no search domain", as in Docker.
  if (o.dnsSearch?.length) search = o.dnsSearch.filter((s) => s !== '.');
  if (o.dnsOptions?.length) options = o.dnsOptions;
  let out = '';
  for (const ns of nameservers) out += `nameserver ${ns}\n`;
  if (search.length) out += `search ${search.join(' ')}\n`;
  if (options.length) out += `options ${options.join(' ')}\n`;
  return out;
}
