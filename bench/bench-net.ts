/**
 * The networking half of bench/bench.ts: a dockerd with a real default bridge (so both engines
 * pay for networking, like with like), the removal of everything that dockerd put on the host,
 * and the throughput of a published port against the same server reached directly.
 *
 * Docker's bridge is one the bench makes itself (`wtbdk0`, 10.232.120.1/24), handed to dockerd
 * with `-b`: the host's docker0, if any, is never touched, and every rule Docker writes for it
 * names wtbdk0, which cleanIptables (bench/netsetup-cleanup.ts) recognises.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { dockerdArgs } from '../test/harness.js';
import { cleanIptables, sh, snapshot, type Snapshot } from './netsetup-cleanup.js';

export const DOCKER_BRIDGE = 'wtbdk0';
const DOCKER_BRIDGE_ADDR = '10.232.120.1/24';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

export interface DockerNet {
  args: string[];
  before: Snapshot;
  ipForward: string;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
}

/**
 * dockerd's arguments with its default bridge and iptables on, on a bridge made here. The test
 * harness's dockerdArgs turns networking off; the flags that do so are swapped out.
 */
export async function prepareDockerNet(dir: string, namespace: string): Promise<DockerNet> {
  if (existsLink(DOCKER_BRIDGE)) throw new Error(`${DOCKER_BRIDGE} exists already: another bench is running, or one did not clean up (ip link del ${DOCKER_BRIDGE})`);
  const routes = sh('ip -4 route');
  if (/^10\.232\.120\./m.test(routes)) throw new Error(`10.232.120.0/24 is routed on this host already; the bench needs it for Docker's bridge:\n${routes}`);
  const before = snapshot();
  const ipForward = (await readFile(IP_FORWARD, 'utf8')).trim();
  run('ip', ['link', 'add', DOCKER_BRIDGE, 'type', 'bridge']);
  run('ip', ['addr', 'add', DOCKER_BRIDGE_ADDR, 'dev', DOCKER_BRIDGE]);
  run('ip', ['link', 'set', DOCKER_BRIDGE, 'up']);
  const off = new Set(['--bridge=none', '--iptables=false']);
  const args = [...dockerdArgs(dir, namespace).filter((a) => !off.has(a)), '-b', DOCKER_BRIDGE, '--iptables=true'];
  return { args, before, ipForward };
}

function existsLink(dev: string): boolean {
  return spawnSync('ip', ['link', 'show', dev], { stdio: 'ignore' }).status === 0;
}

/** After dockerd has stopped: its veths, the bridge, its rules and chains, FORWARD's policy, ip_forward. */
export async function cleanupDockerNet(net: DockerNet): Promise<void> {
  for (const l of sh(`ip -br link show master ${DOCKER_BRIDGE} 2>/dev/null`).split('\n')) {
    const dev = l.split(/\s+/)[0]?.split('@')[0];
    if (dev) spawnSync('ip', ['link', 'del', dev], { stdio: 'ignore' });
  }
  if (existsLink(DOCKER_BRIDGE)) run('ip', ['link', 'del', DOCKER_BRIDGE]);
  await removeDockerUserBridges();
  await cleanIptables(net.before);
  if ((await readFile(IP_FORWARD, 'utf8')).trim() !== net.ipForward) await writeFile(IP_FORWARD, net.ipForward);
}

/**
 * A user network of Docker's that a failed run left (the bench gives it 10.232.121.0/24): its
 * br-<id> bridge and the FORWARD rules that name it, which carry neither DOCKER nor the subnet.
 */
async function removeDockerUserBridges(): Promise<void> {
  for (const l of sh('ip -4 -o addr show').split('\n')) {
    const m = /^\d+:\s+(br-[0-9a-f]{12})\s+inet 10\.232\.121\./.exec(l);
    if (!m) continue;
    const dev = m[1];
    for (const table of ['filter', 'nat']) {
      const dels = sh(`iptables-save -t ${table}`).split('\n').filter((r) => r.startsWith('-A ') && new RegExp(`[io] ${dev}( |$)`).test(r)).map((r) => `-D ${r.slice(3)}`);
      if (dels.length) spawnSync('iptables-restore', ['--noflush'], { input: `*${table}\n${dels.join('\n')}\nCOMMIT\n` });
    }
    spawnSync('ip', ['link', 'del', dev], { stdio: 'ignore' });
  }
}

/** What the bench may have left: reported, so a reader sees the host is as it was. */
export function netLeftovers(net: DockerNet, wharfBridge: string): string[] {
  const left: string[] = [];
  for (const l of sh('ip -br link').split('\n')) if (l.startsWith(DOCKER_BRIDGE) || l.startsWith(wharfBridge) || /^podman\d/.test(l) || (l.startsWith('docker0') && !net.before.docker0)) left.push(`link: ${l}`);
  for (const l of sh('iptables-save').split('\n')) if (l.includes(DOCKER_BRIDGE) || l.includes(wharfBridge) || l.includes('10.232.12')) left.push(`iptables: ${l}`);
  for (const l of sh('ip -4 route').split('\n')) if (l.startsWith('10.232.12')) left.push(`route: ${l}`);
  return left;
}

/** A host port free on 127.0.0.1 now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function fetchOnce(host: string, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path, agent: false, timeout: 10_000 }, (res) => {
      let n = 0;
      res.on('data', (b: Buffer) => (n += b.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`GET http://${host}:${port}${path}: ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}${path}: timed out`)));
    req.on('error', reject);
  });
}

/** Polls until the server answers, for at most `ms`. */
export async function waitHttp(host: string, port: number, path: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await fetchOnce(host, port, path);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * MiB/s of `requests` GETs of `path`, `parallel` at a time, stopping early after `maxMs` (the
 * figure then covers what was fetched). Every response must be `size` bytes.
 */
export async function throughput(host: string, port: number, path: string, size: number, requests: number, parallel: number, maxMs: number): Promise<number> {
  let started = 0;
  let bytes = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < requests && performance.now() - t0 < maxMs) {
      started++;
      const n = await fetchOnce(host, port, path);
      if (n !== size) throw new Error(`GET http://${host}:${port}${path}: ${n} bytes, expected ${size}`);
      bytes += n;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return bytes / 2 ** 20 / ((performance.now() - t0) / 1000);
}
