/**
 * The bridge datapath: Linux bridges, veth pairs and persistent network namespaces made with
 * `ip -batch` (one process for the host side, one inside the namespace), and firewall rules
 * written with `iptables-restore --noflush` (one process, one atomic transaction). An attach is
 * at most three processes, a detach two, run side by side where they do not depend on each
 * other; what can be done once per network (chains, masquerade, isolation) is done in
 * `ensureNetwork`, not on the container's start path.
 *
 * Everything made carries the driver's tag (a device alias, a rule comment, the chains' prefix),
 * so several drivers (a test's, a second daemon's) share a host without removing each other's
 * objects, and Docker's chains and devices are never touched.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, WharfError, errorMessage, isErrno, run, shortId, silentLogger, umount, type Logger } from '../util/index.js';
import type { BridgeNetwork, Endpoint, NetworkDriver, PortMapping } from './driver.js';
import { baseRules, chainsFor, endpointRules, networkComment, networkRules, parseComment, parseSave, restoreScript, ruleText, type Rule, type Saved, type Table } from './_firewall.js';
import { bridgeBatch, hostBatch, namespaceBatch, parseLinks, vethAlias, vethName } from './_links.js';
import { PortClaims, allocatedError, bindError, endpointLabel, probeHostPort } from './_ports.js';

export interface BridgeDriverOptions {
  /** Where the namespaces' files live (`<exec root>/netns`): one file per container, its ID. */
  netnsDir: string;
  /** Marks what this driver makes: lower-case letters and digits, at most 12; `wharf` by default. */
  tag?: string;
  logger?: Logger;
  /** The programs, when not the ones on PATH. */
  commands?: Partial<Record<'ip' | 'iptablesRestore' | 'iptablesSave' | 'unshare' | 'nsenter', string>>;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const ID_RE = /^[0-9a-f]{12,64}$/;

/**
 * The tag a daemon's driver uses for the bridge device it is given: `wharf` for the default
 * `wharf0`, else the device name in lower-case letters and digits, so two daemons with their
 * own bridges (tests, a second data root) never take each other's rules for their own.
 */
export function bridgeTag(bridge: string): string {
  if (bridge === 'wharf0') return 'wharf';
  const tag = bridge.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12);
  if (!/^[a-z]/.test(tag)) throw new InvalidArgumentError(`bridge name "${bridge}": it must start with a letter`);
  return tag;
}

