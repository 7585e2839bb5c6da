/**
 * The default bridge network with real traffic: published ports from the host, container to
 * container by address, the gateway to a published port, -P with an image's EXPOSE, NAT to the
 * Debian archive, ports released at stop, a taken port refused, and a wharfd killed with -9
 * whose container keeps its port and leaves nothing once removed. Needs the bridge datapath
 * (a NetworkDriver) wired into wharfd.
 *
 * Host ports used: 127.0.0.1:1808x and 0.0.0.0:1809x.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { exec, startDaemon, testBridge, type TestDaemon } from './harness.js';

let d: TestDaemon;
const containers = new Set<string>();
const images = new Set<string>();
const servers: Server[] = [];

before(async () => {
  d = await startDaemon();
});
after(async () => {
  for (const s of servers) s.close();
  if (d) {
    if (containers.size) await d.docker(['rm', '-f', ...containers], { timeoutMs: 60_000 });
    if (images.size) await d.docker(['rmi', '-f', ...images], { timeoutMs: 60_000 });
    await d.stop();
  }
});

const T = { timeoutMs: 60_000 };

async function ok(cli: 'docker' | 'wharf', args: string[]): Promise<string> {
  const r = await d[cli](args, T);
  assert.equal(r.code, 0, `${cli} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A container that is removed in `after` whatever happens. */
async function runDetached(cli: 'docker' | 'wharf', name: string, args: string[]): Promise<string> {
  containers.add(name);
  return (await ok(cli, ['run', '-d', '--name', name, ...args])).trim();
}

