/**
 * Networks with IPv6 (`network create --ipv6`), with both CLIs and real containers: dual-stack
 * addresses in the kernel and in inspect, the default route, AAAA answers from the name server,
 * `--ip6`, published ports forwarded over IPv6, isolation between networks over IPv6, moby's
 * errors for bad requests, and no ip6tables rule of the daemon left once the networks are gone.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupRoots, exec, fileDaemon, startDaemon, testBridge, WHARFD, type Cli, type TestDaemon } from './harness.js';

const files = fileDaemon();
const { containers, networks } = files.made;
const ok = async (cli: Cli, args: string[]): Promise<string> => (await files.ok(cli, args)).trim();
let d: TestDaemon;
before(async () => {
  d = await files.start();
});

const T = { timeoutMs: 60_000 };

/** The lines of ip6tables-save that are the daemon's: its chains and its rules, by its tag. */
function ip6tablesOfDaemon(): string[] {
  const tag = testBridge(d.dir).toLowerCase();
  return spawnSync('ip6tables-save', [], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.toLowerCase().includes(tag));
}

async function network(cli: Cli, name: string, args: string[]): Promise<void> {
  networks.add(name);
  await ok(cli, ['network', 'create', ...args, name]);
}

/** Text of a TCP answer from host:port, or the error's code. */
function fetchText(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 5000 });
    let got = '';
    s.on('data', (b) => (got += b));
    s.on('end', () => resolve(got));
    s.on('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

/** What host:port answers once the container behind it listens: a few tries, 200 ms apart. */
async function answerOf(host: string, port: number): Promise<string> {
  let answer = '';
  for (let i = 0; i < 20 && !answer.includes('hello-v6'); i++) {
    answer = await fetchText(host, port);
    if (!answer.includes('hello-v6')) await new Promise((r) => setTimeout(r, 200));
  }
  return answer;
}

for (const cli of ['docker', 'wharf'] as const) {
  const p = cli === 'docker' ? 'd' : 'w';
  // One /64 per CLI, unique local: never another machine's address.
  const subnet = `fd9a:${p === 'd' ? 'd' : 'e'}::/64`;
  const gw = subnet.replace('/64', '1');

  test(`${cli}: a network with --ipv6 gives containers both families, in the kernel and in inspect`, async () => {
    const net = `${p}v6a`;
    await network(cli, net, ['--ipv6', '--subnet', subnet]);
    const info = JSON.parse(await ok(cli, ['network', 'inspect', '-f', '{{json .}}', net]));
    assert.equal(info.EnableIPv6, true);
    assert.equal(info.IPAM.Config.length, 2, JSON.stringify(info.IPAM));
    assert.match(info.IPAM.Config[0].Subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
    assert.deepEqual(info.IPAM.Config[1], { Subnet: subnet, Gateway: gw });
    assert.ok(ip6tablesOfDaemon().some((l) => l.includes(`-s ${subnet}`) && l.includes('MASQUERADE')), 'the network masquerades its IPv6 subnet');

    const a = `${p}6a`;
    const b = `${p}6b`;
    containers.add(a).add(b);
    await ok(cli, ['run', '-d', '--name', a, '--network', net, 'busybox', 'sleep', '600']);
    await ok(cli, ['run', '-d', '--name', b, '--network', net, '--ip6', subnet.replace('/64', '99'), 'busybox', 'sleep', '600']);
    const ep = JSON.parse(await ok(cli, ['inspect', '-f', `{{json (index .NetworkSettings.Networks "${net}")}}`, a]));
    assert.equal(ep.GlobalIPv6Address, subnet.replace('/64', '2'));
    assert.equal(ep.GlobalIPv6PrefixLen, 64);
    assert.equal(ep.IPv6Gateway, gw);
    const epB = JSON.parse(await ok(cli, ['inspect', '-f', `{{json (index .NetworkSettings.Networks "${net}")}}`, b]));
    assert.equal(epB.GlobalIPv6Address, subnet.replace('/64', '99'));
    assert.equal(epB.IPAMConfig.IPv6Address, subnet.replace('/64', '99'));

    const addrs = await ok(cli, ['exec', a, 'ip', '-6', 'addr', 'show', 'dev', 'eth0']);
    assert.match(addrs, new RegExp(`inet6 ${subnet.replace('/64', '2')}/64 scope global`));
    const routes = await ok(cli, ['exec', a, 'ip', '-6', 'route']);
    assert.match(routes, new RegExp(`default via ${gw} dev eth0`));
    const hosts = await ok(cli, ['exec', a, 'cat', '/etc/hosts']);
    assert.match(hosts, new RegExp(`^${subnet.replace('/64', '2')}\\t`, 'm'));

    // Over IPv6 to the other container, by address and by name (the name server's AAAA answer).
    await ok(cli, ['exec', a, 'ping', '-6', '-c', '1', '-W', '5', subnet.replace('/64', '99')]);
    const ns = await d[cli](['exec', a, 'busybox', 'timeout', '5', 'nslookup', '-type=AAAA', b], T);
    assert.match(ns.stdout, new RegExp(`Address:\\s*${subnet.replace('/64', '99').replace(/:/g, ':')}`), ns.stdout + ns.stderr);
    await ok(cli, ['exec', a, 'ping', '-6', '-c', '1', '-W', '5', b]);

    const members = JSON.parse(await ok(cli, ['network', 'inspect', '-f', '{{json .Containers}}', net])) as Record<string, { Name: string; IPv6Address: string }>;
    const byName = Object.fromEntries(Object.values(members).map((m) => [m.Name, m.IPv6Address]));
    assert.deepEqual(byName, { [a]: subnet.replace('/64', '2/64'), [b]: subnet.replace('/64', '99/64') });

    // A published port reaches the container over IPv6 (here through the network's gateway, an address of this host).
    const web = `${p}6web`;
    containers.add(web);
    const port = cli === 'docker' ? 18661 : 18662;
    await ok(cli, ['run', '-d', '--name', web, '--network', net, '-p', `${port}:80`, 'busybox', 'sh', '-c', 'while true; do echo hello-v6 | nc -l -p 80; done']);
    assert.match(await answerOf(gw, port), /hello-v6/);
    // A daemon killed with -9 finds its IPv6 rules again and keeps them: the port still answers.
    await d.restart('SIGKILL');
    assert.match(await answerOf(gw, port), /hello-v6/);
    // `[::]` is every IPv6 address only, as in Docker: the port does not answer over IPv4.
    const web6 = `${p}6web6`;
    containers.add(web6);
    await ok(cli, ['run', '-d', '--name', web6, '--network', net, '-p', `[::]:${port + 10}:80`, 'busybox', 'sh', '-c', 'while true; do echo hello-v6 | nc -l -p 80; done']);
    assert.match(await answerOf(gw, port + 10), /hello-v6/);
    assert.doesNotMatch(await fetchText(info.IPAM.Config[0].Gateway, port + 10), /hello-v6/);
    await ok(cli, ['rm', '-f', web6]);
    containers.delete(web6);

    // connect --ip6 to a running container: a second interface with the address asked for.
    const net2 = `${p}v6c`;
    const subnet2 = subnet.replace('::/64', ':1::/64');
    await network(cli, net2, ['--ipv6', '--subnet', subnet2]);
    await ok(cli, ['network', 'connect', '--ip6', subnet2.replace('/64', '42'), net2, a]);
    const eth1 = await ok(cli, ['exec', a, 'ip', '-6', 'addr', 'show', 'dev', 'eth1']);
    assert.match(eth1, new RegExp(`inet6 ${subnet2.replace('/64', '42')}/64`));
    // Isolation holds for IPv6 as for IPv4: b (only on the first network) cannot reach the second's gateway-side container.
    const c = `${p}6c`;
    containers.add(c);
    await ok(cli, ['run', '-d', '--name', c, '--network', net2, 'busybox', 'sleep', '600']);
    const cAddr = JSON.parse(await ok(cli, ['inspect', '-f', `{{json (index .NetworkSettings.Networks "${net2}")}}`, c])).GlobalIPv6Address;
    const crossed = await d[cli](['exec', b, 'ping', '-6', '-c', '1', '-W', '2', cAddr], T);
    assert.notEqual(crossed.code, 0, 'a container reached another network over IPv6');
    await ok(cli, ['exec', a, 'ping', '-6', '-c', '1', '-W', '5', cAddr]);

    await ok(cli, ['rm', '-f', a, b, c, web]);
    for (const x of [a, b, c, web]) containers.delete(x);
    await ok(cli, ['network', 'rm', net, net2]);
    networks.delete(net);
    networks.delete(net2);
  });

  test(`${cli}: --ipv6 without a subnet takes a /64 of the daemon's own unique local prefix`, async () => {
    const net = `${p}v6auto`;
    await network(cli, net, ['--ipv6']);
    const cfg = JSON.parse(await ok(cli, ['network', 'inspect', '-f', '{{json .IPAM.Config}}', net])) as { Subnet: string; Gateway: string }[];
    assert.equal(cfg.length, 2);
    assert.match(cfg[1].Subnet, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}(:[0-9a-f]{1,4})?::\/64$/);
    assert.equal(cfg[1].Gateway, cfg[1].Subnet.replace('/64', '1'));
    const net2 = `${p}v6auto2`;
    await network(cli, net2, ['--ipv6']);
    const cfg2 = JSON.parse(await ok(cli, ['network', 'inspect', '-f', '{{json .IPAM.Config}}', net2])) as { Subnet: string }[];
    assert.notEqual(cfg2[1].Subnet, cfg[1].Subnet);
    await ok(cli, ['network', 'rm', net, net2]);
    networks.delete(net);
    networks.delete(net2);
  });

  test(`${cli}: bad IPv6 requests get moby's errors and leave nothing`, async () => {
    const hostBits = await d[cli](['network', 'create', '--ipv6', '--subnet', 'fd9a:f::1/64', `${p}bad1`], T);
    assert.notEqual(hostBits.code, 0);
    assert.match(hostBits.stderr, /invalid subnet fd9a:f::1\/64: it should be fd9a:f::\/64/);
    // The CLIs pair a gateway with its subnet themselves; the daemon checks what the API is sent.
    const gwOut = await d[cli](['network', 'create', '--ipv6', '--subnet', 'fd9a:f::/64', '--gateway', 'fd9a:e0::1', `${p}bad2`], T);
    assert.notEqual(gwOut.code, 0);
    assert.match(gwOut.stderr, /no matching subnet for gateway fd9a:e0::1/);
    const gwApi = await d.api('POST', '/networks/create', { Name: `${p}bad2`, EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd9a:f::/64', Gateway: 'fd9a:e0::1' }] } });
    assert.equal(gwApi.status, 400, gwApi.body);
    assert.match(gwApi.body, /invalid gateway fd9a:e0::1: parent subnet fd9a:f::\/64 doesn't contain ip address fd9a:e0::1/);
    const net = `${p}v6ov`;
    await network(cli, net, ['--ipv6', '--subnet', 'fd9a:f::/64']);
    const overlap = await d[cli](['network', 'create', '--ipv6', '--subnet', 'fd9a:f::/48', `${p}bad3`], T);
    assert.notEqual(overlap.code, 0);
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
    // --ip6 on a network without IPv6, and outside the subnet.
    const v4only = `${p}v4only`;
    await network(cli, v4only, ['--subnet', cli === 'docker' ? '10.231.7.0/24' : '10.231.8.0/24']);
    const noV6 = await d[cli](['create', '--network', v4only, '--ip6', 'fd9a:f::5', 'busybox', 'true'], T);
    assert.notEqual(noV6.code, 0);
    assert.match(noV6.stderr, /no configured subnet contains IP address fd9a:f::5/);
    const outside = await d[cli](['create', '--network', net, '--ip6', 'fd9a:1234::5', 'busybox', 'true'], T);
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /no configured subnet or ip-range contain the IP address fd9a:1234::5/);
    const listed = await ok(cli, ['network', 'ls', '--format', '{{.Name}}']);
    for (const bad of ['bad1', 'bad2', 'bad3']) assert.doesNotMatch(listed, new RegExp(`^${p}${bad}$`, 'm'));
    await ok(cli, ['network', 'rm', net, v4only]);
    networks.delete(net);
    networks.delete(v4only);
  });
}

test('removing the IPv6 networks leaves none of the daemon\'s ip6tables rules or chains', async () => {
  // The tests above removed their networks; the default bridge (IPv4 only) is all that is left.
  const left = (await ok('docker', ['network', 'ls', '--format', '{{.Name}}'])).split('\n').sort();
  assert.deepEqual(left, ['bridge', 'host', 'none']);
  assert.deepEqual(ip6tablesOfDaemon(), []);
});

test('the default bridge with IPv6 (daemon.json ipv6 and fixed-cidr-v6): dual-stack containers and published ports; turned off again at a restart, its rules go', async () => {
  const subnet = 'fd9a:de::/64';
  const gw = 'fd9a:de::1';
  const e = await startDaemon([], JSON.stringify({ ipv6: true, 'fixed-cidr-v6': subnet }));
  const tag = testBridge(e.dir).toLowerCase();
  const rulesOf = () => spawnSync('ip6tables-save', [], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.toLowerCase().includes(tag));
  const run = async (args: string[]) => {
    const r = await e.docker(args, T);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  };
  try {
    const ipam = JSON.parse(await run(['network', 'inspect', '-f', '{{json .}}', 'bridge'])) as { EnableIPv6: boolean; IPAM: { Config: { Subnet: string; Gateway: string }[] } };
    assert.equal(ipam.EnableIPv6, true);
    assert.deepEqual(ipam.IPAM.Config[1], { Subnet: subnet, Gateway: gw });
    const port = 18671;
    await run(['run', '-d', '--name', 'web', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'while true; do echo hello-v6 | nc -l -p 80; done']);
    assert.equal(await run(['inspect', '-f', '{{.NetworkSettings.GlobalIPv6Address}}/{{.NetworkSettings.GlobalIPv6PrefixLen}} {{.NetworkSettings.IPv6Gateway}}', 'web']), `fd9a:de::2/64 ${gw}`);
    assert.match(await run(['exec', 'web', 'ip', '-6', 'route']), new RegExp(`default via ${gw} dev eth0`));
    assert.match(await answerOf(gw, port), /hello-v6/);
    // Published on every address of both families, as `docker port` shows it.
    assert.equal(await run(['port', 'web', '80']), `0.0.0.0:${port}\n[::]:${port}`);
    await run(['rm', '-f', 'web']);
    assert.notDeepEqual(rulesOf(), []);
    // Without IPv6 in daemon.json the next start makes the default network IPv4-only again.
    await e.restart('SIGTERM', () => writeFile(join(e.dir, 'daemon.json'), '{}'));
    assert.equal(await run(['network', 'inspect', '-f', '{{.EnableIPv6}} {{len .IPAM.Config}}', 'bridge']), 'false 1');
    assert.deepEqual(rulesOf(), []);
    assert.equal(await run(['run', '--rm', 'busybox', 'sh', '-c', 'ip -6 addr show eth0 scope global | grep -c inet6 || true']), '0');
  } finally {
    await e.stop();
  }
});

test('a default bridge IPv6 subnet with host bits keeps the daemon from starting, and says what to write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-v6bad-'));
  writeFileSync(join(dir, 'daemon.json'), '{}');
  try {
    const r = await exec(process.execPath, [WHARFD, '-H', `unix://${join(dir, 's.sock')}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '--pidfile', join(dir, 'pid'), '--config-file', join(dir, 'daemon.json'), '--bridge', testBridge(dir), '--ipv6', '--fixed-cidr-v6', 'fd9a:df::1/64'], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /the default bridge network's IPv6 subnet \(--fixed-cidr-v6 fd9a:df::1\/64\): invalid subnet fd9a:df::1\/64: it should be fd9a:df::\/64/);
  } finally {
    await cleanupRoots(dir);
  }
});
