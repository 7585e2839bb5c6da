// The bridge driver on real kernel objects (root): namespaces, bridges, veths and iptables rules,
// with real TCP and UDP traffic. Everything carries a tag unique to this run (devices' aliases,
// rules' comments, chain names), and the `after` hook removes all of it, also when a test failed,
// without trusting the driver's own cleanup.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, umount } from '../util/index.js';
import { BridgeDriver, bridgeTag } from './bridge.js';
import type { BridgeNetwork, Endpoint, PortMapping } from './driver.js';
import { vethName } from './_links.js';

const root = process.getuid?.() === 0;
const TAG = `wt${randomBytes(3).toString('hex')}`;
const hex64 = () => randomBytes(32).toString('hex');

// A TCP server answering "<name> <peer address>" and a UDP one answering "<name> <peer> <message>".
const SERVER = `
const [name, tcp, udp] = process.argv.slice(1);
const net = require('net'), dgram = require('dgram');
let up = 0; const ready = () => { if (++up === 2) console.log('ready'); };
net.createServer((s) => s.end(name + ' ' + s.remoteAddress.replace('::ffff:', '') + '\\n')).listen(+tcp, ready);
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(name + ' ' + r.address + ' ' + m, r.port, r.address));
u.bind(+udp, ready);
`;
// One request: prints the answer, exits 2 when there is none within the time given.
const CLIENT = `
const [proto, host, port, ms] = process.argv.slice(1);
setTimeout(() => { console.log('timeout'); process.exit(2); }, +ms);
if (proto === 'tcp') {
  const s = require('net').connect(+port, host); let out = '';
  s.on('data', (d) => (out += d)); s.on('end', () => { process.stdout.write(out); process.exit(0); });
  s.on('error', (e) => { console.log(e.code); process.exit(1); });
} else {
  const u = require('dgram').createSocket('udp4');
  u.on('message', (m) => { console.log(String(m)); process.exit(0); });
  u.send('ping', +port, host);
}
`;

let dir = '';
let netnsDir = '';
let driver: BridgeDriver;
const servers: ChildProcess[] = [];
const hostServers: Server[] = [];
let thirds: number[] = [];

function network(i: number, name: string, extra: Partial<BridgeNetwork> = {}): BridgeNetwork {
  return { id: hex64(), bridge: `${TAG}${name}`, subnet: `10.231.${thirds[i]}.0/24`, gateway: `10.231.${thirds[i]}.1`, internal: false, icc: true, masquerade: true, mtu: 0, ...extra };
}

function endpoint(n: BridgeNetwork, host: number, ports: PortMapping[] = [], cid = hex64()): Endpoint {
  const third = n.subnet.split('.')[2];
  return { containerId: cid, name: `c${host}`, network: n, ifname: 'eth0', ip: `10.231.${third}.${host}`, prefixLen: 24, mac: `02:42:0a:e7:${Number(third).toString(16).padStart(2, '0')}:${host.toString(16).padStart(2, '0')}`, defaultRoute: true, ports };
}

/** Free host ports, found by binding port 0. */
async function freePorts(count: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < count) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    if (!out.includes(port)) out.push(port);
  }
  return out;
}