/** One GET from the host, bounded. */
function get(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GETs until the server answers (httpd takes a moment to listen), for at most `withinMs`. */
async function fetchText(url: string, withinMs = 15_000): Promise<string> {
  const deadline = Date.now() + withinMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await get(url);
      if (r.status === 200) return r.body;
      last = new Error(`status ${r.status}`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`GET ${url} did not answer in ${withinMs} ms: ${String(last)}`);
}

/** Binds host:port from the test, so a port wharf should have released is free; throws when not. */
function bindPort(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((_req, res) => res.end('test'));
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

interface Inspect {
  State: { Running: boolean };
  Config: { Hostname: string };
  NetworkSettings: { IPAddress: string; Gateway: string; SandboxKey: string; Ports: Record<string, { HostIp: string; HostPort: string }[] | null>; Networks: Record<string, { IPAddress: string }> };
}

async function inspect(cli: 'docker' | 'wharf', name: string): Promise<Inspect> {
  return (JSON.parse(await ok(cli, ['inspect', name])) as Inspect[])[0];
}

function inSubnet(ip: string, cidr: string): boolean {
  const n = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const [net, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(n(ip) / size) === Math.floor(n(net) / size);
}

async function bridgeSubnet(): Promise<string> {
  const [net] = JSON.parse(await ok('docker', ['network', 'inspect', 'bridge'])) as { IPAM: { Config: { Subnet: string }[] } }[];
  return net.IPAM.Config[0].Subnet;
}

const HTTPD = ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'];
/** busybox wget, bounded by busybox timeout: Debian's busybox-static 1.35 wget crashes (SIGSEGV) with -T. */
const WGET = ['busybox', 'timeout', '20', 'wget'];

const CLIS = [
  { cli: 'docker', local: 18081, all: 18091 },
  { cli: 'wharf', local: 18082, all: 18092 },
] as const;

for (const { cli, local, all } of CLIS) {
  test(`${cli}: a published port from the host, port/inspect, container to container, the gateway, released at stop`, async () => {
    const name = `wt-web-${cli}`;
    await runDetached(cli, name, ['-p', `127.0.0.1:${local}:80`, '-p', `${all}:80`, ...HTTPD]);
    const c = await inspect(cli, name);
    const hostname = `${c.Config.Hostname}\n`;
    assert.equal(await fetchText(`http://127.0.0.1:${local}/hostname`), hostname);

    assert.ok(inSubnet(c.NetworkSettings.IPAddress, await bridgeSubnet()), `${c.NetworkSettings.IPAddress} in the bridge's subnet`);
    assert.equal(c.NetworkSettings.Networks.bridge.IPAddress, c.NetworkSettings.IPAddress);
    assert.deepEqual(c.NetworkSettings.Ports, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(local) }, { HostIp: '0.0.0.0', HostPort: String(all) }] });
    // The docker CLI sorts the bindings.
    if (cli === 'docker') assert.equal(await ok('docker', ['port', name, '80']), `0.0.0.0:${all}\n127.0.0.1:${local}\n`);

    const byIp = await d[cli](['run', '--rm', ...WGET, '-qO-', `http://${c.NetworkSettings.IPAddress}/hostname`], T);
    assert.equal(byIp.code, 0, byIp.stderr);
    assert.equal(byIp.stdout, hostname);

    const viaGateway = await d[cli](['run', '--rm', ...WGET, '-qO-', `http://${c.NetworkSettings.Gateway}:${all}/hostname`], T);
    assert.equal(viaGateway.code, 0, viaGateway.stderr);
    assert.equal(viaGateway.stdout, hostname);

    await ok(cli, ['stop', '-t', '1', name]);
    const stopped = await inspect(cli, name);
    assert.deepEqual([stopped.NetworkSettings.IPAddress, stopped.NetworkSettings.Ports], ['', {}]);
    // Released: the test itself can listen on both ports now.
    servers.push(await bindPort('127.0.0.1', local));
    servers.push(await bindPort('0.0.0.0', all));
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await ok(cli, ['rm', name]);
    containers.delete(name);
  });

  test(`${cli}: -P publishes an image's EXPOSE on a port of the kernel's ephemeral range`, async () => {
    const base = `wt-expose-base-${cli}`;
    const image = `wt-exposed-${cli}`;
    containers.add(base);
    images.add(image);
    await ok(cli, ['create', '--name', base, 'busybox', 'true']);
    await ok('docker', ['commit', '--change', 'EXPOSE 80', base, image]);
    const name = `wt-publish-all-${cli}`;
    await runDetached(cli, name, ['-P', image, 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const c = await inspect(cli, name);
    const binding = c.NetworkSettings.Ports['80/tcp'];
    assert.equal(binding?.length, 1, JSON.stringify(c.NetworkSettings.Ports));
    const port = Number(binding![0].HostPort);
    const [first, last] = (await exec('cat', ['/proc/sys/net/ipv4/ip_local_port_range'])).stdout.trim().split(/\s+/).map(Number);
    assert.ok(port >= first && port <= last, `${port} in ${first}-${last}`);
    assert.equal(await fetchText(`http://127.0.0.1:${port}/hostname`), `${c.Config.Hostname}\n`);
  });

  test(`${cli}: NAT out: the Debian archive is reachable from a container`, async () => {
    const r = await d[cli](['run', '--rm', ...WGET, '-q', '-O', '/dev/null', 'http://deb.debian.org/debian/dists/bookworm/Release'], T);
    assert.equal(r.code, 0, r.stderr);
  });
}

test('a host port range whose first port another program holds: the engine passes it over for the next', async () => {
  for (const [cli, first] of [['docker', 18090], ['wharf', 18095]] as const) {
    servers.push(await bindPort('127.0.0.1', first));
    const name = `wt-range-${cli}`;
    await runDetached(cli, name, ['-p', `127.0.0.1:${first}-${first + 2}:80`, ...HTTPD]);
    const c = await inspect(cli, name);
    assert.deepEqual(c.NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(first + 1) }]);
    assert.equal(await fetchText(`http://127.0.0.1:${first + 1}/hostname`), `${c.Config.Hostname}\n`);
  }
});

test('a host port already taken: run fails with Docker\'s text and the container does not run', async () => {
  const held = await bindPort('127.0.0.1', 18083);
  servers.push(held);
  for (const cli of ['docker', 'wharf'] as const) {
    const name = `wt-taken-${cli}`;
    containers.add(name);
    const r = await d[cli](['run', '-d', '--name', name, '-p', '127.0.0.1:18083:80', ...HTTPD], T);
    assert.equal(r.code, 125, r.stderr);
    // Held by another program: Docker's proxy fails to listen, and says so.
    assert.match(r.stderr, /driver failed programming external connectivity on endpoint wt-taken-\w+ \(\w{64}\): Error starting userland proxy: listen tcp4 127\.0\.0\.1:18083: bind: address already in use/);
    assert.equal((await inspect(cli, name)).State.Running, false);
  }
  // Held by another container: Docker's "Bind for ... failed" text.
  await runDetached('docker', 'wt-holder', ['-p', '127.0.0.1:18084:80', ...HTTPD]);
  containers.add('wt-second');
  const second = await d.docker(['run', '-d', '--name', 'wt-second', '-p', '127.0.0.1:18084:80', ...HTTPD], T);
  assert.equal(second.code, 125);
  assert.match(second.stderr, /Bind for 127\.0\.0\.1:18084 failed: port is already allocated/);
  assert.equal(await fetchText('http://127.0.0.1:18084/hostname'), `${(await inspect('docker', 'wt-holder')).Config.Hostname}\n`);
});

