/**
 * The bridge driver's iptables rules, as text for `iptables-restore --noflush`, and the parser of
 * `iptables-save` that cleanup and network changes read. Pure: no process is run here.
 *
 * Layout (P is the driver's tag in capitals, WHARF by default). Every rule a network or an
 * endpoint owns carries a comment `<tag>:net=<id12>` or `<tag>:net=<id12>:ctr=<id12>`, so that
 * removal finds exactly its own rules and leaves Docker's (and other tags') alone.
 *
 *   filter FORWARD     -> P-FORWARD (first rule)
 *   filter P-FORWARD   1. -j P-ISOLATION, then per network: replies and published ports in,
 *                      traffic inside the bridge (icc), out of the bridge to P-OUT (unless
 *                      internal), and a final drop of anything else into the bridge
 *   filter P-OUT       what leaves a wharf bridge: accepted, except into Docker's bridges
 *                      (docker0, br-*), where Docker's own rules decide, as for any outsider
 *   filter P-ISOLATION per network: internal networks drop all that crosses their bridge;
 *                      others hand what leaves their bridge to P-ISOLATION-2
 *   filter P-ISOLATION-2  1. replies and published ports return (they may cross networks),
 *                      then per network: drop into its bridge
 *   nat PREROUTING, OUTPUT (to a local address) -> P-DNAT: per endpoint, its published ports
 *   nat POSTROUTING    -> P-POSTROUTING: per network, masquerade out, masquerade 127.0.0.0/8
 *                      (the host reaching a port through 127.0.0.1, with route_localnet on the
 *                      bridge) and hairpin (a container reaching a port through a gateway)
 *   filter INPUT       -> P-INPUT: per network, DNS to its gateway only from its own bridge (and
 *                      the host's lo); internal networks also refuse the name server's
 *                      forwarding address (see NO_FORWARD_DNS in dns.ts)
 *   raw PREROUTING     -> P-PREROUTING: per network, drop 127.0.0.0/8 arriving on the bridge
 *                      (route_localnet must not open the host's loopback services to
 *                      containers); per endpoint, drop a port published on a loopback address
 *                      arriving on any interface but lo (moby#45610)
 *
 * Specs are written in the order iptables-save prints them (addresses, interfaces, protocol,
 * matches, target), so that the kernel's rules can be compared with the wanted ones as text.
 *
 * Isolation is decided before any accept, so the order in which networks were added does not
 * matter; each network's rules name only its own bridge.
 *
 * IPv6 (rules with `v6`, for ip6tables): the same filter chains and rules, so isolation, icc and
 * internal mean the same for both families; in nat, masquerade of the IPv6 subnet and DNAT of
 * published ports to the container's IPv6 address. There is no name server on IPv6 (containers
 * ask the IPv4 gateway) and no route_localnet, so no INPUT or raw rules.
 */
import type { BridgeNetwork, Endpoint, PortMapping } from './driver.js';
import { NO_FORWARD_DNS } from './dns.js';

export type Table = 'filter' | 'nat' | 'raw';

export interface Rule {
  table: Table;
  chain: string;
  /** Everything after `-A <chain> `, as iptables-restore takes it. */
  spec: string;
  /** An ip6tables rule. */
  v6?: boolean;
}

export interface ChainRef {
  table: Table;
  chain: string;
  v6?: boolean;
}

/** The same rules for ip6tables. */
const inV6 = <T extends Rule | ChainRef>(list: T[]): T[] => list.map((r) => ({ ...r, v6: true }));

export interface Chains {
  forward: string;
  isolation: string;
  isolation2: string;
  out: string;
  dnat: string;
  postrouting: string;
  rawPrerouting: string;
  input: string;
}

export function chainsFor(tag: string): Chains {
  const p = tag.toUpperCase();
  return {
    forward: `${p}-FORWARD`,
    isolation: `${p}-ISOLATION`,
    isolation2: `${p}-ISOLATION-2`,
    out: `${p}-OUT`,
    dnat: `${p}-DNAT`,
    postrouting: `${p}-POSTROUTING`,
    rawPrerouting: `${p}-PREROUTING`,
    input: `${p}-INPUT`,
  };
}

const short = (id: string) => id.slice(0, 12);

export function networkComment(tag: string, networkId: string): string {
  return `${tag}:net=${short(networkId)}`;
}

export function endpointComment(tag: string, networkId: string, containerId: string): string {
  return `${tag}:net=${short(networkId)}:ctr=${short(containerId)}`;
}

