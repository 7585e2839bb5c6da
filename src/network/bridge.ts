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
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, WharfError, errorMessage, isErrno, makeOwnedNetns, releaseNamespaceFile, run, shortId, silentLogger, umount, type Logger } from '../util/index.js';
import { USERNS_SUFFIX, userNamespaceFile, type BridgeNetwork, type Endpoint, type NetnsOwner, type NetworkDriver, type PortMapping } from './driver.js';
import { baseRules, chainKey, chainsFor, endpointRules, networkComment, networkRules, parseComment, parseSave, restoreScript, ruleText, type ChainRef, type RestoreOps, type Rule, type Saved } from './_firewall.js';
import { bridgeBatch, hostBatch, namespaceBatch, parseLinks, vethAlias, vethName } from './_links.js';
import { PortClaims, allocatedError, bindError, endpointLabel, probeHostPort } from './_ports.js';
import { isIp6, tryParseIp6 } from './ipam6.js';

export interface BridgeDriverOptions {
  /** Where the namespaces' files live (`<exec root>/netns`): one file per container, its ID. */
  netnsDir: string;
  /** Marks what this driver makes: lower-case letters and digits, at most 12; `wharf` by default. */
  tag?: string;
  logger?: Logger;
  /** The programs, when not the ones on PATH. */
  commands?: Partial<Record<Command, string>>;
}

type Command = 'ip' | 'iptablesRestore' | 'iptablesSave' | 'ip6tablesRestore' | 'ip6tablesSave' | 'unshare' | 'nsenter';

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const ID_RE = /^[0-9a-f]{12,64}$/;

/**
 * The tag a daemon's driver uses for the bridge device it is given: `wharf` for the default
 * `wharf0`, else the device name in lower-case letters and digits, so two daemons with their
 * own bridges (tests, a second data root) never take each other's rules for their own. With no
 * default bridge (`none`) there is no device to tell daemons apart by: the data root does, and
 * stays the same across restarts (two such daemons shared the tag `none`, and each one's cleanup
 * took the other's user networks' rules).
 */
export function bridgeTag(bridge: string, dataRoot: string): string {
  if (bridge === 'wharf0') return 'wharf';
  if (bridge === 'none') return `none${createHash('sha256').update(resolve(dataRoot)).digest('hex').slice(0, 8)}`;
  const tag = bridge.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12);
  if (!/^[a-z]/.test(tag)) throw new InvalidArgumentError(`bridge name "${bridge}": it must start with a letter`);
  return tag;
}

