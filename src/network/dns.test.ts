// NameServer against the real aardvark-dns (root): two bridges with a namespace each, names
// asked with busybox nslookup from inside the namespaces. Devices, namespaces and iptables rules
// carry this run's tag; the `after` hook removes them and ends the aardvark-dns it saw, by pid,
// also when a test failed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runChecked } from '../util/index.js';
import { AARDVARK_DNS, NO_FORWARD_DNS, NameServer, configText, dnsNameservers, type DnsNetwork } from './dns.js';
import { chainsFor, networkRules } from './_firewall.js';
import { resolvConfContent } from './hostfiles.js';

const root = process.getuid?.() === 0;
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));
const canRun = root && existsSync(AARDVARK_DNS) && BUSYBOX !== undefined;
const TAG = `wtd${randomBytes(3).toString('hex')}`;
const hex64 = () => randomBytes(32).toString('hex');

describe('configText and the name servers', () => {
  const net: DnsNetwork = { name: 'front', id: hex64(), gateway: '10.89.0.1', internal: false };

  test('one line per container after the gateway, the IPv6 column empty', () => {
    const text = configText(net, [
      { containerId: 'a'.repeat(64), names: ['/web', 'web', 'www', 'bad name'], ip: '10.89.0.2' },
      { containerId: 'b'.repeat(64), names: [], ip: '10.89.0.3' },
    ]);
    assert.equal(text, `10.89.0.1\n${'a'.repeat(64)} 10.89.0.2  web,www\n`);
    assert.equal(configText(net, []), '');
  });

  test('resolv.conf: the gateway first, the host search and options kept', () => {
    const host = 'nameserver 10.255.255.53\nsearch example.org\noptions edns0\n';
    const conf = (gateways: string[], dns?: string[], dnsSearch?: string[]) => resolvConfContent({ hostNetwork: false, hostResolvConf: host, dns: dnsNameservers(gateways, dns), dnsSearch });
    assert.equal(conf(['10.89.0.1']), 'nameserver 10.89.0.1\nsearch example.org\noptions edns0\n');
    assert.equal(
      conf(['10.89.0.1', '10.89.1.1'], ['9.9.9.9', '1.1.1.1'], ['.']),
      'nameserver 10.89.0.1\nnameserver 10.89.1.1\nnameserver 9.9.9.9\noptions edns0\n',
    );
  });

  test('a container without a way out names the refused upstream in the fifth column', () => {
    const text = configText(net, [
      { containerId: 'a'.repeat(64), names: ['web'], ip: '10.89.0.2', forward: false },
      { containerId: 'b'.repeat(64), names: ['db'], ip: '10.89.0.3', forward: true },
    ]);
    assert.equal(text, `10.89.0.1\n${'a'.repeat(64)} 10.89.0.2  web ${NO_FORWARD_DNS}\n${'b'.repeat(64)} 10.89.0.3  db\n`);
  });
});