/** What a rule's comment says it belongs to; undefined for rules of another tag or none. */
export function parseComment(tag: string, comment: string): { net?: string; ctr?: string } | undefined {
  if (comment === tag) return {};
  const m = /^([a-z0-9]+):net=([0-9a-f]+)(?::ctr=([0-9a-f]+))?$/.exec(comment);
  if (!m || m[1] !== tag) return undefined;
  return m[3] === undefined ? { net: m[2] } : { net: m[2], ctr: m[3] };
}

interface Base {
  chains: ChainRef[];
  jumps: Rule[];
  heads: Rule[];
  out: Rule[];
}

/**
 * The chains and the jumps into them from the built-in chains; `comment` marks the jumps. With
 * `v6`, the ip6tables set follows the IPv4 one: the chains a network with IPv6 needs.
 */
export function baseRules(tag: string, v6 = false): Base {
  const v4 = baseRules4(tag);
  if (!v6) return v4;
  const c = chainsFor(tag);
  const notV4Only = (r: ChainRef) => r.table !== 'raw' && r.chain !== c.input && r.chain !== 'INPUT';
  return {
    chains: [...v4.chains, ...inV6(v4.chains.filter(notV4Only))],
    jumps: [...v4.jumps, ...inV6(v4.jumps.filter(notV4Only))],
    heads: [...v4.heads, ...inV6(v4.heads)],
    out: [...v4.out, ...inV6(v4.out)],
  };
}

function baseRules4(tag: string): Base {
  const c = chainsFor(tag);
  const m = `-m comment --comment ${tag}`;
  return {
    chains: [
      { table: 'filter', chain: c.forward },
      { table: 'filter', chain: c.isolation },
      { table: 'filter', chain: c.isolation2 },
      { table: 'filter', chain: c.out },
      { table: 'nat', chain: c.dnat },
      { table: 'nat', chain: c.postrouting },
      { table: 'raw', chain: c.rawPrerouting },
      { table: 'filter', chain: c.input },
    ],
    // Inserted at the top of the built-in chains: dockerd's FORWARD policy DROP and its own
    // chains must not get to judge wharf's traffic first. The raw and INPUT chains see every
    // packet that reaches the host (bridged frames twice when br_netfilter is loaded), so their
    // jumps match only what the rules behind them can match (a loopback destination, DNS):
    // the bulk of the traffic, a published port's or a container's own, tests one rule here
    // instead of one per network and per port published on a loopback address.
    jumps: [
      { table: 'filter', chain: 'FORWARD', spec: `${m} -j ${c.forward}` },
      { table: 'nat', chain: 'PREROUTING', spec: `-m addrtype --dst-type LOCAL ${m} -j ${c.dnat}` },
      { table: 'nat', chain: 'OUTPUT', spec: `-m addrtype --dst-type LOCAL ${m} -j ${c.dnat}` },
      { table: 'nat', chain: 'POSTROUTING', spec: `${m} -j ${c.postrouting}` },
      { table: 'raw', chain: 'PREROUTING', spec: `-d 127.0.0.0/8 ${m} -j ${c.rawPrerouting}` },
      { table: 'filter', chain: 'INPUT', spec: `-p udp -m udp --dport 53 ${m} -j ${c.input}` },
      { table: 'filter', chain: 'INPUT', spec: `-p tcp -m tcp --dport 53 ${m} -j ${c.input}` },
    ],
    // The first rules of the driver's own chains, before any network's.
    heads: [
      { table: 'filter', chain: c.forward, spec: `${m} -j ${c.isolation}` },
      { table: 'filter', chain: c.isolation2, spec: `-m conntrack --ctstate RELATED,ESTABLISHED,DNAT ${m} -j RETURN` },
    ],
    // The whole of P-OUT, rewritten (declared, so flushed) with every network change. A wharf
    // bridge may be named br-* too: what returns from here into such a bridge is then accepted
    // by that network's own rules (replies and published ports) or was dropped by isolation.
    out: [
      { table: 'filter', chain: c.out, spec: `-o docker0 ${m} -j RETURN` },
      { table: 'filter', chain: c.out, spec: `-o br-+ ${m} -j RETURN` },
      { table: 'filter', chain: c.out, spec: `${m} -j ACCEPT` },
    ],
  };
}

