/**
 * Name resolution on user-defined networks, served by Podman's aardvark-dns (DESIGN decision 6:
 * it runs apart from wharfd, so containers keep resolving names while the daemon is stopped,
 * restarting or killed).
 *
 * One aardvark-dns process serves every network of a config directory. It reads one file per
 * network, named after the network (`<name>%int` for an internal one, as netavark writes it):
 *
 *     <gateway IPs, comma-separated>
 *     <container ID> <IPv4s, comma-separated> <IPv6s, comma-separated> <names, comma-separated> [<upstream servers>]
 *     ...
 *
 * It listens on each network's gateway address, port 53, UDP only (TCP came with aardvark-dns
 * 1.7): a query over TCP is refused at once. Resolvers use TCP only to retry a truncated answer,
 * which the names of containers never make; an outside name whose answer the upstream truncates
 * does not resolve. It answers with the names of the networks the asking container is on (it
 * finds the container by the query's source address, so one container must have the same ID in
 * every network's file), forwards other names to the container's upstream servers if its line
 * names any, else to the host's /etc/resolv.conf servers, rereads the files on SIGHUP, and exits
 * on a SIGHUP that finds no file. It daemonizes itself: the process started exits once the server
 * is listening, and the server writes its pid to `aardvark.pid` in the config directory.
 */
