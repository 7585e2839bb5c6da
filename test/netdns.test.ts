/**
 * Name resolution kept to its networks, with real lookups from inside containers and both CLIs:
 * aardvark-dns listens on every network's gateway, so a container that asks another network's
 * gateway must get nothing; a container only on `--internal` networks resolves its networks'
 * names but no outside name (internal networks have no way out, their DNS included), and gets
 * outside names again once connected to a network with a way out. Removing the networks leaves
 * none of the daemon's INPUT rules.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileDaemon, testBridge, type Cli, type TestDaemon } from './harness.js';

const files = fileDaemon();
const { containers, networks } = files.made;
let d: TestDaemon;
before(async () => {
  d = await files.start();
});

const T = { timeoutMs: 60_000 };
const ok = async (cli: Cli, args: string[]): Promise<string> => (await files.ok(cli, args)).trim();

async function network(cli: Cli, name: string, args: string[] = []): Promise<string> {
  networks.add(name);
  await ok(cli, ['network', 'create', ...args, name]);
  return ok(cli, ['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', name]);
}

async function run(cli: Cli, name: string, net: string): Promise<void> {
  containers.add(name);
  await ok(cli, ['run', '-d', '--name', name, '--network', net, 'busybox', 'sleep', '600']);
}

/**
 * The addresses busybox nslookup in `from` gets for `name` (from `server`, else from the
 * container's resolv.conf); undefined when it fails. `timeout` bounds a server that never answers.
 */
async function lookup(cli: Cli, from: string, name: string, server?: string): Promise<string[] | undefined> {
  const r = await d[cli](['exec', from, 'busybox', 'timeout', '5', 'nslookup', name, ...(server ? [server] : [])], T);
  if (r.code !== 0) return undefined;
  // busybox prints the server first ("Server: ... Address: <server>:53"), then the answers.
  const answers = r.stdout.split(/\n\s*\n/).slice(1).join('\n');
  const ips = [...answers.matchAll(/Address(?: \d+)?:\s*([\d.]+)/g)].map((m) => m[1]);
  return ips.length ? ips : undefined;
}

/** aardvark-dns rereads its files a moment after SIGHUP: ask a few times until it answers. */
async function resolves(cli: Cli, from: string, name: string, server?: string): Promise<string[] | undefined> {
  for (let i = 0; i < 10; i++) {
    const got = await lookup(cli, from, name, server);
    if (got) return got;
    await new Promise((r) => setTimeout(r, 300));
  }
  return undefined;
}

const ipOn = (cli: Cli, c: string, net: string) => ok(cli, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c]);