export class BridgeDriver implements NetworkDriver {
  readonly #dir: string;
  readonly #tag: string;
  readonly #log: Logger;
  readonly #cmd: Record<'ip' | 'iptablesRestore' | 'iptablesSave' | 'unshare' | 'nsenter', string>;
  readonly #ports = new PortClaims();
  /** Each endpoint's rules as they are in the kernel, by the endpoint's marker. */
  readonly #rules = new Map<string, Rule[]>();
  /** Each network as last ensured, to make a repeated ensureNetwork free. */
  readonly #ensured = new Map<string, string>();
  /** Whether #rules is known to match the kernel (cleanup read it). */
  #synced = false;
  #forwarding = false;
  #dirMade = false;
  /** Changes that read the whole rule set first (networks, cleanup) run one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: BridgeDriverOptions) {
    this.#dir = opts.netnsDir;
    if (/\s/.test(this.#dir)) throw new InvalidArgumentError(`netns directory "${this.#dir}" must not contain white space`);
    this.#tag = opts.tag ?? 'wharf';
    if (!/^[a-z][a-z0-9]{0,11}$/.test(this.#tag)) throw new InvalidArgumentError(`driver tag "${this.#tag}": expected at most 12 lower-case letters and digits`);
    this.#log = opts.logger ?? silentLogger;
    this.#cmd = { ip: 'ip', iptablesRestore: 'iptables-restore', iptablesSave: 'iptables-save', unshare: 'unshare', nsenter: 'nsenter', ...opts.commands };
  }

  /** The chains this driver's rules live in (for tests and diagnostics). */
  get chains() {
    return chainsFor(this.#tag);
  }

  async ensureNetwork(n: BridgeNetwork): Promise<void> {
    checkNetwork(n);
    return this.#serial(async () => {
      const config = JSON.stringify(n);
      const exists = linkExists(n.bridge);
      if (exists && this.#ensured.get(n.id) === config) return;
      await this.#ip(bridgeBatch(this.#tag, n, exists, prefixOf(n.subnet)), `set up bridge ${n.bridge}`);
      // The host reaches published ports through 127.0.0.1 only if the kernel routes loopback
      // sources out of the bridge (they are masqueraded to the gateway on the way).
      await writeSysctl(`net/ipv4/conf/${n.bridge}/route_localnet`, n.internal ? '0' : '1');
      await this.#enableForwarding();
      const saved = await this.#save();
      const comment = networkComment(this.#tag, n.id);
      const base = this.#baseOps(saved);
      const have = saved.rules.filter((r) => r.comment === comment);
      const want = networkRules(this.#tag, n);
      const same = have.length === want.length && sameTexts(have, want);
      // Rewritten as a whole when anything differs: one transaction, never a moment without.
      const out = baseRules(this.#tag).out;
      const create = [...base.create, ...(base.create.some((c) => c.chain === this.chains.out) ? [] : [{ table: 'filter' as const, chain: this.chains.out }])];
      const script = restoreScript({ ...base, create, del: [...base.del, ...(same ? [] : have)], append: [...base.append, ...out, ...(same ? [] : want)] });
      await this.#restore(script, `set up the firewall of network ${n.bridge}`);
      this.#ensured.set(n.id, config);
    });
  }

  async removeNetwork(n: BridgeNetwork): Promise<void> {
    checkNetwork(n);
    return this.#serial(async () => {
      const saved = await this.#save();
      const id12 = shortId(n.id);
      const mine = saved.rules.filter((r) => parseComment(this.#tag, r.comment)?.net === id12);
      const script = restoreScript(this.#unlessUsed(saved, mine));
      if (script) await this.#restore(script, `remove the firewall of network ${n.bridge}`);
      if (linkExists(n.bridge)) await this.#ipTolerant(`link del dev ${n.bridge}\n`);
      this.#ensured.delete(n.id);
      for (const key of [...this.#rules.keys()]) if (parseComment(this.#tag, key)?.net === id12) this.#forget(key);
    });
  }

  async createNamespace(containerId: string): Promise<string> {
    checkId(containerId, 'container');
    const path = join(this.#dir, containerId);
    if (!this.#dirMade) {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      this.#dirMade = true;
    }
    if (await isMountPoint(path, this.#dir)) return path;
    // unshare bind-mounts the new namespace on the file, which must exist; it then brings up
    // loopback inside, so one process makes a usable namespace.
    await writeFile(path, '', { flag: 'a' });
    const r = await run(this.#cmd.unshare, [`--net=${path}`, this.#cmd.ip, 'link', 'set', 'lo', 'up']);
    if (r.code !== 0) {
      await this.removeNamespace(containerId).catch(() => {});
      throw new WharfError(`cannot create the network namespace of container ${shortId(containerId)}: ${r.stderr.trim() || `exit status ${r.code}`}`);
    }
    return path;
  }

  async removeNamespace(containerId: string): Promise<void> {
    checkId(containerId, 'container');
    const path = join(this.#dir, containerId);
    // A crash between two creations may have stacked mounts on the file: undo them all.
    for (let i = 0; i < 8; i++) {
      try {
        umount(path);
      } catch (err) {
        if (isErrno(err, 'EINVAL') || isErrno(err, 'ENOENT')) break;
        throw new WharfError(`cannot remove the network namespace of container ${shortId(containerId)}: ${errorMessage(err)}`, { cause: err });
      }
    }
    await rm(path, { force: true });
  }

  async attach(nsPath: string, ep: Endpoint): Promise<void> {
    checkEndpoint(ep);
    if (/\s/.test(nsPath)) throw new InvalidArgumentError(`namespace path "${nsPath}" must not contain white space`);
    const key = vethAlias(this.#tag, ep);
    const label = endpointLabel(ep.name ?? shortId(ep.containerId), ep.endpointId);
    const published = ep.network.internal ? [] : ep.ports;
    const clash = this.#ports.claim(key, published);
    if (clash) throw allocatedError(label, clash);
    const veth = vethName(ep.containerId, ep.network.id);
    let veths = false;
    let firewall: Promise<void> | undefined;
    try {
      const probes = await Promise.all(published.map(async (p) => [p, await probeHostPort(p)] as [PortMapping, string | undefined]));
      const taken = probes.find(([, code]) => code !== undefined);
      if (taken) throw bindError(label, taken[0], taken[1]!);
      const rules = endpointRules(this.#tag, ep);
      if (rules.length && !this.#rules.has(key)) {
        firewall = this.#restore(restoreScript({ append: rules }), `publish the ports of container ${shortId(ep.containerId)}`).then(() => {
          this.#rules.set(key, rules);
        });
      }
      veths = true;
      // A pair from an earlier attempt, or one the kernel has not yet destroyed with its old
      // namespace (a restart), goes first; the kernel may beat us to it, so this may fail.
      if (linkExists(veth)) await this.#ipTolerant(`link del dev ${veth}\n`);
      const what = `connect container ${shortId(ep.containerId)} to network ${ep.network.bridge}`;
      await this.#ip(hostBatch(this.#tag, ep, veth, nsPath), what);
      await this.#ip(namespaceBatch(ep), what, nsPath);
      await firewall;
    } catch (err) {
      await firewall?.catch(() => {});
      await this.#undoAttach(key, veths ? veth : undefined);
      throw err;
    }
  }

  /**
   * With the namespace already removed (nsPath undefined or its file gone) the veth is left to
   * the kernel, which destroys it with the namespace: deleting a veth costs ~20 ms, most of a
   * detach, so a stop that removes the namespace first saves it.
   */
  async detach(nsPath: string | undefined, ep: Endpoint): Promise<void> {
    checkEndpoint(ep);
    const key = vethAlias(this.#tag, ep);
    const veth = vethName(ep.containerId, ep.network.id);
    const steps: Promise<void>[] = [];
    if (nsPath !== undefined && existsSync(nsPath) && linkExists(veth)) steps.push(this.#ipTolerant(`link del dev ${veth}\n`));
    steps.push(this.#removeEndpointRules(key, !ep.network.internal && ep.ports.length > 0));
    await Promise.all(steps);
    this.#forget(key);
  }

  async cleanup(live: { networks: BridgeNetwork[]; endpoints: Endpoint[]; namespaces?: string[] }): Promise<void> {
    return this.#serial(async () => {
      const nets = new Set(live.networks.map((n) => shortId(n.id)));
      const eps = new Map(live.endpoints.map((ep) => [vethAlias(this.#tag, ep), ep]));
      const keep = new Set([...live.endpoints.map((ep) => ep.containerId), ...(live.namespaces ?? [])]);

      let files: string[] = [];
      try {
        files = await readdir(this.#dir);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      for (const f of files) if (ID_RE.test(f) && !keep.has(f)) await this.removeNamespace(f);

      const links = parseLinks((await this.#run(this.#cmd.ip, ['-j', '-d', 'link', 'show'], undefined, 'list network devices')).stdout);
      let dels = '';
      for (const l of links) {
        const owner = parseComment(this.#tag, l.alias);
        if (!owner?.net) continue;
        const explained = owner.ctr === undefined ? nets.has(owner.net) : eps.has(l.alias);
        if (!explained && (l.kind === 'bridge' || l.kind === 'veth')) dels += `link del dev ${l.name}\n`;
      }
      if (dels) await this.#ipTolerant(dels);

      const saved = await this.#save();
      const stale: Rule[] = [];
      const seen = new Set<string>();
      this.#rules.clear();
      for (const r of saved.rules) {
        const owner = parseComment(this.#tag, r.comment);
        if (!owner?.net) continue;
        const explained = owner.ctr === undefined ? nets.has(owner.net) : eps.has(r.comment) && nets.has(owner.net);
        const twice = seen.has(`${r.table} ${r.chain} ${r.spec}`);
        seen.add(`${r.table} ${r.chain} ${r.spec}`);
        if (!explained || twice) stale.push(r);
        else if (owner.ctr !== undefined) this.#rules.set(r.comment, [...(this.#rules.get(r.comment) ?? []), r]);
      }
      const script = restoreScript(live.networks.length ? { del: stale } : this.#unlessUsed(saved, stale));
      if (script) await this.#restore(script, 'remove stale firewall rules');

      this.#ports.clear();
      for (const [key, ep] of eps) if (!ep.network.internal) this.#ports.claim(key, ep.ports);
      this.#ensured.clear();
      this.#synced = true;
    });
  }

  /**
   * Chains, jumps and head rules that are missing, as restore operations; jumps into the
   * driver's chains that differ from today's (an older wharf's, matching more) are replaced.
   */
  #baseOps(saved: Saved): { create: { table: Table; chain: string }[]; del: Rule[]; insert: Rule[]; append: Rule[] } {
    const base = baseRules(this.#tag);
    const create = base.chains.filter((c) => !saved.chains.has(`${c.table}/${c.chain}`));
    const has = (r: Rule) => saved.rules.some((s) => s.table === r.table && s.chain === r.chain && s.comment === this.#tag && s.spec.endsWith(r.spec.slice(r.spec.lastIndexOf(' -j '))));
    const wanted = new Set(base.jumps.map(ruleText));
    const targets = new Set(base.chains.map((c) => c.chain));
    const jumps = saved.rules.filter((r) => r.comment === this.#tag && !targets.has(r.chain) && targets.has(r.spec.split(' -j ').pop() ?? ''));
    const present = new Set(jumps.map(ruleText));
    const insert = base.jumps.filter((j) => !present.has(ruleText(j)));
    const del = jumps.filter((j) => !wanted.has(ruleText(j)));
    const heads = base.heads.filter((h) => !has(h));
    // A head goes first: appended to a new (empty) chain, inserted into one that lost it.
    const fresh = (h: Rule) => create.some((c) => c.table === h.table && c.chain === h.chain);
    return { create, del, insert: [...insert, ...heads.filter((h) => !fresh(h))], append: heads.filter(fresh) };
  }

  /** When the rules being deleted are the last of any network's, the chains and jumps go too. */
  #unlessUsed(saved: Saved, deleting: Rule[]): { flush?: { table: Table; chain: string }[]; drop?: { table: Table; chain: string }[]; del: Rule[] } {
    const going = new Set(deleting);
    const others = saved.rules.some((r) => !going.has(r) && parseComment(this.#tag, r.comment)?.net !== undefined);
    if (others) return { del: deleting };
    const base = baseRules(this.#tag);
    const present = base.chains.filter((c) => saved.chains.has(`${c.table}/${c.chain}`));
    const targets = new Set(base.chains.map((c) => c.chain));
    const jumps = saved.rules.filter((r) => r.comment === this.#tag && !targets.has(r.chain) && targets.has(r.spec.split(' -j ').pop() ?? ''));
    if (!present.length && !jumps.length) return { del: deleting };
    return { del: [...deleting.filter((r) => !targets.has(r.chain)), ...jumps], flush: present, drop: present };
  }

  async #removeEndpointRules(key: string, mayHaveRules: boolean): Promise<void> {
    const known = this.#rules.get(key);
    if (known) {
      const r = await this.#run(this.#cmd.iptablesRestore, ['-w', '--noflush'], restoreScript({ del: known }));
      if (r.code === 0) return;
      this.#log.warn('endpoint rules differ from what was written; removing by comment', { endpoint: key, error: r.stderr.trim() });
    } else if (this.#synced || !mayHaveRules) {
      return;
    }
    const saved = await this.#save();
    const mine = saved.rules.filter((r) => r.comment === key);
    if (mine.length) await this.#restore(restoreScript({ del: mine }), `remove the published ports of ${key}`);
  }

  async #undoAttach(key: string, veth: string | undefined): Promise<void> {
    try {
      if (veth && linkExists(veth)) await this.#ipTolerant(`link del dev ${veth}\n`);
      await this.#removeEndpointRules(key, false);
    } catch (err) {
      this.#log.warn('undoing a failed attach', { endpoint: key, error: errorMessage(err) });
    } finally {
      this.#forget(key);
    }
  }

  #forget(key: string): void {
    this.#rules.delete(key);
    this.#ports.release(key);
  }

  async #enableForwarding(): Promise<void> {
    if (this.#forwarding) return;
    if ((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim() !== '1') await writeSysctl('net/ipv4/ip_forward', '1');
    this.#forwarding = true;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #save(): Promise<Saved> {
    return parseSave((await this.#run(this.#cmd.iptablesSave, [], undefined, 'read the firewall rules')).stdout);
  }

  async #restore(script: string, what: string): Promise<void> {
    await this.#run(this.#cmd.iptablesRestore, ['-w', '--noflush'], script, what);
  }

  /** One `ip -batch`, in the host's namespace or (nsPath) in a container's. */
  async #ip(batch: string, what: string, nsPath?: string): Promise<void> {
    if (nsPath === undefined) await this.#run(this.#cmd.ip, ['-batch', '-'], batch, what);
    else await this.#run(this.#cmd.nsenter, [`--net=${nsPath}`, this.#cmd.ip, '-batch', '-'], batch, what);
  }

  /** Deletions that may find their device already gone: every line runs, failures are logged. */
  async #ipTolerant(batch: string): Promise<void> {
    const r = await run(this.#cmd.ip, ['-force', '-batch', '-'], { input: batch });
    const real = r.stderr.split('\n').filter((l) => l.trim() && !/Cannot find device|does not exist|Command failed/.test(l));
    if (r.code !== 0 && real.length) this.#log.warn('ip: deleting devices', { batch: batch.trim(), error: real.join('; ') });
  }

  async #run(file: string, args: string[], input: string | undefined, what?: string) {
    const r = await run(file, args, input === undefined ? {} : { input }).catch((err: unknown) => {
      throw new WharfError(`cannot ${what ?? 'run a network command'}: ${file}: ${errorMessage(err)}`, { cause: err });
    });
    if (r.code !== 0 && what) throw new WharfError(`cannot ${what}: ${file}: ${r.stderr.trim() || r.stdout.trim() || `exit status ${r.code}`}`);
    return r;
  }
}

function sameTexts(a: Rule[], b: Rule[]): boolean {
  const set = new Set(a.map(ruleText));
  return b.every((r) => set.has(ruleText(r)));
}

function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

async function writeSysctl(key: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/${key}`, value);
}

/** A file with a mount on it lives on another device than its directory (nsfs). */
async function isMountPoint(path: string, dir: string): Promise<boolean> {
  try {
    const [f, d] = await Promise.all([stat(path), stat(dir)]);
    return f.dev !== d.dev;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

function prefixOf(subnet: string): number {
  return Number(subnet.split('/')[1]);
}

// What goes into an `ip -batch` line or an iptables rule is checked first: a newline or a space
// in a name would be another command.
function checkId(id: string, what: string): void {
  if (!ID_RE.test(id)) throw new InvalidArgumentError(`invalid ${what} ID "${id}"`);
}

function checkNetwork(n: BridgeNetwork): void {
  checkId(n.id, 'network');
  if (!NAME_RE.test(n.bridge)) throw new InvalidArgumentError(`invalid bridge name "${n.bridge}": at most 15 letters, digits, '_', '.' or '-'`);
  const [addr, len] = n.subnet.split('/');
  if (!IPV4_RE.test(addr ?? '') || !/^\d+$/.test(len ?? '') || Number(len) > 32) throw new InvalidArgumentError(`invalid subnet "${n.subnet}"`);
  if (!IPV4_RE.test(n.gateway)) throw new InvalidArgumentError(`invalid gateway "${n.gateway}"`);
  if (!Number.isInteger(n.mtu) || n.mtu < 0) throw new InvalidArgumentError(`invalid MTU ${n.mtu}`);
}

function checkEndpoint(ep: Endpoint): void {
  checkId(ep.containerId, 'container');
  checkNetwork(ep.network);
  if (!NAME_RE.test(ep.ifname)) throw new InvalidArgumentError(`invalid interface name "${ep.ifname}"`);
  if (!IPV4_RE.test(ep.ip) || !Number.isInteger(ep.prefixLen) || ep.prefixLen < 0 || ep.prefixLen > 32) throw new InvalidArgumentError(`invalid address "${ep.ip}/${ep.prefixLen}"`);
  if (ep.mac && !MAC_RE.test(ep.mac)) throw new InvalidArgumentError(`invalid MAC address "${ep.mac}"`);
  for (const p of ep.ports) {
    if (!['tcp', 'udp', 'sctp'].includes(p.protocol)) throw new InvalidArgumentError(`invalid protocol "${p.protocol}"`);
    if (p.hostIp !== '' && !IPV4_RE.test(p.hostIp)) throw new InvalidArgumentError(`host address "${p.hostIp}": only IPv4 addresses can be published to`);
    for (const port of [p.hostPort, p.containerPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`invalid port ${port}`);
    }
  }
}