async function startServer(nsPath: string, name: string, tcp: number, udp: number): Promise<void> {
  const child = spawn('nsenter', [`--net=${nsPath}`, process.execPath, '-e', SERVER, name, String(tcp), String(udp)], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server ${name} not ready in 10 s`)), 10_000);
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`server ${name} exited with ${code}`)));
  });
}

/** A request from inside a namespace (or from the host without one); the answer, or 'timeout'/an errno. */
async function ask(nsPath: string | undefined, proto: 'tcp' | 'udp', host: string, port: number, ms = 2500): Promise<string> {
  const args = [process.execPath, '-e', CLIENT, proto, host, String(port), String(ms)];
  const r = nsPath ? await run('nsenter', [`--net=${nsPath}`, ...args]) : await run(args[0], args.slice(1));
  return r.stdout.trim();
}

async function sh(cmd: string): Promise<string> {
  return (await run('sh', ['-c', cmd])).stdout;
}

const iptablesMine = async () => (await sh('iptables-save')).split('\n').filter((l) => l.includes(TAG) || l.includes(TAG.toUpperCase()));
const linksMine = async () => {
  const links = JSON.parse((await run('ip', ['-j', '-d', 'link', 'show'])).stdout) as { ifname: string; ifalias?: string }[];
  return links.filter((l) => l.ifname.includes(TAG) || (l.ifalias ?? '').startsWith(`${TAG}:`)).map((l) => l.ifname);
};

/** Removes whatever carries this run's tag, independently of the driver. */
async function scrub(): Promise<void> {
  for (const c of servers) c.kill('SIGKILL');
  for (const s of hostServers) s.close();
  for (const l of await linksMine()) await run('ip', ['link', 'del', 'dev', l]);
  const save = await sh('iptables-save');
  let table = '';
  const dels: Record<string, string[]> = {};
  const chains: Record<string, string[]> = {};
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(`:${TAG.toUpperCase()}-`)) (chains[table] ??= []).push(line.slice(1).split(' ')[0]);
    else if (line.startsWith('-A ') && (line.includes(`"${TAG}`) || line.includes(` ${TAG}:`) || line.includes(`-j ${TAG.toUpperCase()}-`))) (dels[table] ??= []).push(`-D ${line.slice(3)}`);
  }
  for (const t of new Set([...Object.keys(dels), ...Object.keys(chains)])) {
    const c = chains[t] ?? [];
    const script = `*${t}\n${[...(dels[t] ?? []), ...c.map((x) => `-F ${x}`), ...c.map((x) => `-X ${x}`)].join('\n')}\nCOMMIT\n`;
    const r = await run('iptables-restore', ['--noflush'], { input: script });
    if (r.code !== 0) console.error('scrub iptables:', r.stderr);
  }
  if (dir) {
    const mounts = (await sh('cat /proc/self/mountinfo')).split('\n').map((l) => l.split(' ')[4] ?? '');
    for (const m of mounts.filter((m) => m.startsWith(dir + '/')).reverse()) {
      try {
        umount(m);
      } catch (err) {
        console.error('scrub umount:', m, err);
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

describe('bridge driver', { skip: !root && 'needs root' }, () => {
  let A: BridgeNetwork, B: BridgeNetwork, I: BridgeNetwork;
  const ns: Record<string, string> = {};
  const eps: Record<string, Endpoint> = {};
  let P: number[] = [];

  before(async () => {
    const routes = await sh('ip route; ip addr');
    const free = Array.from({ length: 200 }, (_, i) => 20 + i).filter((t) => !routes.includes(`10.231.${t}.`));
    const start = Math.floor(Math.random() * (free.length - 8));
    thirds = free.slice(start, start + 6);
    dir = await mkdtemp(join(tmpdir(), 'wt-netdrv-'));
    netnsDir = join(dir, 'netns');
    driver = new BridgeDriver({ netnsDir, tag: TAG });
    A = network(0, 'a');
    // Named like Docker's bridges: what leaves for a br-* bridge takes another way (P-OUT).
    B = network(1, 'b', { bridge: `br-${TAG}b` });
    I = network(2, 'i', { internal: true });
    P = await freePorts(6);
    for (const n of [A, B, I]) await driver.ensureNetwork(n);
    for (const c of ['c2', 'c3', 'c4', 'c5']) ns[c] = await driver.createNamespace(hex64());
    const c2ports: PortMapping[] = [
      { protocol: 'tcp', hostIp: '', hostPort: P[0], containerPort: 8080 },
      { protocol: 'udp', hostIp: '', hostPort: P[1], containerPort: 8081 },
      { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: P[2], containerPort: 8080 },
    ];
    eps.c2 = endpoint(A, 2, c2ports, ns.c2.split('/').pop());
    eps.c3 = endpoint(A, 3, [], ns.c3.split('/').pop());
    eps.c4 = endpoint(B, 4, [], ns.c4.split('/').pop());
    eps.c5 = endpoint(I, 5, [], ns.c5.split('/').pop());
    await Promise.all(Object.keys(eps).map((c) => driver.attach(ns[c], eps[c])));
    await startServer(ns.c2, 'c2', 8080, 8081);
    await startServer(ns.c4, 'c4', 8080, 8081);
  });

  after(scrub);

  test('two namespaces on one network talk, TCP and UDP', async () => {
    assert.equal(await ask(ns.c3, 'tcp', '10.231.' + thirds[0] + '.2', 8080), `c2 10.231.${thirds[0]}.3`);
    assert.equal(await ask(ns.c3, 'udp', '10.231.' + thirds[0] + '.2', 8081), `c2 10.231.${thirds[0]}.3 ping`);
  });

  test('a published port answers on 127.0.0.1 and the host\'s addresses, TCP and UDP', async () => {
    assert.equal(await ask(undefined, 'tcp', '127.0.0.1', P[0]), `c2 ${A.gateway}`);
    assert.equal(await ask(undefined, 'udp', '127.0.0.1', P[1]), `c2 ${A.gateway} ping`);
    assert.equal(await ask(undefined, 'tcp', '127.0.0.1', P[2]), `c2 ${A.gateway}`);
    assert.match(await ask(undefined, 'tcp', B.gateway, P[0]), /^c2 /);
  });

  test('a published port answers other containers through a gateway, also across networks', async () => {
    assert.equal(await ask(ns.c3, 'tcp', A.gateway, P[0]), `c2 ${A.gateway}`);
    assert.equal(await ask(ns.c3, 'udp', A.gateway, P[1]), `c2 ${A.gateway} ping`);
    // Docker's masquerade rule (the subnet, out of any other interface) hides the source here too.
    assert.match(await ask(ns.c4, 'tcp', B.gateway, P[0]), /^c2 10\.231\./);
  });

  test('two networks are isolated both ways', async () => {
    assert.equal(await ask(ns.c4, 'tcp', eps.c2.ip, 8080, 1500), 'timeout');
    assert.equal(await ask(ns.c3, 'tcp', eps.c4.ip, 8080, 1500), 'timeout');
    assert.equal(await ask(ns.c3, 'udp', eps.c4.ip, 8081, 1500), 'timeout');
  });

  test('an internal network has no way out and gets no masquerade', async () => {
    const routes = await run('nsenter', [`--net=${ns.c5}`, 'ip', 'route']);
    assert.doesNotMatch(routes.stdout, /default/);
    assert.equal(await ask(ns.c5, 'tcp', eps.c2.ip, 8080, 1500), 'ENETUNREACH');
    // Even with a route added by hand, the firewall drops what leaves the bridge.
    await run('nsenter', [`--net=${ns.c5}`, 'ip', 'route', 'add', 'default', 'via', I.gateway]);
    assert.equal(await ask(ns.c5, 'tcp', eps.c2.ip, 8080, 1500), 'timeout');
    assert.equal(await ask(ns.c5, 'tcp', A.gateway, P[0], 1500), 'timeout');
    const masq = (await iptablesMine()).filter((l) => l.includes('MASQUERADE') && l.includes(I.subnet));
    assert.deepEqual(masq, []);
  });

  test('icc=false drops traffic inside the bridge but not published ports', async () => {
    const N = network(3, 'n', { icc: false });
    await driver.ensureNetwork(N);
    const [p] = await freePorts(1);
    const s = await driver.createNamespace(hex64());
    const c = await driver.createNamespace(hex64());
    const es = endpoint(N, 2, [{ protocol: 'tcp', hostIp: '', hostPort: p, containerPort: 8080 }], s.split('/').pop());
    const ec = endpoint(N, 3, [], c.split('/').pop());
    await driver.attach(s, es);
    await driver.attach(c, ec);
    await startServer(s, 'n2', 8080, 8081);
    assert.equal(await ask(c, 'tcp', es.ip, 8080, 1500), 'timeout');
    assert.equal(await ask(c, 'tcp', N.gateway, p), `n2 ${N.gateway}`);
    servers.pop()!.kill('SIGKILL');
    await driver.detach(s, es);
    await driver.detach(c, ec);
    await driver.removeNamespace(es.containerId);
    await driver.removeNamespace(ec.containerId);
    await driver.removeNetwork(N);
  });

  test('a port published on 127.0.0.1 is not reachable from another host (moby#45610)', async () => {
    // Another host on a link of its own: a namespace behind a plain veth (no bridge), routing
    // 127.0.0.1 to this host as an attacker on the LAN can.
    const lan = await driver.createNamespace(hex64());
    const h = `10.231.${thirds[4]}`;
    const ok = await run('sh', ['-ec', `
      ip link add ${TAG}l0 type veth peer name eth0 netns ${lan}
      ip addr add ${h}.1/30 dev ${TAG}l0; ip link set ${TAG}l0 up
      nsenter --net=${lan} sh -ec '
        ip addr add ${h}.2/30 dev eth0; ip link set eth0 up
        sysctl -qw net.ipv4.conf.eth0.route_localnet=1
        ip addr del 127.0.0.1/8 dev lo
        ip route add 127.0.0.1/32 via ${h}.1 dev eth0'`]);
    assert.equal(ok.code, 0, ok.stderr);
    try {
      assert.equal(await ask(lan, 'tcp', `${h}.1`, P[0]), `c2 ${h}.2`);
      assert.equal(await ask(lan, 'tcp', '127.0.0.1', P[2], 1500), 'timeout');
    } finally {
      await run('ip', ['link', 'del', `${TAG}l0`]);
      await driver.removeNamespace(lan.split('/').pop()!);
    }
  });

  test('a host port already taken fails with Docker\'s text and leaves nothing', async () => {
    const ns6 = await driver.createNamespace(hex64());
    const cid = ns6.split('/').pop()!;
    const before = await iptablesMine();
    const taken = endpoint(A, 6, [{ protocol: 'tcp', hostIp: '', hostPort: P[0], containerPort: 80 }], cid);
    await assert.rejects(driver.attach(ns6, taken), { message: `driver failed programming external connectivity on endpoint c6: Bind for 0.0.0.0:${P[0]} failed: port is already allocated` });
    const onLoopback = endpoint(A, 6, [{ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: P[0], containerPort: 80 }], cid);
    await assert.rejects(driver.attach(ns6, onLoopback), /Bind for 127\.0\.0\.1:\d+ failed: port is already allocated/);
    // A port held by another process: Docker's userland proxy failing to listen.
    const foreign = createServer();
    hostServers.push(foreign);
    await new Promise<void>((r) => foreign.listen(P[3], '0.0.0.0', () => r()));
    const held = endpoint(A, 6, [{ protocol: 'tcp', hostIp: '', hostPort: P[4], containerPort: 80 }, { protocol: 'tcp', hostIp: '', hostPort: P[3], containerPort: 81 }], cid);
    await assert.rejects(driver.attach(ns6, held), { message: `driver failed programming external connectivity on endpoint c6: Error starting userland proxy: listen tcp4 0.0.0.0:${P[3]}: bind: address already in use` });
    const udpHolder = createSocket('udp4');
    await new Promise<void>((r) => udpHolder.bind(P[5], '127.0.0.1', () => r()));
    try {
      const heldUdp = endpoint(A, 6, [{ protocol: 'udp', hostIp: '', hostPort: P[5], containerPort: 81 }], cid);
      await assert.rejects(driver.attach(ns6, heldUdp), /listen udp4 0\.0\.0\.0:\d+: bind: address already in use/);
    } finally {
      udpHolder.close();
    }
    assert.equal(existsSync(`/sys/class/net/${vethName(cid, A.id)}`), false);
    assert.deepEqual(await iptablesMine(), before);
    // The port the failed attach did not get (P[4]) is free again for the next one.
    const next = endpoint(A, 6, [{ protocol: 'tcp', hostIp: '', hostPort: P[4], containerPort: 80 }], cid);
    await driver.attach(ns6, next);
    await driver.detach(ns6, next);
    await driver.removeNamespace(cid);
    assert.deepEqual(await iptablesMine(), before);
  });

  test('an ensureNetwork, createNamespace or attach run again changes nothing', async () => {
    const before = await iptablesMine();
    await driver.ensureNetwork(A);
    await new BridgeDriver({ netnsDir, tag: TAG }).ensureNetwork(A);
    assert.deepEqual(await iptablesMine(), before);
    assert.equal(await driver.createNamespace(eps.c3.containerId), ns.c3);
    const mounts = (await sh('cat /proc/self/mountinfo')).split('\n').filter((l) => l.includes(ns.c3));
    assert.equal(mounts.length, 1);
    // A fresh driver (a restarted daemon) learns the kernel's state from cleanup, then attaches again.
    const again = new BridgeDriver({ netnsDir, tag: TAG });
    await again.cleanup({ networks: [A, B, I], endpoints: Object.values(eps) });
    await again.attach(ns.c2, eps.c2);
    assert.deepEqual(await iptablesMine(), before);
    assert.equal(await ask(undefined, 'tcp', '127.0.0.1', P[0]), `c2 ${A.gateway}`);
  });

  test("an older wharf's jumps that match every packet are replaced by today's", async () => {
    const before = await iptablesMine();
    const c = driver.chains;
    // What wharf wrote before its raw and INPUT jumps took only loopback destinations and DNS.
    await sh(`iptables -t raw -I PREROUTING 1 -m comment --comment ${TAG} -j ${c.rawPrerouting}`);
    await sh(`iptables -t filter -I INPUT 1 -m comment --comment ${TAG} -j ${c.input}`);
    await new BridgeDriver({ netnsDir, tag: TAG }).ensureNetwork(A);
    assert.deepEqual(await iptablesMine(), before);
  });

  test('cleanup removes what a crash left and keeps what the records explain', async () => {
    const crashed = new BridgeDriver({ netnsDir, tag: TAG });
    const D = network(5, 'd');
    await crashed.ensureNetwork(D);
    const n1 = await crashed.createNamespace(hex64());
    const lost = endpoint(D, 2, [{ protocol: 'tcp', hostIp: '', hostPort: P[5], containerPort: 80 }], n1.split('/').pop());
    await crashed.attach(n1, lost);
    const n2 = await crashed.createNamespace(hex64());
    const orphan = endpoint(A, 9, [{ protocol: 'udp', hostIp: '', hostPort: P[5], containerPort: 80 }], n2.split('/').pop());
    await crashed.attach(n2, orphan);
    const keptNs = await crashed.createNamespace(hex64());

    const fresh = new BridgeDriver({ netnsDir, tag: TAG });
    await fresh.cleanup({ networks: [A, B, I], endpoints: Object.values(eps), namespaces: [keptNs.split('/').pop()!] });
    const rules = await iptablesMine();
    assert.deepEqual(rules.filter((l) => l.includes(shortOf(D.id)) || l.includes(shortOf(orphan.containerId))), []);
    assert.ok(rules.some((l) => l.includes(shortOf(eps.c2.containerId))));
    assert.equal(existsSync(`/sys/class/net/${D.bridge}`), false);
    assert.equal(existsSync(n1) || existsSync(n2), false);
    assert.equal(existsSync(keptNs), true);
    const expected = [A.bridge, B.bridge, I.bridge, ...Object.values(eps).map((e) => vethName(e.containerId, e.network.id))];
    assert.deepEqual((await linksMine()).sort(), expected.sort());
    assert.equal(await ask(undefined, 'tcp', '127.0.0.1', P[0]), `c2 ${A.gateway}`);
    await fresh.removeNamespace(keptNs.split('/').pop()!);
  });

  test('a detach after its namespace is gone leaves the veth to the kernel, which removes it', async () => {
    const p = await driver.createNamespace(hex64());
    const e = endpoint(B, 7, [{ protocol: 'tcp', hostIp: '', hostPort: P[4], containerPort: 80 }], p.split('/').pop());
    await driver.attach(p, e);
    const veth = `/sys/class/net/${vethName(e.containerId, B.id)}`;
    assert.equal(existsSync(veth), true);
    await driver.removeNamespace(e.containerId);
    await driver.detach(undefined, e);
    for (let i = 0; i < 100 && existsSync(veth); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(existsSync(veth), false, 'the kernel did not remove the veth within 5 s');
    assert.deepEqual((await iptablesMine()).filter((l) => l.includes(shortOf(e.containerId))), []);
  });

  test('detach, removeNamespace and removeNetwork leave no device, namespace or rule', async () => {
    for (const c of Object.keys(eps)) {
      await driver.detach(ns[c], eps[c]);
      await driver.detach(ns[c], eps[c]);
      await driver.removeNamespace(eps[c].containerId);
      await driver.removeNamespace(eps[c].containerId);
    }
    for (const n of [A, B, I]) {
      await driver.removeNetwork(n);
      await driver.removeNetwork(n);
    }
    assert.deepEqual(await linksMine(), []);
    assert.deepEqual(await iptablesMine(), []);
    assert.deepEqual(readdirSync(netnsDir), []);
    assert.equal((await sh('cat /proc/self/mountinfo')).includes(netnsDir), false);
  });
});

const shortOf = (id: string) => id.slice(0, 12);

test('input that would reach a command line is refused', async () => {
  const d = new BridgeDriver({ netnsDir: '/nonexistent', tag: TAG });
  const n: BridgeNetwork = { id: hex64(), bridge: 'x\nlink del eth0', subnet: '10.0.0.0/24', gateway: '10.0.0.1', internal: false, icc: true, masquerade: true, mtu: 0 };
  await assert.rejects(d.ensureNetwork(n), /invalid bridge name/);
  await assert.rejects(d.createNamespace('../x'), /invalid container ID/);
});

// dockerd sets the FORWARD policy to DROP and puts its own chains first when it starts after
// wharf; wharf's traffic must not depend on either. Run in a private network namespace, so the
// host's policy is not touched.
const UNDER_DROP = `
const { BridgeDriver } = await import(process.env.DRIVER_URL);
const { execFileSync, spawn, spawnSync } = await import('node:child_process');
const [dir, SERVER, CLIENT] = [process.env.DIR, process.env.SERVER, process.env.CLIENT];
const sh = (c) => execFileSync('sh', ['-ec', c], { encoding: 'utf8' });
sh('ip link set lo up; iptables -P FORWARD DROP; iptables -N DOCKER-USER; iptables -A DOCKER-USER -j RETURN');
const d = new BridgeDriver({ netnsDir: dir + '/netns-drop', tag: 'wtdrop' });
const net = (i) => ({ id: String(i).repeat(64), bridge: 'wtdrop' + i, subnet: '10.231.' + i + '.0/24', gateway: '10.231.' + i + '.1', internal: false, icc: true, masquerade: true, mtu: 0 });
const ep = (n, h, cid, ports = []) => ({ containerId: cid, network: n, ifname: 'eth0', ip: '10.231.' + n.subnet.split('.')[2] + '.' + h, prefixLen: 24, mac: '', defaultRoute: true, ports });
const A = net(1), B = net(2);
await d.ensureNetwork(A); await d.ensureNetwork(B);
const ids = ['a', 'b', 'c'].map((x) => x.repeat(64));
const ns = [];
for (const id of ids) ns.push(await d.createNamespace(id));
const eps = [ep(A, 2, ids[0], [{ protocol: 'tcp', hostIp: '', hostPort: 18080, containerPort: 8080 }]), ep(A, 3, ids[1]), ep(B, 4, ids[2])];
for (let i = 0; i < 3; i++) await d.attach(ns[i], eps[i]);
sh('iptables -I FORWARD 1 -j DOCKER-USER');
// A Docker bridge with a container and Docker's own accepts, appended after wharf's jump.
const dns = await d.createNamespace('d'.repeat(64));
sh('ip link add docker0 type bridge; ip addr add 10.231.3.1/24 dev docker0; ip link set docker0 up;'
  + 'ip link add wtdropd master docker0 up type veth peer name eth0 netns ' + dns + ';'
  + 'nsenter --net=' + dns + ' sh -ec "ip addr add 10.231.3.2/24 dev eth0; ip link set eth0 up; ip route add default via 10.231.3.1";'
  + 'iptables -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT;'
  + 'iptables -A FORWARD -i docker0 ! -o docker0 -j ACCEPT; iptables -A FORWARD -i docker0 -o docker0 -j ACCEPT');
const server = spawn('nsenter', ['--net=' + ns[0], process.execPath, '-e', SERVER, 's', '8080', '8081'], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => server.stdout.once('data', r));
const dserver = spawn('nsenter', ['--net=' + dns, process.execPath, '-e', SERVER, 'docker', '8080', '8081'], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => dserver.stdout.once('data', r));
const ask = (n, host, port, ms = 2000) => spawnSync('nsenter', ['--net=' + n, process.execPath, '-e', CLIENT, 'tcp', host, String(port), String(ms)], { encoding: 'utf8', timeout: 10000 }).stdout.trim();
const out = {
  same: ask(ns[1], '10.231.1.2', 8080),
  host: spawnSync(process.execPath, ['-e', CLIENT, 'tcp', '127.0.0.1', '18080', '2000'], { encoding: 'utf8', timeout: 10000 }).stdout.trim(),
  hairpin: ask(ns[1], '10.231.1.1', 18080),
  across: ask(ns[2], '10.231.2.1', 18080),
  isolated: ask(ns[2], '10.231.1.2', 8080, 1000),
  toDocker: ask(ns[1], '10.231.3.2', 8080, 1000),
  fromDocker: ask(dns, '10.231.1.2', 8080, 1000),
  fromDockerPublished: ask(dns, '10.231.3.1', 18080),
};
server.kill('SIGKILL');
dserver.kill('SIGKILL');
await d.removeNamespace('d'.repeat(64));
for (let i = 0; i < 3; i++) { await d.detach(ns[i], eps[i]); await d.removeNamespace(ids[i]); }
await d.removeNetwork(A); await d.removeNetwork(B);
out.left = sh('iptables-save').split('\\n').filter((l) => /wtdrop|WTDROP/i.test(l));
console.log(JSON.stringify(out));
`;

test('published ports, isolation and traffic inside a network work under FORWARD policy DROP', { skip: !root && 'needs root' }, async () => {
  const d = await mkdtemp(join(tmpdir(), 'wt-netdrv-drop-'));
  let r;
  try {
    const script = join(d, 'under-drop.mjs');
    await writeFile(script, UNDER_DROP);
    r = await run('unshare', ['--net', process.execPath, script], {
      env: { ...process.env, DIR: d, SERVER, CLIENT, DRIVER_URL: new URL('./bridge.js', import.meta.url).href },
      signal: AbortSignal.timeout(60_000),
    });
  } finally {
    // The child's namespace files are mounts in the shared mount namespace: undo any it left.
    const mounts = (await sh('cat /proc/self/mountinfo')).split('\n').map((l) => l.split(' ')[4] ?? '');
    for (const m of mounts.filter((m) => m.startsWith(d + '/'))) umount(m);
    await rm(d, { recursive: true, force: true });
  }
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.same, 's 10.231.1.3');
  assert.equal(out.host, 's 10.231.1.1');
  assert.equal(out.hairpin, 's 10.231.1.1');
  assert.match(out.across, /^s 10\.231\./);
  assert.equal(out.isolated, 'timeout');
  // Docker's containers are Docker's to protect, wharf's are wharf's; published ports serve both.
  assert.equal(out.toDocker, 'timeout');
  assert.equal(out.fromDocker, 'timeout');
  assert.equal(out.fromDockerPublished, 's 10.231.3.2');
  assert.deepEqual(out.left, []);
});

test('bridge tags: wharf for wharf0, the device name otherwise, and for --bridge none one per data root', () => {
  assert.equal(bridgeTag('wharf0', '/var/lib/wharf'), 'wharf');
  assert.equal(bridgeTag('Test-Br.1', '/x'), 'testbr1');
  const a = bridgeTag('none', '/var/lib/wharf');
  assert.match(a, /^none[0-9a-f]{8}$/);
  assert.equal(bridgeTag('none', '/var/lib/wharf/'), a, 'the same root, however written, the same tag across restarts');
  assert.notEqual(bridgeTag('none', '/srv/wharf2'), a, 'two daemons without a default bridge do not share rules');
  assert.throws(() => bridgeTag('1abc', '/x'), /must start with a letter/);
});
