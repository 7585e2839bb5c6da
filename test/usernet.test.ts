/**
 * User-defined bridge networks with real traffic, with both CLIs: two containers on one network
 * reach each other, one on another network cannot, one connected to both reaches both (and
 * stops reaching one after a disconnect), an `--internal` network has no way out, `network rm`
 * of a network in use answers Docker's text, and removing everything leaves no bridge.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileDaemon, type Cli, type TestDaemon } from './harness.js';

const files = fileDaemon();
const { containers, networks } = files.made;
let d: TestDaemon;
before(async () => {
  d = await files.start();
});

const T = { timeoutMs: 60_000 };
const ok = async (cli: Cli, args: string[]): Promise<string> => (await files.ok(cli, args)).trim();

async function network(cli: Cli, name: string, args: string[] = []): Promise<{ id: string; gateway: string; bridge: string }> {
  networks.add(name);
  const id = await ok(cli, ['network', 'create', ...args, name]);
  const [n] = JSON.parse(await ok(cli, ['network', 'inspect', name])) as { Id: string; IPAM: { Config: { Gateway: string }[] }; Options: Record<string, string> }[];
  assert.equal(n.Id, id);
  return { id, gateway: n.IPAM.Config[0].Gateway, bridge: n.Options['com.docker.network.bridge.name'] ?? `br-${id.slice(0, 12)}` };
}

async function run(cli: Cli, name: string, args: string[]): Promise<void> {
  containers.add(name);
  await ok(cli, ['run', '-d', '--name', name, ...args]);
}

async function ipOn(cli: Cli, name: string, net: string): Promise<string> {
  return ok(cli, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name]);
}

/** Whether `from` gets an answer from http://ip/ within a few seconds (busybox wget, bounded by timeout). */
async function reaches(cli: Cli, from: string, ip: string, tries = 1): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const r = await d[cli](['exec', from, 'busybox', 'timeout', '3', 'wget', '-q', '-O', '-', `http://${ip}/hostname`], T);
    if (r.code === 0) return true;
    if (i + 1 < tries) await new Promise((res) => setTimeout(res, 300));
  }
  return false;
}

const HTTPD = ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'];
const SLEEP = ['busybox', 'sleep', '600'];