import { open, readFile, readdir, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { isErrno, silentLogger, writeFileAtomic, type Logger } from '../util/index.js';
import { isIp6 } from './ipam6.js';

/** Debian's aardvark-dns (package aardvark-dns, a dependency of podman). */
export const AARDVARK_DNS = '/usr/lib/podman/aardvark-dns';

const PID_FILE = 'aardvark.pid';
const INTERNAL_SUFFIX = '%int';
/** Docker's rule for container names and aliases; anything else would break the file's format. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The upstream server named for containers whose queries must not leave (`forward: false`).
 * aardvark-dns 1.4 has no switch per network (AARDVARK_NO_PROXY is for the whole process, the
 * `%int` suffix means nothing to it), but it takes a container's own upstream servers in a
 * fifth column and uses them instead of the host's. This address on the host's loopback is
 * refused by the firewall of every internal network (_firewall.ts), so no local resolver that
 * listens on all of 127.0.0.0/8 answers it either: the query fails there and gets no answer.
 */
export const NO_FORWARD_DNS = '127.0.53.254';

export interface DnsNetwork {
  /** The network's name: the file's name, so unique among the networks of one directory. */
  name: string;
  id: string;
  /** The bridge's own address, where the server listens; it must be on the bridge already. */
  gateway: string;
  internal: boolean;
}

export interface DnsEntry {
  /** The same ID on every network the container is on: aardvark-dns joins them by it. */
  containerId: string;
  /** Container name (without the leading /), network aliases, compose service name, short ID. */
  names: string[];
  /** The container's IPv4 address on this network. */
  ip: string;
  /** Its IPv6 address there, on a network with IPv6 (answered to AAAA queries). */
  ip6?: string;
  /**
   * Whether names the networks do not know are forwarded to the host's resolvers: false for a
   * container that is only on internal networks, which have no way out, their DNS included
   * (Docker's resolver forwards only for a container with external access). Default true.
   */
  forward?: boolean;
}

/**
 * What the network service calls: after every change of a user-defined network's members
 * (connect, disconnect, container start and stop) with the whole list of that network's
 * running containers. An empty list takes the network out of the name server.
 */
export interface DnsPort {
  update(network: DnsNetwork, entries: DnsEntry[]): Promise<void>;
}

export interface NameServerOptions {
  /** A directory only for aardvark-dns, under the exec root (`<exec-root>/network/dns`). */
  configDir: string;
  binary?: string;
  logger?: Logger;
  /** Where aardvark-dns's stdout and stderr go (it logs to syslog besides); /dev/null if unset. */
  logFile?: string;
  /** 53 unless a test needs another. */
  port?: number;
}

export class NameServer implements DnsPort {
  readonly configDir: string;
  readonly #binary: string;
  readonly #log: Logger;
  readonly #logFile: string | undefined;
  readonly #port: number;
  /** The network files present, read once from the directory, kept in step after that. */
  #files: Set<string> | undefined;
  #pid: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: NameServerOptions) {
    this.configDir = resolve(opts.configDir);
    this.#binary = opts.binary ?? AARDVARK_DNS;
    this.#log = opts.logger ?? silentLogger;
    this.#logFile = opts.logFile;
    this.#port = opts.port ?? 53;
  }

  /** The pid of the aardvark-dns serving this directory, if one runs. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /**
   * At daemon start: adopt the aardvark-dns left running by an earlier wharfd (never a second
   * one), drop temporary files a killed daemon left, and start the server if networks have
   * files but nothing serves them (it crashed, or was killed).
   */
  init(): Promise<number | undefined> {
    return this.#serial(async () => {
      await this.#loadFiles(true);
      this.#pid = await this.#findRunning();
      if (this.#pid !== undefined) this.#log.info('adopted running aardvark-dns', { pid: this.#pid, configDir: this.configDir });
      else if (this.#files!.size > 0) await this.#start();
      return this.#pid;
    });
  }

  update(network: DnsNetwork, entries: DnsEntry[]): Promise<void> {
    return this.#serial(async () => {
      await this.#loadFiles(false);
      await this.#apply(await this.#write(network, entries));
    });
  }

  /**
   * The daemon's reconciliation: exactly these networks, each with its entries; files of any
   * other network are removed. One reload for all of them.
   */
  sync(networks: { network: DnsNetwork; entries: DnsEntry[] }[]): Promise<void> {
    return this.#serial(async () => {
      await this.#loadFiles(false);
      const keep = new Set<string>();
      let changed = false;
      for (const { network, entries } of networks) {
        if (await this.#write(network, entries)) changed = true;
        if (this.#files!.has(fileName(network))) keep.add(fileName(network));
      }
      for (const f of [...this.#files!]) {
        if (!keep.has(f)) {
          await rm(join(this.configDir, f), { force: true });
          this.#files!.delete(f);
          changed = true;
        }
      }
      await this.#apply(changed);
    });
  }

  /** When no user-defined network is left: remove every network's file and end the server. */
  stop(): Promise<void> {
    return this.#serial(async () => {
      await this.#loadFiles(false);
      for (const f of this.#files!) await rm(join(this.configDir, f), { force: true });
      this.#files!.clear();
      await this.#terminate();
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #loadFiles(cleanTemps: boolean): Promise<void> {
    if (this.#files && !cleanTemps) return;
    let names: string[];
    try {
      names = await readdir(this.configDir);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      names = [];
    }
    // writeFileAtomic's temporaries start with a dot; one left by a killed daemon would be read
    // as a network on the next reload.
    if (cleanTemps) for (const n of names.filter((n) => n.startsWith('.'))) await rm(join(this.configDir, n), { force: true });
    this.#files = new Set(names.filter((n) => n !== PID_FILE && !n.startsWith('.')));
  }

  /** Whether the network's file changed: a file already as wanted is left alone. */
  async #write(network: DnsNetwork, entries: DnsEntry[]): Promise<boolean> {
    const file = fileName(network);
    const path = join(this.configDir, file);
    const text = entries.length === 0 ? '' : configText(network, entries);
    if (text === '') {
      if (!this.#files!.has(file)) return false;
      await rm(path, { force: true });
      this.#files!.delete(file);
      return true;
    }
    if (this.#files!.has(file) && (await readFile(path, 'utf8').catch(() => undefined)) === text) return false;
    // Not durable: the daemon rewrites every file from its records when it starts.
    await writeFileAtomic(path, text, 0o644, { durable: false });
    this.#files!.add(file);
    return true;
  }

  /**
   * Make the server see the files as they are now, with a reload only when they changed. A reload
   * is not free (aardvark-dns rereads every file and reconciles its listeners), and a lookup
   * made while the reload of a daemon restart, with every record unchanged, ran failed once in CI.
   */
  async #apply(changed: boolean): Promise<void> {
    if (this.#files!.size === 0) return this.#terminate();
    const pid = await this.#findRunning();
    if (pid === undefined) return this.#start();
    this.#pid = pid;
    if (changed) process.kill(pid, 'SIGHUP');
  }

  /**
   * The running server of this directory: the pid known or the one in the pid file, checked
   * against /proc/<pid>/cmdline, so that a pid reused by another process never gets a signal.
   */
  async #findRunning(): Promise<number | undefined> {
    if (this.#pid !== undefined && (await this.#isOurs(this.#pid))) return this.#pid;
    this.#pid = undefined;
    let text: string;
    try {
      text = await readFile(join(this.configDir, PID_FILE), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return (await this.#isOurs(pid)) ? pid : undefined;
  }

  async #isOurs(pid: number): Promise<boolean> {
    let argv: string[];
    try {
      argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    } catch {
      return false;
    }
    const c = argv.indexOf('--config');
    return argv[0]?.endsWith('aardvark-dns') === true && c > 0 && resolve(argv[c + 1] ?? '') === this.configDir && argv.includes('run');
  }

  async #start(): Promise<void> {
    const args = ['--config', this.configDir, '-p', String(this.#port), 'run'];
    const out = this.#logFile ? await open(this.#logFile, 'a') : undefined;
    let code: number | null;
    try {
      // Its own session and no pipe to wharfd, so that it outlives the daemon; the process
      // started forks the server and exits once the server listens.
      const child = spawn(this.#binary, args, { detached: true, stdio: ['ignore', out?.fd ?? 'ignore', out?.fd ?? 'ignore'] });
      code = await new Promise<number | null>((res, rej) => {
        child.once('error', rej);
        child.once('exit', (c, sig) => res(sig ? 128 : c));
      });
    } finally {
      await out?.close();
    }
    if (code !== 0) {
      const where = this.#logFile ? ` (see ${this.#logFile} and syslog)` : ' (see syslog)';
      throw new Error(`starting ${this.#binary} ${args.join(' ')}: exit status ${code}${where}`);
    }
    this.#pid = await this.#findRunning();
    if (this.#pid === undefined) throw new Error(`${this.#binary} started but wrote no live pid to ${join(this.configDir, PID_FILE)}`);
    this.#log.info('started aardvark-dns', { pid: this.#pid, configDir: this.configDir });
  }

  /** SIGTERM and wait for it to be gone: a server still exiting would ignore a later SIGHUP. */
  async #terminate(): Promise<void> {
    const pid = await this.#findRunning();
    this.#pid = undefined;
    if (pid !== undefined) {
      const started = await startTime(pid);
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 5000;
      // Its cmdline empties as soon as it lets go of its memory, before its threads have closed its
      // sockets: only its end says the port is free again.
      while (started !== undefined && (await startTime(pid)) === started) {
        if (Date.now() > deadline) {
          this.#log.warn('aardvark-dns ignored SIGTERM, killing it', { pid });
          process.kill(pid, 'SIGKILL');
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      this.#log.info('stopped aardvark-dns', { pid });
    }
    // It leaves its pid file behind on SIGTERM.
    await rm(join(this.configDir, PID_FILE), { force: true });
  }
}

/**
 * The process's start time in clock ticks, undefined once it has ended: no entry, or a zombie leader
 * whose other threads are gone too (until then they still hold its sockets).
 */
async function startTime(pid: number): Promise<string | undefined> {
  let stat: string;
  let status: string;
  try {
    [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses; the fields after the last ')' do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ended = (fields[0] === 'Z' || fields[0] === 'X') && /^Threads:\s*1$/m.test(status);
  return ended ? undefined : fields[19];
}

function fileName(n: DnsNetwork): string {
  if (n.name === PID_FILE || n.name.startsWith('.') || n.name.includes('/')) throw new Error(`network name "${n.name}" cannot name a DNS config file`);
  return n.internal ? n.name + INTERNAL_SUFFIX : n.name;
}

/** The network's file; entries without a usable name or address are left out ('' when none is left). */
export function configText(network: DnsNetwork, entries: DnsEntry[]): string {
  if (!IPV4_RE.test(network.gateway)) throw new Error(`network ${network.name}: gateway "${network.gateway}" is not an IPv4 address`);
  let body = '';
  for (const e of entries) {
    const names = [...new Set(e.names.map((n) => n.replace(/^\//, '')).filter((n) => NAME_RE.test(n)))];
    if (names.length === 0 || !IPV4_RE.test(e.ip) || !/^[0-9a-zA-Z]+$/.test(e.containerId)) continue;
    const ip6 = e.ip6 && isIp6(e.ip6) ? e.ip6 : '';
    body += `${e.containerId} ${e.ip} ${ip6} ${names.join(',')}${e.forward === false ? ` ${NO_FORWARD_DNS}` : ''}\n`;
  }
  return body === '' ? '' : `${network.gateway}\n${body}`;
}

/**
 * The name servers of a container on user-defined networks: its networks' gateways, in the
 * order it joined them, then its `--dns` servers, used only when the gateways do not answer
 * (aardvark-dns 1.4 forwards every other name to the host's servers itself). At most three, the
 * resolver's limit. Docker writes `nameserver 127.0.0.11` (its resolver inside each container's
 * namespace) and forwards to `--dns` from there.
 */
export function dnsNameservers(gateways: string[], dns: string[] = []): string[] {
  return [...new Set([...gateways, ...dns])].slice(0, 3);
}