for (const cli of ['docker', 'wharf'] as const) {
  test(`${cli}: another network's gateway gives no names; an internal network resolves its names only`, async () => {
    const a = `wt-nd-a-${cli}`;
    const b = `wt-nd-b-${cli}`;
    const int = `wt-nd-int-${cli}`;
    const gwA = await network(cli, a);
    const gwB = await network(cli, b);
    await network(cli, int, ['--internal']);
    const [a1, a2, b1, i1, i2] = ['a1', 'a2', 'b1', 'i1', 'i2'].map((x) => `wt-nd-${x}-${cli}`);
    await run(cli, a1, a);
    await run(cli, a2, a);
    await run(cli, b1, b);
    await run(cli, i1, int);
    await run(cli, i2, int);

    const a2ip = await ipOn(cli, a2, a);
    const b1ip = await ipOn(cli, b1, b);
    assert.deepEqual(await resolves(cli, a1, a2), [a2ip], 'a name on its own network');
    assert.deepEqual(await resolves(cli, a1, a2, gwA), [a2ip], 'asked at its own gateway');
    assert.deepEqual(await resolves(cli, b1, b1, gwB), [b1ip], "B's name server works for B");
    // The gateway of B is an address of the host, reachable from A through A's gateway: the
    // firewall must refuse A's query there, or aardvark-dns would answer it with B's names.
    assert.equal(await lookup(cli, a1, b1, gwB), undefined, "B's name asked at B's gateway from A");
    assert.equal(await lookup(cli, a1, 'deb.debian.org', gwB), undefined, "an outside name asked at B's gateway from A");
    assert.ok(await resolves(cli, a1, 'deb.debian.org'), 'an outside name from A through its own gateway');

    const i2ip = await ipOn(cli, i2, int);
    assert.deepEqual(await resolves(cli, i1, i2), [i2ip], 'a name on the internal network');
    assert.equal(await lookup(cli, i1, 'deb.debian.org'), undefined, 'an outside name from an internal network');
    // Connected to a network with a way out, the same container gets outside names again.
    await ok(cli, ['network', 'connect', a, i1]);
    assert.ok(await resolves(cli, i1, 'deb.debian.org'), 'an outside name once connected to A');
    assert.deepEqual(await resolves(cli, i1, i2), [i2ip], 'the internal name still');
    await ok(cli, ['network', 'disconnect', a, i1]);
    let leaked = true;
    for (let i = 0; i < 10 && leaked; i++) {
      leaked = (await lookup(cli, i1, 'deb.debian.org')) !== undefined;
      if (leaked) await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(leaked, false, 'an outside name after the disconnect');

    await ok(cli, ['rm', '-f', a1, a2, b1, i1, i2]);
    for (const c of [a1, a2, b1, i1, i2]) containers.delete(c);
    for (const n of [a, b, int]) {
      await ok(cli, ['network', 'rm', n]);
      networks.delete(n);
    }
  });
}

test('a link on a user network names its target by the alias, for a target started later and after a reconnect', async () => {
  const net = 'wt-nd-links';
  await network('docker', net);
  const [app, app2, db] = ['wt-nd-app', 'wt-nd-app2', 'wt-nd-db'];
  containers.add(app);
  await ok('docker', ['run', '-d', '--name', app, '--network', net, '--link', `${db}:store`, 'busybox', 'sleep', '600']);
  assert.equal(await ok('docker', ['inspect', '-f', `{{json (index .NetworkSettings.Networks "${net}").Links}}`, app]), `["${db}:store"]`);
  await run('docker', app2, net);
  await ok('wharf', ['network', 'disconnect', net, app2]);
  await ok('wharf', ['network', 'connect', '--link', `${db}:cache`, net, app2]);
  await run('docker', db, net);
  const dbIp = await ipOn('docker', db, net);
  assert.deepEqual(await resolves('docker', app, 'store'), [dbIp], 'the alias of run --link');
  assert.deepEqual(await resolves('wharf', app2, 'cache'), [dbIp], 'the alias of network connect --link');
  await ok('docker', ['rm', '-f', app, app2, db]);
  for (const c of [app, app2, db]) containers.delete(c);
  await ok('docker', ['network', 'rm', net]);
  networks.delete(net);
});

test('a container of the default bridge connected to a user network resolves its names from then on, the outside too, and keeps --dns behind it', async () => {
  const net = 'wt-nd-late';
  const gw = await network('docker', net);
  const [web, plain, withDns] = ['wt-nd-web', 'wt-nd-plain', 'wt-nd-dns'];
  await run('docker', web, net);
  await run('docker', plain, 'bridge');
  containers.add(withDns);
  await ok('docker', ['run', '-d', '--name', withDns, '--dns', '192.0.2.53', 'busybox', 'sleep', '600']);
  const before = await ok('docker', ['exec', plain, 'cat', '/etc/resolv.conf']);
  assert.doesNotMatch(before, new RegExp(`nameserver ${gw.replace(/\./g, '\\.')}`));
  assert.equal(await lookup('docker', plain, web), undefined, 'not resolvable before the connect');
  await ok('docker', ['network', 'connect', net, plain]);
  await ok('wharf', ['network', 'connect', net, withDns]);
  const webIp = await ipOn('docker', web, net);
  assert.deepEqual(await resolves('docker', plain, web), [webIp]);
  assert.deepEqual(await resolves('wharf', withDns, web), [webIp]);
  assert.match(await ok('docker', ['exec', plain, 'cat', '/etc/resolv.conf']), new RegExp(`^nameserver ${gw}(\n|$)`));
  assert.match(await ok('docker', ['exec', withDns, 'cat', '/etc/resolv.conf']), new RegExp(`^nameserver ${gw}\nnameserver 192\\.0\\.2\\.53(\n|$)`));
  // The name server forwards what is not the network's, as the host's servers did before.
  const hostHas = spawnSync('getent', ['hosts', 'deb.debian.org'], { encoding: 'utf8' }).status === 0;
  if (hostHas) assert.ok(await resolves('docker', plain, 'deb.debian.org'), 'an outside name through the network\'s name server');
  // Its /etc/hosts names it at its address on the network while it is connected, as Docker's does.
  const plainIp = await ipOn('docker', plain, net);
  const ownLine = new RegExp(`^${plainIp.replace(/\./g, '\\.')}\t[0-9a-f]{12}$`, 'm');
  assert.match(await ok('docker', ['exec', plain, 'cat', '/etc/hosts']), ownLine);
  await ok('wharf', ['network', 'disconnect', net, plain]);
  assert.doesNotMatch(await ok('docker', ['exec', plain, 'cat', '/etc/hosts']), ownLine);
  // The network's gateway is out of its reach now: the host's servers again.
  assert.equal(await ok('docker', ['exec', plain, 'cat', '/etc/resolv.conf']), before);
  await ok('docker', ['rm', '-f', web, plain, withDns]);
  for (const c of [web, plain, withDns]) containers.delete(c);
  await ok('docker', ['network', 'rm', net]);
  networks.delete(net);
});

test('a container that leaves its first user network still resolves the names of the one it joined later', async () => {
  const [n1, n2] = ['wt-nd-first', 'wt-nd-second'];
  const gw1 = await network('docker', n1);
  const gw2 = await network('docker', n2);
  const [mover, peer] = ['wt-nd-mover', 'wt-nd-peer'];
  await run('docker', mover, n1);
  await run('docker', peer, n2);
  await ok('docker', ['network', 'connect', n2, mover]);
  assert.deepEqual(await resolves('docker', mover, peer), [await ipOn('docker', peer, n2)]);
  assert.match(await ok('docker', ['exec', mover, 'cat', '/etc/resolv.conf']), new RegExp(`^nameserver ${gw1}\nnameserver ${gw2}(\n|$)`));
  await ok('docker', ['network', 'disconnect', n1, mover]);
  // busybox asks the first server alone: the left network's gateway would answer nothing.
  assert.match(await ok('docker', ['exec', mover, 'cat', '/etc/resolv.conf']), new RegExp(`^nameserver ${gw2}(\n|$)`));
  assert.deepEqual(await resolves('docker', mover, peer), [await ipOn('docker', peer, n2)]);
  await ok('docker', ['rm', '-f', mover, peer]);
  for (const c of [mover, peer]) containers.delete(c);
  for (const n of [n1, n2]) {
    await ok('docker', ['network', 'rm', n]);
    networks.delete(n);
  }
});

test('no INPUT rule of the daemon is left once its user networks are gone', () => {
  // Only the default bridge is left: its own four DNS rules per protocol pair, nothing else.
  const tag = testBridge(d.dir).toLowerCase().replace(/[^a-z0-9]/g, '');
  const saved = spawnSync('iptables-save', ['-t', 'filter'], { encoding: 'utf8' }).stdout.split('\n');
  const mine = saved.filter((l) => l.includes(`${tag}:net=`) && l.startsWith(`-A ${tag.toUpperCase()}-INPUT `));
  assert.equal(mine.length, 6, mine.join('\n'));
  assert.equal(new Set(mine.map((l) => /--comment "?([^" ]+)/.exec(l)?.[1])).size, 1, 'rules of one network only');
});