/** The interfaces on the default bridge, to see that a removed container's veth went. */
async function bridgePorts(): Promise<string[]> {
  const r = await exec('ip', ['-j', 'link', 'show', 'master', testBridge(d.dir)]);
  return r.code === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname).sort() : [];
}

async function ruleset(): Promise<string> {
  const ipt = await exec('iptables-save', []);
  const nft = await exec('nft', ['list', 'ruleset']).catch(() => ({ stdout: '' }));
  return `${ipt.stdout}\n${nft.stdout}`;
}

test('kill -9 of wharfd while a container runs: its port still works after the restart, and rm leaves nothing', async () => {
  const name = 'wt-survivor';
  const before = await bridgePorts();
  await runDetached('docker', name, ['-p', '127.0.0.1:18085:80', ...HTTPD]);
  const c = await inspect('docker', name);
  const hostname = `${c.Config.Hostname}\n`;
  assert.equal(await fetchText('http://127.0.0.1:18085/hostname'), hostname);
  assert.ok(existsSync(c.NetworkSettings.SandboxKey), c.NetworkSettings.SandboxKey);

  await d.restart('SIGKILL');
  assert.equal(await fetchText('http://127.0.0.1:18085/hostname'), hostname);
  const again = await inspect('docker', name);
  assert.deepEqual([again.NetworkSettings.IPAddress, again.NetworkSettings.Ports, again.NetworkSettings.SandboxKey], [c.NetworkSettings.IPAddress, c.NetworkSettings.Ports, c.NetworkSettings.SandboxKey]);
  assert.equal(await ok('docker', ['port', name]), '80/tcp -> 127.0.0.1:18085\n');

  await ok('docker', ['rm', '-f', name]);
  containers.delete(name);
  assert.equal(existsSync(c.NetworkSettings.SandboxKey), false, 'the netns file is gone');
  assert.deepEqual(await bridgePorts(), before, 'no veth of it on the bridge');
  const rules = await ruleset();
  const ip = c.NetworkSettings.IPAddress.replaceAll('.', '\\.');
  assert.doesNotMatch(rules, new RegExp(`\\b${ip}\\b`), 'no rule for its address');
  assert.doesNotMatch(rules, /\b18085\b/, 'no rule for its port');
  servers.push(await bindPort('127.0.0.1', 18085));
});

test('--bridge none, as dockerd: no default network, loopback only on it, user networks still work, nothing left after', async () => {
  const off = await startDaemon(['--bridge', 'none']);
  try {
    const run = async (cli: 'docker' | 'wharf', args: string[]) => {
      const r = await off[cli](args, T);
      assert.equal(r.code, 0, `${cli} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.deepEqual((await run('docker', ['network', 'ls', '--format', '{{.Name}}'])).split('\n').filter(Boolean).sort(), ['host', 'none']);
    const missing = await off.docker(['network', 'inspect', 'bridge'], T);
    assert.deepEqual([missing.code, missing.stderr.trim()], [1, 'Error response from daemon: network bridge not found']);
    for (const cli of ['docker', 'wharf'] as const) {
      assert.equal((await run(cli, ['run', '--rm', 'busybox', 'sh', '-c', 'ls /sys/class/net'])).trim(), 'lo');
    }
    await run('docker', ['run', '-d', '--name', 'wt-nobridge', '-p', '127.0.0.1:18087:80', ...HTTPD]);
    const c = JSON.parse(await run('docker', ['inspect', 'wt-nobridge']))[0];
    assert.deepEqual([Object.keys(c.NetworkSettings.Networks), c.NetworkSettings.Networks.bridge.IPAddress, c.NetworkSettings.IPAddress], [['bridge'], '', '']);
    await run('docker', ['rm', '-f', 'wt-nobridge']);

    await run('docker', ['network', 'create', 'wt-nb-user']);
    const addr = await run('docker', ['run', '--rm', '--network', 'wt-nb-user', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0']);
    assert.match(addr, /^\d+: eth0\s+inet \d+\.\d+\.\d+\.\d+\/\d+ /);
    await run('docker', ['network', 'rm', 'wt-nb-user']);
  } finally {
    await off.stop();
  }
  assert.equal((await exec('ip', ['link', 'show', 'none'])).code, 1, 'no device named after "none"');
  assert.doesNotMatch(await ruleset(), /\bNONE-|wharf-none|"none:net=/i, 'no rule of the bridge-less daemon is left');
});