export function networkRules(tag: string, n: BridgeNetwork): Rule[] {
  const c = chainsFor(tag);
  const br = n.bridge;
  const m = `-m comment --comment ${networkComment(tag, n.id)}`;
  const rules: Rule[] = [];
  const filter = (chain: string, spec: string) => rules.push({ table: 'filter', chain, spec });
  // The forwarding rules hold for both families: they name interfaces and connection states only.
  const forwarding: Rule[] = [];
  const both = (chain: string, spec: string) => forwarding.push({ table: 'filter', chain, spec });
  if (n.internal) {
    both(c.isolation, `-i ${br} ! -o ${br} ${m} -j DROP`);
    both(c.isolation, `-o ${br} ! -i ${br} ${m} -j DROP`);
  } else {
    both(c.isolation, `-i ${br} ! -o ${br} ${m} -j ${c.isolation2}`);
  }
  both(c.isolation2, `-o ${br} ${m} -j DROP`);
  both(c.forward, `-o ${br} -m conntrack --ctstate RELATED,ESTABLISHED ${m} -j ACCEPT`);
  if (!n.internal) both(c.forward, `-o ${br} -m conntrack --ctstate DNAT ${m} -j ACCEPT`);
  both(c.forward, `-i ${br} -o ${br} ${m} -j ${n.icc ? 'ACCEPT' : 'DROP'}`);
  if (!n.internal) both(c.forward, `-i ${br} ! -o ${br} ${m} -j ${c.out}`);
  both(c.forward, `-o ${br} ${m} -j DROP`);
  rules.push(...forwarding);
  if (n.ipv6) rules.push(...inV6(forwarding));
  // The name server listens on every network's gateway and the host takes a packet for any of
  // its addresses on any interface: without the reject, a container could ask another network's
  // gateway and learn that network's names. A reject, not a drop, so a wrong server fails at
  // once instead of after the resolver's timeout. The accepts are for hosts whose INPUT policy
  // is DROP (and keep the host's own queries, on lo, working).
  for (const p of ['udp', 'tcp']) {
    const dns = `-p ${p} -m ${p} --dport 53 ${m}`;
    filter(c.input, `-d ${n.gateway}/32 -i ${br} ${dns} -j ACCEPT`);
    filter(c.input, `-d ${n.gateway}/32 -i lo ${dns} -j ACCEPT`);
    filter(c.input, `-d ${n.gateway}/32 ${dns} -j REJECT --reject-with icmp-port-unreachable`);
    // What the name server forwards for containers that are only on internal networks goes
    // here, on the host's loopback; refused, so no local resolver answers it either.
    if (n.internal) filter(c.input, `-d ${NO_FORWARD_DNS}/32 -i lo ${dns} -j REJECT --reject-with icmp-port-unreachable`);
  }
  if (!n.internal) {
    const nat = (spec: string) => rules.push({ table: 'nat', chain: c.postrouting, spec });
    if (n.masquerade) nat(`-s ${n.subnet} ! -o ${br} ${m} -j MASQUERADE`);
    nat(`-s 127.0.0.0/8 -o ${br} ${m} -j MASQUERADE`);
    nat(`-s ${n.subnet} -o ${br} -m conntrack --ctstate DNAT ${m} -j MASQUERADE`);
    rules.push({ table: 'raw', chain: c.rawPrerouting, spec: `-d 127.0.0.0/8 -i ${br} ${m} -j DROP` });
    if (n.ipv6) {
      const nat6 = (spec: string) => rules.push({ table: 'nat', chain: c.postrouting, spec, v6: true });
      if (n.masquerade) nat6(`-s ${n.ipv6.subnet} ! -o ${br} ${m} -j MASQUERADE`);
      nat6(`-s ${n.ipv6.subnet} -o ${br} -m conntrack --ctstate DNAT ${m} -j MASQUERADE`);
    }
  }
  return rules;
}

export const isLoopback = (ip: string) => ip.startsWith('127.');