export class BridgeDriver implements NetworkDriver {
  readonly #dir: string;
  readonly #tag: string;
  readonly #log: Logger;
  readonly #cmd: Record<Command, string>;
  readonly #ports = new PortClaims();
  /** Each endpoint's rules as they are in the kernel, by the endpoint's marker. */
  readonly #rules = new Map<string, Rule[]>();
  /** Each network as last ensured, to make a repeated ensureNetwork free. */
  readonly #ensured = new Map<string, string>();
  /** Whether #rules is known to match the kernel (cleanup read it). */
  #synced = false;
  #forwarding = false;
  #forwarding6 = false;
  #dirMade = false;
  /** Changes that read the whole rule set first (networks, cleanup) run one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: BridgeDriverOptions) {
    this.#dir = opts.netnsDir;
    if (/\s/.test(this.#dir)) throw new InvalidArgumentError(`netns directory "${this.#dir}" must not contain white space`);
    this.#tag = opts.tag ?? 'wharf';
    if (!/^[a-z][a-z0-9]{0,11}$/.test(this.#tag)) throw new InvalidArgumentError(`driver tag "${this.#tag}": expected at most 12 lower-case letters and digits`);
    this.#log = opts.logger ?? silentLogger;
    this.#cmd = {
      ip: 'ip',
      iptablesRestore: 'iptables-restore',
      iptablesSave: 'iptables-save',
      ip6tablesRestore: 'ip6tables-restore',
      ip6tablesSave: 'ip6tables-save',
      unshare: 'unshare',
      nsenter: 'nsenter',
      ...opts.commands,
    };
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
      await this.#ip(bridgeBatch(this.#tag, n, exists), `set up bridge ${n.bridge}`);
      // The host reaches published ports through 127.0.0.1 only if the kernel routes loopback
      // sources out of the bridge (they are masqueraded to the gateway on the way).
      await writeSysctl(`net/ipv4/conf/${n.bridge}/route_localnet`, n.internal ? '0' : '1');
      await this.#enableForwarding(n.ipv6 !== undefined);
      const saved = await this.#save();
      const comment = networkComment(this.#tag, n.id);
      // Once a network with IPv6 made the driver's ip6tables chains, every network keeps them current.
      const v6 = n.ipv6 !== undefined || saved.chains.has(chainKey({ table: 'filter', chain: this.chains.forward, v6: true }));
      const base = this.#baseOps(saved, v6);
      const have = saved.rules.filter((r) => r.comment === comment);
      const want = networkRules(this.#tag, n);
      const same = have.length === want.length && sameTexts(have, want);
      // Rewritten as a whole when anything differs: one transaction, never a moment without.
      // P-OUT is declared, so flushed, and written again.
      const out = baseRules(this.#tag, v6).out;
      const outChains = [{ table: 'filter' as const, chain: this.chains.out }, ...(v6 ? [{ table: 'filter' as const, chain: this.chains.out, v6: true }] : [])];
      const create = [...base.create, ...outChains.filter((o) => !base.create.some((c) => chainKey(c) === chainKey(o)))];
      await this.#restore({ ...base, create, del: [...base.del, ...(same ? [] : have)], append: [...base.append, ...out, ...(same ? [] : want)] }, `set up the firewall of network ${n.bridge}`);
      this.#ensured.set(n.id, config);
    });
  }

  async removeNetwork(n: BridgeNetwork): Promise<void> {
    checkNetwork(n);
    return this.#serial(async () => {
      const saved = await this.#save();
      const id12 = shortId(n.id);
      const mine = saved.rules.filter((r) => parseComment(this.#tag, r.comment)?.net === id12);
      await this.#restore(this.#unlessUsed(saved, mine), `remove the firewall of network ${n.bridge}`);
      if (linkExists(n.bridge)) await this.#ipTolerant(`link del dev ${n.bridge}\n`);
      this.#ensured.delete(n.id);
      for (const key of [...this.#rules.keys()]) if (parseComment(this.#tag, key)?.net === id12) this.#forget(key);
    });
  }

  async createNamespace(containerId: string, owner?: NetnsOwner): Promise<string> {
    checkId(containerId, 'container');
    const path = join(this.#dir, containerId);
    if (!this.#dirMade) {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      this.#dirMade = true;
    }
    if (await isMountPoint(path, this.#dir)) return path;
    if (owner) {
      try {
        await makeOwnedNetns(path, 'idmap' in owner ? { idmap: owner.idmap, file: userNamespaceFile(path) } : owner);
        // From the host: its root may configure a namespace that a child user namespace owns.
        await this.#ip('link set lo up\n', 'bring up loopback', path);
      } catch (err) {
        await this.removeNamespace(containerId).catch(() => {});
        throw new WharfError(`cannot create the network namespace of container ${shortId(containerId)}: ${errorMessage(err)}`, { cause: err });
      }
      return path;
    }
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
    // Only a remapped container's namespace has one: a stat, not an unmount and a removal, for the others' stops.
    const user = userNamespaceFile(path);
    if (existsSync(user)) {
      releaseNamespaceFile(user);
      await rm(user, { force: true });
    }
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
        firewall = this.#restore({ append: rules }, `publish the ports of container ${shortId(ep.containerId)}`).then(() => {
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

  async hostPortFree(p: PortMapping): Promise<boolean> {
    return (await probeHostPort(p)) === undefined;
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
      for (const f of files) {
        const id = f.endsWith(USERNS_SUFFIX) ? f.slice(0, -USERNS_SUFFIX.length) : f;
        if (ID_RE.test(id) && !keep.has(id)) await this.removeNamespace(id);
      }

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
        const twice = seen.has(ruleText(r));
        seen.add(ruleText(r));
        if (!explained || twice) stale.push(r);
        else if (owner.ctr !== undefined) this.#rules.set(r.comment, [...(this.#rules.get(r.comment) ?? []), r]);
      }
      await this.#restore(live.networks.length ? { del: stale } : this.#unlessUsed(saved, stale), 'remove stale firewall rules');

      this.#ports.clear();
      for (const [key, ep] of eps) if (!ep.network.internal) this.#ports.claim(key, ep.ports);
      this.#ensured.clear();
      this.#synced = true;
    });
  }

  /**
   * Chains, jumps and head rules that are missing, as restore operations; jumps into the
   * driver's chains that differ from today's (an older wharf's, matching more) are replaced.
   * `v6`: ip6tables' too.
   */
  #baseOps(saved: Saved, v6: boolean): { create: ChainRef[]; del: Rule[]; insert: Rule[]; append: Rule[] } {
    const base = baseRules(this.#tag, v6);
    const create = base.chains.filter((c) => !saved.chains.has(chainKey(c)));
    const has = (r: Rule) => saved.rules.some((s) => s.table === r.table && s.chain === r.chain && (s.v6 ?? false) === (r.v6 ?? false) && s.comment === this.#tag && s.spec.endsWith(r.spec.slice(r.spec.lastIndexOf(' -j '))));
    const wanted = new Set(base.jumps.map(ruleText));
    const jumps = this.#jumps(saved).filter((j) => v6 || !j.v6);
    const present = new Set(jumps.map(ruleText));
    const insert = base.jumps.filter((j) => !present.has(ruleText(j)));
    const del = jumps.filter((j) => !wanted.has(ruleText(j)));
    const heads = base.heads.filter((h) => !has(h));
    // A head goes first: appended to a new (empty) chain, inserted into one that lost it.
    const fresh = (h: Rule) => create.some((c) => chainKey(c) === chainKey(h));
    return { create, del, insert: [...insert, ...heads.filter((h) => !fresh(h))], append: heads.filter(fresh) };
  }

  /** The jumps from the built-in chains into the driver's, as saved (both families). */
  #jumps(saved: Saved): Rule[] {
    const targets = new Set(baseRules(this.#tag).chains.map((c) => c.chain));
    return saved.rules.filter((r) => r.comment === this.#tag && !targets.has(r.chain) && targets.has(r.spec.split(' -j ').pop() ?? ''));
  }

  /**
   * When the rules being deleted are the last of any network's in a family, that family's
   * chains and jumps go too: IPv6's with the last network that has IPv6.
   */
  #unlessUsed(saved: Saved, deleting: Rule[]): RestoreOps {
    const going = new Set(deleting);
    const ops: Required<Pick<RestoreOps, 'del' | 'flush' | 'drop'>> = { del: deleting, flush: [], drop: [] };
    for (const v6 of [false, true]) {
      const ofFamily = (r: ChainRef) => (r.v6 ?? false) === v6;
      const others = saved.rules.some((r) => ofFamily(r) && !going.has(r) && parseComment(this.#tag, r.comment)?.net !== undefined);
      if (others) continue;
      const present = baseRules(this.#tag, true).chains.filter((c) => ofFamily(c) && saved.chains.has(chainKey(c)));
      const jumps = this.#jumps(saved).filter(ofFamily);
      if (!present.length && !jumps.length) continue;
      // Rules inside chains that are flushed need no deleting of their own.
      const targets = new Set(present.map((c) => c.chain));
      ops.del = [...ops.del.filter((r) => !ofFamily(r) || !targets.has(r.chain)), ...jumps];
      ops.flush.push(...present);
      ops.drop.push(...present);
    }
    return ops;
  }

  async #removeEndpointRules(key: string, mayHaveRules: boolean): Promise<void> {
    const known = this.#rules.get(key);
    if (known) {
      const r = await this.#tryRestore({ del: known });
      if (r.code === 0) return;
      this.#log.warn('endpoint rules differ from what was written; removing by comment', { endpoint: key, error: r.stderr.trim() });
    } else if (this.#synced || !mayHaveRules) {
      return;
    }
    const saved = await this.#save();
    const mine = saved.rules.filter((r) => r.comment === key);
    if (mine.length) await this.#restore({ del: mine }, `remove the published ports of ${key}`);
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

  async #enableForwarding(v6: boolean): Promise<void> {
    if (!this.#forwarding) {
      if ((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim() !== '1') await writeSysctl('net/ipv4/ip_forward', '1');
      this.#forwarding = true;
    }
    if (v6 && !this.#forwarding6) {
      if ((await readFile('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8')).trim() !== '1') await writeSysctl('net/ipv6/conf/all/forwarding', '1');
      this.#forwarding6 = true;
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Both families' rules; IPv6's only where the kernel has IPv6. */
  async #save(): Promise<Saved> {
    const [v4, v6] = await Promise.all([
      this.#run(this.#cmd.iptablesSave, [], undefined, 'read the firewall rules'),
      HAS_IPV6 ? this.#run(this.#cmd.ip6tablesSave, [], undefined, 'read the IPv6 firewall rules') : undefined,
    ]);
    const saved = parseSave(v4.stdout);
    if (!v6) return saved;
    const saved6 = parseSave(v6.stdout, true);
    return { chains: new Set([...saved.chains, ...saved6.chains]), rules: [...saved.rules, ...saved6.rules] };
  }

  /** One transaction per family: iptables-restore for the IPv4 operations, ip6tables-restore for the IPv6 ones. */
  async #restore(ops: RestoreOps, what: string): Promise<void> {
    await this.#restoreEach(ops, what);
  }

  /** #restore that reports failure instead of throwing: the rules may not be as written. */
  async #tryRestore(ops: RestoreOps): Promise<{ code: number; stderr: string }> {
    return (await this.#restoreEach(ops)).find((r) => r.code !== 0) ?? { code: 0, stderr: '' };
  }

  /** Each family's script that has operations, run side by side; `what` makes a failure throw. */
  #restoreEach(ops: RestoreOps, what?: string) {
    const runs = [
      { script: restoreScript(ops), cmd: this.#cmd.iptablesRestore, what },
      { script: restoreScript(ops, true), cmd: this.#cmd.ip6tablesRestore, what: what && `${what} (IPv6)` },
    ];
    return Promise.all(runs.filter((r) => r.script).map((r) => this.#run(r.cmd, ['-w', '--noflush'], r.script, r.what)));
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

/** Whether the kernel has IPv6 at all (not booted with ipv6.disable=1). */
const HAS_IPV6 = existsSync('/proc/net/if_inet6');

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
  if (n.ipv6) {
    const [addr6, len6] = n.ipv6.subnet.split('/');
    if (!isIp6(addr6 ?? '') || !/^\d+$/.test(len6 ?? '') || Number(len6) > 128) throw new InvalidArgumentError(`invalid IPv6 subnet "${n.ipv6.subnet}"`);
    if (!isIp6(n.ipv6.gateway)) throw new InvalidArgumentError(`invalid IPv6 gateway "${n.ipv6.gateway}"`);
  }
}

function checkEndpoint(ep: Endpoint): void {
  checkId(ep.containerId, 'container');
  checkNetwork(ep.network);
  if (!NAME_RE.test(ep.ifname)) throw new InvalidArgumentError(`invalid interface name "${ep.ifname}"`);
  if (!IPV4_RE.test(ep.ip) || !Number.isInteger(ep.prefixLen) || ep.prefixLen < 0 || ep.prefixLen > 32) throw new InvalidArgumentError(`invalid address "${ep.ip}/${ep.prefixLen}"`);
  if (ep.ip6 && (!ep.network.ipv6 || !isIp6(ep.ip6.ip) || !Number.isInteger(ep.ip6.prefixLen) || ep.ip6.prefixLen < 0 || ep.ip6.prefixLen > 128)) {
    throw new InvalidArgumentError(`invalid IPv6 address "${ep.ip6.ip}/${ep.ip6.prefixLen}" on network ${ep.network.bridge}`);
  }
  if (ep.mac && !MAC_RE.test(ep.mac)) throw new InvalidArgumentError(`invalid MAC address "${ep.mac}"`);
  for (const p of ep.ports) {
    if (!['tcp', 'udp', 'sctp'].includes(p.protocol)) throw new InvalidArgumentError(`invalid protocol "${p.protocol}"`);
    if (p.hostIp !== '' && !IPV4_RE.test(p.hostIp) && !isIp6(p.hostIp)) throw new InvalidArgumentError(`invalid host address "${p.hostIp}"`);
    // Ports are forwarded by DNAT alone: an IPv6 address needs the container's own, and the
    // kernel never forwards IPv6 loopback (it has no route_localnet).
    if (isIp6(p.hostIp)) {
      if (!ep.ip6) throw new InvalidArgumentError(`cannot publish port ${p.hostPort} on ${p.hostIp}: the container has no IPv6 address on this network (create the network with --ipv6)`);
      if (tryParseIp6(p.hostIp) === 1n) throw new InvalidArgumentError(`cannot publish port ${p.hostPort} on ${p.hostIp}: IPv6 loopback cannot be forwarded to a container; publish on :: or the host's IPv6 address`);
    }
    for (const port of [p.hostPort, p.containerPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`invalid port ${port}`);
    }
  }
}