for (const cli of ['docker', 'wharf'] as const) {
  test(`${cli}: isolation between user networks, connect/disconnect on a running container, --internal, rm in use`, async () => {
    const a = `wt-una-${cli}`;
    const b = `wt-unb-${cli}`;
    const int = `wt-unint-${cli}`;
    const na = await network(cli, a, ['--label', 'wt=1']);
    const nb = await network(cli, b);
    await network(cli, int, ['--internal']);
    const srvA = `wt-un-srva-${cli}`;
    const srvB = `wt-un-srvb-${cli}`;
    const cliA = `wt-un-clia-${cli}`;
    const inside = `wt-un-int-${cli}`;
    await run(cli, srvA, ['--network', a, '--network-alias', 'web', 'busybox', ...HTTPD]);
    await run(cli, srvB, ['--network', b, 'busybox', ...HTTPD]);
    await run(cli, cliA, ['--network', a, 'busybox', ...SLEEP]);
    const ipA = await ipOn(cli, srvA, a);
    const ipB = await ipOn(cli, srvB, b);
    assert.ok(ipA && ipB, `addresses ${ipA} ${ipB}`);

    assert.equal(await reaches(cli, cliA, ipA, 20), true, 'same network');
    assert.equal(await reaches(cli, cliA, ipB), false, 'another network');

    await ok(cli, ['network', 'connect', b, cliA]);
    const [insp] = JSON.parse(await ok(cli, ['inspect', cliA])) as { NetworkSettings: { Networks: Record<string, { NetworkID: string; Aliases: string[] | null }> } }[];
    assert.deepEqual(Object.keys(insp.NetworkSettings.Networks).sort(), [a, b].sort());
    assert.equal(insp.NetworkSettings.Networks[b].NetworkID, nb.id);
    assert.equal(await reaches(cli, cliA, ipB, 10), true, 'connected to both');
    assert.equal(await reaches(cli, cliA, ipA), true, 'still the first');
    const twice = await d[cli](['network', 'connect', b, cliA], T);
    assert.equal(twice.stderr, `Error response from daemon: endpoint with name ${cliA} already exists in network ${b}\n`);

    await ok(cli, ['network', 'disconnect', b, cliA]);
    assert.equal(await reaches(cli, cliA, ipB), false, 'after disconnect');
    const notOn = await d[cli](['network', 'disconnect', b, cliA], T);
    assert.match(notOn.stderr, new RegExp(`^Error response from daemon: container \\w+ is not connected to network ${b}\\n$`));

    const [netA] = JSON.parse(await ok(cli, ['network', 'inspect', a])) as { Containers: Record<string, { Name: string; IPv4Address: string }>; Labels: Record<string, string> }[];
    assert.deepEqual(Object.values(netA.Containers).map((c) => c.Name).sort(), [cliA, srvA].sort());
    assert.ok(Object.values(netA.Containers).some((c) => c.IPv4Address.startsWith(`${ipA}/`)));
    assert.deepEqual(netA.Labels, { wt: '1' });
    assert.equal(await ok(cli, ['ps', '-q', '--no-trunc', '--filter', `network=${b}`]), (await ok(cli, ['inspect', '-f', '{{.Id}}', srvB])));

    // No way out of an internal network: neither another network's gateway nor the outside.
    await run(cli, inside, ['--network', int, 'busybox', ...SLEEP]);
    assert.equal(await reaches(cli, inside, na.gateway), false, 'internal to a gateway');
    const out = await d[cli](['exec', inside, 'busybox', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://151.101.2.132/'], T);
    assert.notEqual(out.code, 0, 'internal to the outside');

    const busy = await d[cli](['network', 'rm', a], T);
    assert.equal(busy.code, 1);
    // docker's `network rm` adds the exit status (the wharf CLI says it as docker does).
    assert.equal(busy.stderr, `Error response from daemon: error while removing network: network ${a} id ${na.id} has active endpoints\nexit status 1\n`);

    await ok(cli, ['rm', '-f', srvA, srvB, cliA, inside]);
    for (const n of [a, b, int]) {
      await ok(cli, ['network', 'rm', n]);
      networks.delete(n);
    }
    for (const c of [srvA, srvB, cliA, inside]) containers.delete(c);
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    for (const br of [na.bridge, nb.bridge]) assert.equal(links.includes(`${br}:`), false, `${br} left behind`);
  });
}

test('docker: create-time errors in Docker\'s words', async () => {
  const r = await d.docker(['run', '--rm', '--network', 'wt-un-nope', 'busybox', 'true'], T);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /network wt-un-nope not found/);
  const net = 'wt-un-sub';
  await network('docker', net, ['--subnet', '10.248.0.0/24', '--ip-range', '10.248.0.128/25']);
  const outside = await d.docker(['run', '--rm', '--network', net, '--ip', '10.248.0.5', 'busybox', 'true'], T);
  assert.match(outside.stderr, /no configured subnet or ip-range contain the IP address 10\.248\.0\.5/);
  const dup = await d.docker(['network', 'create', net], T);
  assert.equal(dup.stderr, `Error response from daemon: network with name ${net} already exists\n`);
  const overlap = await d.docker(['network', 'create', '--subnet', '10.248.0.0/16', 'wt-un-over'], T);
  assert.equal(overlap.stderr, 'Error response from daemon: Pool overlaps with other one on this address space\n');
  await ok('docker', ['network', 'rm', net]);
  networks.delete(net);
});

test('wharf: a stopped container connected is attached at its next start, also after a daemon restart; addresses from the IP range', async () => {
  const a = 'wt-un-stopa';
  const b = 'wt-un-stopb';
  await network('wharf', a, ['--subnet', '10.248.10.0/24', '--ip-range', '10.248.10.128/25']);
  await network('docker', b);
  const c = 'wt-un-stopped';
  containers.add(c);
  await ok('wharf', ['create', '--name', c, '--network', a, 'busybox', ...SLEEP]);
  await ok('docker', ['network', 'connect', '--alias', 'cache', b, c]);
  const [created] = JSON.parse(await ok('docker', ['inspect', c])) as { NetworkSettings: { Networks: Record<string, unknown> } }[];
  assert.deepEqual(Object.keys(created.NetworkSettings.Networks).sort(), [a, b].sort());
  await d.restart();
  await ok('docker', ['start', c]);
  assert.equal(await ipOn('docker', c, a), '10.248.10.129');
  const [running] = JSON.parse(await ok('docker', ['inspect', c])) as { NetworkSettings: { Networks: Record<string, { IPAddress: string; Aliases: string[] }> } }[];
  assert.ok(running.NetworkSettings.Networks[b].IPAddress);
  assert.ok(running.NetworkSettings.Networks[b].Aliases.includes('cache'));
  const ifaces = await ok('docker', ['exec', c, 'busybox', 'ip', '-o', 'addr', 'show']);
  assert.match(ifaces, /eth0\s+inet 10\.248\.10\.129\/24/);
  assert.match(ifaces, /eth1\s+inet /);
  await ok('docker', ['stop', '-t', '0', c]);
  await ok('docker', ['network', 'disconnect', b, c]);
  await ok('docker', ['start', c]);
  assert.deepEqual(Object.keys((JSON.parse(await ok('docker', ['inspect', c])) as { NetworkSettings: { Networks: object } }[])[0].NetworkSettings.Networks), [a]);
  await ok('docker', ['rm', '-f', c]);
  containers.delete(c);
  for (const n of [a, b]) {
    await ok('docker', ['network', 'rm', n]);
    networks.delete(n);
  }
});

/** What busybox nslookup in `from` answers for `name`: the addresses, or undefined when it fails. */
async function lookup(cli: Cli, from: string, name: string): Promise<string[] | undefined> {
  const r = await d[cli](['exec', from, 'busybox', 'timeout', '5', 'nslookup', name], T);
  if (r.code !== 0) return undefined;
  // busybox prints the server first ("Server: ... Address: <server>:53"), then the answers.
  const answers = r.stdout.split(/\n\s*\n/).slice(1).join('\n');
  return [...answers.matchAll(/Address(?: \d+)?:\s*([\d.]+)/g)].map((m) => m[1]);
}

for (const cli of ['docker', 'wharf'] as const) {
  test(`${cli}: names resolve on their own network only, aliases too, and still while wharfd is down`, async () => {
    const a = `wt-dns-a-${cli}`;
    const b = `wt-dns-b-${cli}`;
    await network(cli, a);
    await network(cli, b);
    await run(cli, `wt-db-${cli}`, ['--network', a, '--network-alias', 'database', 'busybox', 'sleep', '300']);
    await run(cli, `wt-web-${cli}`, ['--network', a, 'busybox', 'sleep', '300']);
    await run(cli, `wt-other-${cli}`, ['--network', b, 'busybox', 'sleep', '300']);
    const dbIp = await ipOn(cli, `wt-db-${cli}`, a);
    const id = (await ok(cli, ['inspect', '-f', '{{.Id}}', `wt-db-${cli}`])).slice(0, 12);
    for (const name of [`wt-db-${cli}`, 'database', id]) assert.deepEqual(await lookup(cli, `wt-web-${cli}`, name), [dbIp], name);
    assert.equal(await lookup(cli, `wt-other-${cli}`, `wt-db-${cli}`), undefined, 'a name from another network resolves');
    // The outside keeps resolving through the host's resolvers.
    assert.ok((await lookup(cli, `wt-web-${cli}`, 'deb.debian.org'))?.length, 'an outside name does not resolve');
    if (cli === 'docker') {
      // wharfd killed and not yet back: ask from the container's own network namespace.
      const sandbox = await ok(cli, ['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', `wt-web-${cli}`]);
      const gateway = await ok(cli, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${a}").Gateway}}`, `wt-web-${cli}`]);
      d.proc.kill('SIGKILL');
      await new Promise((r) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? r(null) : d.proc.once('exit', r)));
      const down = spawnSync('nsenter', [`--net=${sandbox}`, 'busybox', 'timeout', '5', 'nslookup', 'database', gateway], { encoding: 'utf8' });
      assert.equal(down.status, 0, down.stderr);
      assert.match(down.stdout.split(/\n\s*\n/).slice(1).join('\n'), new RegExp(`Address(?: 1)?:\\s*${dbIp.replace(/\./g, '\\.')}`));
      await d.restart('SIGKILL');
      assert.deepEqual(await lookup(cli, `wt-web-${cli}`, 'database'), [dbIp], 'after the restart');
    }
  });
}

test('network ls filters (name, id prefix, driver, type) and the endpoint\'s requested IPAMConfig in inspect, both CLIs', async () => {
  for (const cli of ['docker', 'wharf'] as const) {
    const name = `lsf-${cli}`;
    const { id } = await network(cli, name, ['--subnet', cli === 'docker' ? '10.231.251.0/24' : '10.231.252.0/24']);
    assert.equal(await ok(cli, ['network', 'ls', '-q', '--no-trunc', '--filter', `name=${name}`]), id);
    assert.equal(await ok(cli, ['network', 'ls', '-q', '--no-trunc', '--filter', `id=${id.slice(0, 8)}`]), id);
    const custom = (await ok(cli, ['network', 'ls', '--format', '{{.Name}}', '--filter', 'type=custom'])).split('\n');
    assert.ok(custom.includes(name) && !custom.includes('bridge') && !custom.includes('host'), custom.join(','));
    assert.deepEqual((await ok(cli, ['network', 'ls', '--format', '{{.Name}}', '--filter', 'driver=host'])).split('\n'), ['host']);
    const ip = cli === 'docker' ? '10.231.251.9' : '10.231.252.9';
    containers.add(`ipam-${cli}`);
    await ok(cli, ['run', '-d', '--name', `ipam-${cli}`, '--network', name, '--ip', ip, 'busybox', 'sleep', '300']);
    const cfg = JSON.parse(await ok(cli, ['inspect', '-f', `{{json (index .NetworkSettings.Networks "${name}").IPAMConfig}}`, `ipam-${cli}`]));
    assert.equal(cfg.IPv4Address, ip);
    await ok(cli, ['rm', '-f', `ipam-${cli}`]);
  }
  const bad = await d.docker(['network', 'ls', '--filter', 'bogus=1']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid filter 'bogus'/);
});