/** Published ports: none on an internal network, as in Docker (it has no way in or out). */
export function endpointRules(tag: string, ep: Endpoint): Rule[] {
  if (ep.network.internal) return [];
  const c = chainsFor(tag);
  const m = `-m comment --comment ${endpointComment(tag, ep.network.id, ep.containerId)}`;
  const rules: Rule[] = [];
  for (const p of ep.ports) {
    const hostIp = normalHostIp(p);
    const match = `-p ${p.protocol} -m ${p.protocol} --dport ${p.hostPort}`;
    // '' is every address of both families when the container has both; 0.0.0.0 every IPv4
    // one and `::` every IPv6 one, as in Docker; any other address, its own family.
    if (!hostIp.includes(':')) {
      const dst = hostIp ? `-d ${hostIp}/32 ` : '';
      rules.push({ table: 'nat', chain: c.dnat, spec: `${dst}${match} ${m} -j DNAT --to-destination ${ep.ip}:${p.containerPort}` });
      if (isLoopback(hostIp)) {
        rules.push({ table: 'raw', chain: c.rawPrerouting, spec: `-d ${hostIp}/32 ! -i lo ${match} ${m} -j DROP` });
      }
    }
    if (ep.ip6 && (p.hostIp === '' || hostIp.includes(':'))) {
      const dst = hostIp && hostIp !== '::' ? `-d ${hostIp}/128 ` : '';
      rules.push({ table: 'nat', chain: c.dnat, spec: `${dst}${match} ${m} -j DNAT --to-destination [${ep.ip6.ip}]:${p.containerPort}`, v6: true });
    }
  }
  return rules;
}

/** '' and 0.0.0.0 both mean every address ('' of both families; `::` is every IPv6 one, as in Docker). */
export function normalHostIp(p: PortMapping): string {
  return p.hostIp === '0.0.0.0' ? '' : p.hostIp;
}

export interface RestoreOps {
  create?: ChainRef[];
  del?: Rule[];
  insert?: Rule[];
  append?: Rule[];
  flush?: ChainRef[];
  drop?: ChainRef[];
}

/**
 * A script for `iptables-restore --noflush` (`v6`: for ip6tables-restore, from the operations
 * on IPv6 rules and chains only): declare chains (new ones only: declaring flushes), then
 * delete, then append/insert.
 */
export function restoreScript(ops: RestoreOps, v6 = false): string {
  const mine = <T extends ChainRef>(list: T[] | undefined, table: Table): T[] => (list ?? []).filter((r) => r.table === table && (r.v6 ?? false) === v6);
  let out = '';
  for (const table of ['raw', 'nat', 'filter'] as const) {
    const lines: string[] = [];
    for (const c of mine(ops.create, table)) lines.push(`:${c.chain} - [0:0]`);
    for (const r of mine(ops.del, table)) lines.push(`-D ${r.chain} ${r.spec}`);
    for (const c of mine(ops.flush, table)) lines.push(`-F ${c.chain}`);
    for (const c of mine(ops.drop, table)) lines.push(`-X ${c.chain}`);
    // Inserted in reverse so that several go to the top in the order given.
    for (const r of mine(ops.insert, table).reverse()) lines.push(`-I ${r.chain} 1 ${r.spec}`);
    for (const r of mine(ops.append, table)) lines.push(`-A ${r.chain} ${r.spec}`);
    if (lines.length) out += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  }
  return out;
}

export interface SavedRule extends Rule {
  /** The rule's comment, unquoted; '' when it has none. */
  comment: string;
}

export interface Saved {
  /** chainKey() of every chain. */
  chains: Set<string>;
  rules: SavedRule[];
}

export function chainKey(c: ChainRef): string {
  return `${c.v6 ? '6:' : ''}${c.table}/${c.chain}`;
}

/** A rule as text to compare a saved rule with a wanted one: quotes do not count. */
export function ruleText(r: Rule): string {
  return `${r.v6 ? '6 ' : ''}${r.table} ${r.chain} ${r.spec.replace(/"/g, '')}`;
}

/** Reads `iptables-save` output (`v6`: ip6tables-save's): every chain and rule of the tables given. */
export function parseSave(text: string, v6 = false): Saved {
  const saved: Saved = { chains: new Set(), rules: [] };
  let table: Table | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      const t = line.slice(1).trim();
      table = t === 'filter' || t === 'nat' || t === 'raw' ? t : undefined;
    } else if (!table) {
      continue;
    } else if (line.startsWith(':')) {
      saved.chains.add(chainKey({ table, chain: line.slice(1).split(' ')[0], v6 }));
    } else if (line.startsWith('-A ')) {
      const rest = line.slice(3);
      const sp = rest.indexOf(' ');
      const chain = sp < 0 ? rest : rest.slice(0, sp);
      const spec = sp < 0 ? '' : rest.slice(sp + 1);
      const cm = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(spec);
      saved.rules.push({ table, chain, spec, comment: cm ? (cm[1] ?? cm[2]) : '', ...(v6 ? { v6 } : {}) });
    }
  }
  return saved;
}