describe('NameServer with aardvark-dns', { skip: !canRun && 'needs root, aardvark-dns and busybox' }, () => {
  let dir = '';
  let configDir = '';
  const pids = new Set<number>();
  const nets: (DnsNetwork & { bridge: string; ns: string; ip: string })[] = [];
  const ip = (...args: string[]) => runChecked('ip', args);

  // Two /24s in 10.233.0.0/16 that no host route touches.
  async function freeSubnets(): Promise<number[]> {
    const routes = await runChecked('ip', ['-4', 'route', 'show', 'table', 'all']);
    const out: number[] = [];
    for (let x = 200; x < 255 && out.length < 2; x++) if (!routes.includes(`10.233.${x}.`)) out.push(x);
    assert.equal(out.length, 2, 'no free 10.233.x.0/24 left');
    return out;
  }

  /** The addresses `name` resolves to from namespace `ns`; [] for NXDOMAIN or no answer. */
  async function lookup(ns: string, name: string, server: string): Promise<string[]> {
    const r = await run('timeout', ['5', 'ip', 'netns', 'exec', ns, BUSYBOX!, 'nslookup', '-type=a', name, server]);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => /^Name:\s/.test(l));
    if (at < 0) return [];
    return lines.slice(at + 1).flatMap((l) => /^Address:\s*(\S+)/.exec(l)?.[1] ?? []);
  }

  /** aardvark-dns rereads its files a moment after SIGHUP: ask until the answer is `want`. */
  async function expectLookup(ns: string, name: string, server: string, want: string[]): Promise<void> {
    let got: string[] = [];
    for (let i = 0; i < 30; i++) {
      got = await lookup(ns, name, server);
      if (JSON.stringify(got) === JSON.stringify(want)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(got, want, `${name} asked from ${ns} at ${server}`);
  }

  // A zombie counts as gone: who reaps it (pid 1 or a subreaper) is no business of the server's.
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  const track = (ns: NameServer) => {
    if (ns.pid !== undefined) pids.add(ns.pid);
    return ns;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `${TAG}-`));
    configDir = join(dir, 'dns');
    const subnets = await freeSubnets();
    for (const [i, x] of subnets.entries()) {
      const n = { name: `${TAG}-net${i}`, id: hex64(), gateway: `10.233.${x}.1`, internal: false, bridge: `${TAG}b${i}`, ns: `${TAG}n${i}`, ip: `10.233.${x}.2` };
      nets.push(n);
      await ip('link', 'add', n.bridge, 'type', 'bridge');
      await ip('addr', 'add', `${n.gateway}/24`, 'dev', n.bridge);
      await ip('link', 'set', n.bridge, 'up');
      await ip('netns', 'add', n.ns);
      await ip('link', 'add', `${TAG}v${i}`, 'type', 'veth', 'peer', 'name', `${TAG}p${i}`);
      await ip('link', 'set', `${TAG}v${i}`, 'master', n.bridge, 'up');
      await ip('link', 'set', `${TAG}p${i}`, 'netns', n.ns);
      await ip('-n', n.ns, 'addr', 'add', `${n.ip}/24`, 'dev', `${TAG}p${i}`);
      await ip('-n', n.ns, 'link', 'set', `${TAG}p${i}`, 'up');
      await ip('-n', n.ns, 'link', 'set', 'lo', 'up');
      await ip('-n', n.ns, 'route', 'add', 'default', 'via', n.gateway);
    }
  });

  after(async () => {
    try {
      const pidFile = join(configDir, 'aardvark.pid');
      if (existsSync(pidFile)) pids.add(Number(readFileSync(pidFile, 'utf8').trim()));
    } catch {
      // nothing to add
    }
    for (const pid of pids) {
      // Only an aardvark-dns of this run's directory: the pid may have been reused meanwhile.
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes('aardvark-dns') && cmd.includes(configDir)) process.kill(pid, 'SIGKILL');
    }
    const saved = await run('iptables-save', ['-t', 'filter']);
    for (const line of saved.stdout.split('\n')) {
      if (line.startsWith('-A INPUT') && line.includes(TAG)) await run('sh', ['-c', `iptables -t filter ${line.replace(/^-A/, '-D')}`]);
    }
    for (const [i, n] of nets.entries()) {
      await run('ip', ['netns', 'del', n.ns]);
      await run('ip', ['link', 'del', `${TAG}v${i}`]);
      await run('ip', ['link', 'del', n.bridge]);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('names and aliases resolve on their network only; other names are forwarded', async () => {
    const [a, b] = nets;
    const dns = new NameServer({ configDir, logFile: join(dir, 'aardvark.log') });
    assert.equal(await dns.init(), undefined);
    await dns.update(a!, [{ containerId: 'a'.repeat(64), names: ['web', 'webalias', 'frontend'], ip: a!.ip }]);
    track(dns);
    await dns.update(b!, [{ containerId: 'b'.repeat(64), names: ['db'], ip: b!.ip }]);
    assert.equal(track(dns).pid, Number((await readFile(join(configDir, 'aardvark.pid'), 'utf8')).trim()), 'one server for both networks');
    await expectLookup(a!.ns, 'web', a!.gateway, [a!.ip]);
    await expectLookup(a!.ns, 'webalias', a!.gateway, [a!.ip]);
    await expectLookup(b!.ns, 'db', b!.gateway, [b!.ip]);
    await expectLookup(a!.ns, 'db', a!.gateway, []);
    await expectLookup(b!.ns, 'web', b!.gateway, []);
    const outside = await lookup(a!.ns, 'deb.debian.org', a!.gateway);
    assert.ok(outside.length > 0, 'deb.debian.org forwarded to the host resolvers');
  });

  test("another network's gateway answers with its names unless the INPUT rules are there", async () => {
    const [a, b] = nets;
    // The host listens on every gateway; aardvark-dns answers a stranger with the names of the
    // network whose address it asked.
    await expectLookup(a!.ns, 'db', b!.gateway, [b!.ip]);
    // The bridge driver's INPUT rules for each network, put straight into INPUT here.
    for (const n of nets) {
      const rules = networkRules(TAG, { ...n, subnet: `${n.gateway.replace(/\.1$/, '.0')}/24`, icc: true, masquerade: true, mtu: 0 }).filter((r) => r.chain === chainsFor(TAG).input);
      for (const r of rules.reverse()) await runChecked('iptables', ['-t', 'filter', '-I', 'INPUT', ...r.spec.split(' ')]);
    }
    await expectLookup(a!.ns, 'db', b!.gateway, []);
    await expectLookup(a!.ns, 'web', a!.gateway, [a!.ip]);
    await expectLookup(b!.ns, 'db', b!.gateway, [b!.ip]);
  });

  test('a container that may not forward gets its networks\' names and no outside names', async () => {
    const [a] = nets;
    const rule = networkRules(TAG, { ...a!, subnet: '10.0.0.0/24', internal: true, icc: true, masquerade: false, mtu: 0 }).filter((r) => r.spec.startsWith(`-d ${NO_FORWARD_DNS}/32`));
    assert.equal(rule.length, 2);
    for (const r of rule) await runChecked('iptables', ['-t', 'filter', '-I', 'INPUT', ...r.spec.split(' ')]);
    const dns = track(new NameServer({ configDir }));
    await dns.init();
    await dns.update(a!, [{ containerId: 'a'.repeat(64), names: ['web'], ip: a!.ip, forward: false }]);
    track(dns);
    await expectLookup(a!.ns, 'web', a!.gateway, [a!.ip]);
    assert.deepEqual(await lookup(a!.ns, 'deb.debian.org', a!.gateway), [], 'an outside name resolves');
    await dns.update(a!, [{ containerId: 'a'.repeat(64), names: ['web'], ip: a!.ip }]);
    let outside: string[] = [];
    for (let i = 0; i < 30 && outside.length === 0; i++) outside = await lookup(a!.ns, 'deb.debian.org', a!.gateway);
    assert.ok(outside.length > 0, 'forwarded again once allowed');
  });

  test('a container taken out of the list stops resolving', async () => {
    const [a] = nets;
    const dns = track(new NameServer({ configDir }));
    await dns.init();
    await dns.update(a!, [{ containerId: 'a'.repeat(64), names: ['web'], ip: a!.ip }]);
    await expectLookup(a!.ns, 'web', a!.gateway, [a!.ip]);
    await expectLookup(a!.ns, 'webalias', a!.gateway, []);
    await dns.update(a!, [{ containerId: 'a'.repeat(64), names: ['web', 'webalias'], ip: a!.ip }]);
    await expectLookup(a!.ns, 'webalias', a!.gateway, [a!.ip]);
  });

  test('an update that changes nothing, also from a restarted daemon, leaves the file alone and reloads nothing', async () => {
    const [a] = nets;
    const dns = track(new NameServer({ configDir }));
    await dns.init();
    const entries = [{ containerId: 'a'.repeat(64), names: ['web'], ip: a!.ip }];
    await dns.update(a!, entries);
    const file = join(configDir, a!.name);
    const inode = () => statSync(file).ino;
    const first = inode();
    await dns.update(a!, entries);
    assert.equal(inode(), first, 'the same records: not rewritten');
    const restarted = track(new NameServer({ configDir }));
    await restarted.init();
    await restarted.update(a!, entries);
    assert.equal(inode(), first, 'a restarted daemon with the same records: not rewritten');
    await restarted.update(a!, [...entries, { containerId: 'c'.repeat(64), names: ['cache'], ip: a!.ip.replace(/\d+$/, '99') }]);
    assert.notEqual(inode(), first, 'new records: rewritten');
    await expectLookup(a!.ns, 'cache', a!.gateway, [a!.ip.replace(/\d+$/, '99')]);
  });

  test('resolution outlives a killed daemon, and a new NameServer adopts the running server', async () => {
    const [a, b] = nets;
    await new NameServer({ configDir }).stop();
    // A daemon of its own starts the server and dies by SIGKILL, as wharfd may.
    const script = `
      const { NameServer } = await import(${JSON.stringify(new URL('./dns.js', import.meta.url).href)});
      const dns = new NameServer({ configDir: process.argv[1] });
      await dns.update(JSON.parse(process.argv[2]), JSON.parse(process.argv[3]));
      console.log(dns.pid);
      setInterval(() => {}, 1000);`;
    const entries = [{ containerId: 'a'.repeat(64), names: ['web'], ip: a!.ip }];
    const daemon = spawn(process.execPath, ['--input-type=module', '-e', script, configDir, JSON.stringify(a), JSON.stringify(entries)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((res, rej) => {
      let out = '';
      daemon.stdout!.on('data', (d: Buffer) => {
        out += d;
        if (out.includes('\n')) res(Number(out.trim()));
      });
      daemon.once('exit', (code) => rej(new Error(`daemon exited with ${code} before starting aardvark-dns`)));
    });
    pids.add(pid);
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon.once('exit', r));
    assert.ok(alive(pid), 'aardvark-dns outlives its daemon');
    await expectLookup(a!.ns, 'web', a!.gateway, [a!.ip]);

    const again = track(new NameServer({ configDir }));
    assert.equal(await again.init(), pid, 'adopted, not started anew');
    await again.update(b!, [{ containerId: 'b'.repeat(64), names: ['db', 'database'], ip: b!.ip }]);
    assert.equal(again.pid, pid);
    await expectLookup(b!.ns, 'database', b!.gateway, [b!.ip]);
    await expectLookup(a!.ns, 'web', a!.gateway, [a!.ip]);
    await again.update(a!, []);
    assert.equal(existsSync(join(configDir, a!.name)), false);
    await expectLookup(a!.ns, 'web', a!.gateway, []);
    await expectLookup(b!.ns, 'db', b!.gateway, [b!.ip]);
  });

  test('removing the last network ends the server; an update starts it again', async () => {
    const [a, b] = nets;
    const dns = track(new NameServer({ configDir }));
    const pid = await dns.init();
    assert.ok(pid);
    await dns.update(b!, []);
    assert.equal(dns.pid, undefined);
    assert.equal(alive(pid), false, 'server ended');
    assert.equal(existsSync(join(configDir, 'aardvark.pid')), false);
    await dns.update(a!, [{ containerId: 'a'.repeat(64), names: ['web'], ip: a!.ip }]);
    track(dns);
    assert.notEqual(dns.pid, undefined);
    await expectLookup(a!.ns, 'web', a!.gateway, [a!.ip]);
    const last = dns.pid!;
    await dns.stop();
    assert.equal(alive(last), false, 'server ended');
    assert.deepEqual((await run('ls', ['-A', configDir])).stdout, '');
  });
});
