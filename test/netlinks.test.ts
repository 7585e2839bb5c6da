/**
 * The network features that name other containers or the daemon: `--link` on the default
 * bridge and on a user network, `--network container:<name>`, `--add-host` with host-gateway
 * and IPv6, network events, `ps` filters on ports, `network disconnect -f`. Real traffic and
 * real files, through the docker CLI and wharf.
 *
 * Host ports used: 0.0.0.0:18111, 0.0.0.0:18112.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileDaemon, startDaemon, type TestDaemon } from './harness.js';

const files = fileDaemon();
const { containers, networks } = files.made;
let d: TestDaemon;
before(async () => {
  d = await files.start();
});

const T = { timeoutMs: 60_000 };
const { ok, runDetached } = files;

async function inspect(ref: string): Promise<any> {
  return JSON.parse(await ok('docker', ['inspect', ref]))[0];
}

/** busybox httpd serving `text` on port `port`, in the foreground. */
const httpd = (text: string, port = 80) => ['busybox', 'sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p ${port} -h /www`];

/**
 * A wget from inside a container, retried while the server comes up (bounded: 30 tries of at
 * most 3 s). Debian's busybox-static 1.35 wget crashes with -T, so busybox timeout bounds it.
 */
const wgetLoop = (url: string) => `for i in $(seq 30); do timeout 3 wget -q -O- ${url} && exit 0; sleep 0.3; done; exit 1`;

async function containerCount(): Promise<number> {
  return (await ok('docker', ['ps', '-aq'])).split('\n').filter(Boolean).length;
}

test('--link on the default bridge: /etc/hosts and env as Docker writes them, traffic by the alias, HostConfig.Links', async () => {
  const dbId = await runDetached('docker', 'db', ['-e', 'FOO=bar', '--expose', '5432', '--expose', '80', ...httpd('from-db')]);
  const db = await inspect('db');
  const ip = db.NetworkSettings.Networks.bridge.IPAddress as string;
  assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);

  const out = await ok('docker', ['run', '--name', 'linker', '--link', 'db:d', 'busybox', 'sh', '-c', `cat /etc/hosts; echo ---; env; echo ---; ${wgetLoop('http://d/')}`]);
  containers.add('linker');
  const [hosts, env, body] = out.split('---\n');
  assert.ok(hosts.split('\n').includes(`${ip}\td ${dbId.slice(0, 12)} db`), hosts);
  const vars = env.split('\n');
  for (const v of [
    `D_PORT=tcp://${ip}:80`,
    `D_PORT_80_TCP=tcp://${ip}:80`,
    `D_PORT_80_TCP_ADDR=${ip}`,
    `D_PORT_80_TCP_PORT=80`,
    `D_PORT_80_TCP_PROTO=tcp`,
    `D_PORT_5432_TCP=tcp://${ip}:5432`,
    'D_NAME=/linker/d',
    'D_ENV_FOO=bar',
  ]) {
    assert.ok(vars.includes(v), `${v} in:\n${env}`);
  }
  assert.ok(!vars.some((v) => v.startsWith('D_ENV_PATH=')), env);
  assert.equal(body.trim(), 'from-db');
  assert.deepEqual((await inspect('linker')).HostConfig.Links, ['/db:/linker/d']);

  // An exec gets the variables too, as moby's exec create gives them.
  await runDetached('docker', 'linker2', ['--link', 'db:d', 'busybox', 'sleep', '300']);
  const execEnv = (await ok('wharf', ['exec', 'linker2', 'env'])).split('\n');
  assert.ok(execEnv.includes('D_NAME=/linker2/d') && execEnv.includes(`D_PORT_80_TCP_ADDR=${ip}`), execEnv.join('\n'));

  // wharf, a link without an alias: the name once.
  const hosts2 = await ok('wharf', ['run', '--rm', '--link', 'db', 'busybox', 'cat', '/etc/hosts']);
  assert.ok(hosts2.split('\n').includes(`${ip}\tdb ${dbId.slice(0, 12)}`), hosts2);

  // The target started again on another address (its old one taken meanwhile): the linking container's hosts follow.
  await ok('docker', ['stop', '-t', '1', 'db']);
  await runDetached('docker', 'squatter', ['busybox', 'sleep', '300']);
  await ok('docker', ['start', 'db']);
  const ip2 = (await inspect('db')).NetworkSettings.Networks.bridge.IPAddress as string;
  assert.notEqual(ip2, ip);
  const hosts3 = await ok('docker', ['exec', 'linker2', 'cat', '/etc/hosts']);
  assert.ok(hosts3.split('\n').includes(`${ip2}\td ${dbId.slice(0, 12)} db`), hosts3);
  assert.equal((await ok('docker', ['exec', 'linker2', 'sh', '-c', wgetLoop('http://d/')])).trim(), 'from-db');
});

test('--link to an unknown container: Docker\'s error, exit 125, and no container left', async () => {
  const before = await containerCount();
  for (const cli of ['docker', 'wharf'] as const) {
    const r = await d[cli](['run', '--rm', '--link', 'nosuch:x', 'busybox', 'true'], T);
    assert.equal(r.code, 125, `${cli}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /could not get container for nosuch: No such container: nosuch/, cli);
  }
  assert.equal(await containerCount(), before);
});

test('--link on a user network resolves the alias for the linking container', async () => {
  networks.add('lnet');
  await ok('docker', ['network', 'create', 'lnet']);
  await runDetached('docker', 'ltarget', ['--network', 'lnet', ...httpd('from-ltarget')]);
  const out = await ok('wharf', ['run', '--rm', '--network', 'lnet', '--link', 'ltarget:al', 'busybox', 'sh', '-c', wgetLoop('http://al/')]);
  assert.equal(out.trim(), 'from-ltarget');
});

test('--network container:<name>: the same namespace, the target\'s hostname, inspect, conflicts, and the target outlives the joiner', async () => {
  const targetId = await runDetached('docker', 'nsa', httpd('from-nsa', 8080));
  const target = await inspect('nsa');
  const ip = target.NetworkSettings.Networks.bridge.IPAddress as string;

  // Loopback is the target's: its server answers on 127.0.0.1; the address and hostname are its own.
  const out = await ok('docker', ['run', '--name', 'joiner', '--network', 'container:nsa', 'busybox', 'sh', '-c', `hostname; ip -4 addr show eth0; ${wgetLoop('http://127.0.0.1:8080/')}`]);
  containers.add('joiner');
  const lines = out.trim().split('\n');
  assert.equal(lines[0], target.Config.Hostname);
  assert.ok(out.includes(`inet ${ip}/`), out);
  assert.equal(lines.at(-1), 'from-nsa');
  const j = await inspect('joiner');
  assert.equal(j.HostConfig.NetworkMode, `container:${targetId}`);
  assert.deepEqual(j.NetworkSettings.Networks, {});

  // wharf, by ID; stopping and removing a joiner leaves the target reachable.
  const w = await runDetached('wharf', 'joiner2', ['--network', `container:${targetId.slice(0, 12)}`, 'busybox', 'sleep', '300']);
  await ok('wharf', ['rm', '-f', w]);
  containers.delete('joiner2');
  const again = await ok('docker', ['run', '--rm', 'busybox', 'sh', '-c', wgetLoop(`http://${ip}:8080/`)]);
  assert.equal(again.trim(), 'from-nsa');
  assert.equal((await inspect('nsa')).NetworkSettings.Networks.bridge.IPAddress, ip);

  for (const [flags, text] of [
    [['-p', '8081:80'], 'conflicting options: port publishing and the container type network mode'],
    [['--hostname', 'x'], 'conflicting options: hostname and the network mode'],
    [['--dns', '1.1.1.1'], 'conflicting options: dns and the network mode'],
    [['--add-host', 'a:1.2.3.4'], 'conflicting options: custom host-to-IP mapping and the network mode'],
    [['--expose', '90'], 'conflicting options: port exposing and the container type network mode'],
  ] as const) {
    // docker create exits 1 when the daemon refuses, as wharf create must.
    for (const cli of ['docker', 'wharf'] as const) {
      const r = await d[cli](['create', '--network', 'container:nsa', ...flags, 'busybox'], T);
      assert.equal(r.code, 1, `${cli} ${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(text), `${cli} ${flags.join(' ')}`);
    }
  }

  // A target that does not run.
  containers.add('nsstopped');
  await ok('docker', ['create', '--name', 'nsstopped', 'busybox', 'true']);
  for (const cli of ['docker', 'wharf'] as const) {
    const r = await d[cli](['run', '--rm', '--network', 'container:nsstopped', 'busybox', 'true'], T);
    assert.equal(r.code, 125, `${cli}: ${r.stderr}`);
    assert.match(r.stderr, /cannot join network namespace of a non running container: container nsstopped is created/, cli);
  }
});

test('--add-host: host-gateway is the default bridge\'s gateway, name=IPv6 and name:IPv4 as Docker writes them', async () => {
  const gw = JSON.parse(await ok('docker', ['network', 'inspect', 'bridge']))[0].IPAM.Config[0].Gateway as string;
  for (const cli of ['docker', 'wharf'] as const) {
    const hosts = await ok(cli, ['run', '--rm', '--add-host', 'gw:host-gateway', '--add-host', 'bar=::1', '--add-host', 'foo:1.2.3.4', '--add-host', 'six=[fd00::7]', 'busybox', 'cat', '/etc/hosts']);
    const lines = hosts.split('\n');
    for (const l of [`${gw}\tgw`, '::1\tbar', '1.2.3.4\tfoo', 'fd00::7\tsix']) assert.ok(lines.includes(l), `${cli}: ${l} in:\n${hosts}`);
    // The entries come before the container's own address, as in Docker's file.
    assert.ok(lines.indexOf('1.2.3.4\tfoo') < lines.length - 2, hosts);
    const bad = await d[cli](['run', '--rm', '--add-host', 'x:1.2.3.4.5', 'busybox', 'true'], T);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid IP address in add-host: "1.2.3.4.5"/);
  }
  // Traffic to the gateway by that name: the host answers ping on the bridge.
  await ok('docker', ['run', '--rm', '--add-host', 'gw:host-gateway', 'busybox', 'ping', '-c', '1', '-W', '3', 'gw']);
});

test('--host-gateway-ip replaces the gateway in host-gateway', async () => {
  const d2 = await startDaemon(['--host-gateway-ip', '10.99.88.77']);
  try {
    const r = await d2.docker(['run', '--rm', '--add-host', 'h:host-gateway', 'busybox', 'cat', '/etc/hosts'], T);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes('10.99.88.77\th'), r.stdout);
  } finally {
    await d2.stop();
  }
});

test('network events: create, connect, disconnect, destroy, as docker events shows them', async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  networks.add('evnet');
  const netId = (await ok('docker', ['network', 'create', 'evnet'])).trim();
  const cid = (await ok('docker', ['run', '-d', '--network', 'evnet', 'busybox', 'true'])).trim();
  await ok('docker', ['wait', cid]);
  await ok('docker', ['rm', cid]);
  await ok('docker', ['network', 'rm', 'evnet']);
  networks.delete('evnet');
  const until = String(Math.floor(Date.now() / 1000) + 1);
  const fmt = '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{.Actor.Attributes.container}}';
  const out = await ok('docker', ['events', '--since', since, '--until', until, '--filter', 'type=network', '--filter', 'network=evnet', '--format', fmt]);
  assert.deepEqual(out.trim().split('\n'), [
    `network create ${netId} evnet bridge <no value>`,
    `network connect ${netId} evnet bridge ${cid}`,
    `network disconnect ${netId} evnet bridge ${cid}`,
    `network destroy ${netId} evnet bridge <no value>`,
  ]);
  const w = await ok('wharf', ['events', '--since', since, '--until', until, '--filter', 'type=network', '--filter', 'event=connect', '--filter', 'network=evnet', '--format', '{{.Action}} {{.Actor.Attributes.container}}']);
  assert.equal(w.trim(), `connect ${cid}`);
});

test('ps --filter publish and expose: ports, protocols and ranges as Docker reads them', async () => {
  await runDetached('docker', 'pub', ['-p', '18111:80', ...httpd('pub')]);
  await runDetached('docker', 'exp', ['--expose', '9999', 'busybox', 'sleep', '300']);
  const names = async (cli: 'docker' | 'wharf', filter: string) => (await ok(cli, ['ps', '--filter', filter, '--format', '{{.Names}}'])).trim().split('\n').filter(Boolean).sort();
  for (const cli of ['docker', 'wharf'] as const) {
    assert.deepEqual(await names(cli, 'publish=18111'), ['pub']);
    assert.deepEqual(await names(cli, 'publish=18111/tcp'), ['pub']);
    assert.deepEqual(await names(cli, 'publish=18111/udp'), []);
    assert.deepEqual(await names(cli, 'publish=18100-18120'), ['pub']);
    assert.deepEqual(await names(cli, 'publish=80'), []);
    const exposes80 = await names(cli, 'expose=80');
    assert.ok(exposes80.includes('pub') && !exposes80.includes('exp'), exposes80.join(','));
    assert.deepEqual(await names(cli, 'expose=9999'), ['exp']);
    assert.deepEqual(await names(cli, 'expose=9000-9999/tcp'), ['exp']);
    const bad = await d[cli](['ps', '--filter', 'publish=127.0.0.1:18111'], T);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /filter for 'publish' should not contain ':': 127.0.0.1:18111/);
  }
});

test('a stopped container shows its network\'s ID; network disconnect -f forgets a network that is gone', async () => {
  const bridgeId = JSON.parse(await ok('docker', ['network', 'inspect', 'bridge']))[0].Id as string;
  containers.add('stopped1');
  await ok('docker', ['create', '--name', 'stopped1', 'busybox', 'true']);
  assert.equal((await inspect('stopped1')).NetworkSettings.Networks.bridge.NetworkID, bridgeId);

  networks.add('gone');
  await ok('docker', ['network', 'create', 'gone']);
  containers.add('stopped2');
  await ok('docker', ['create', '--name', 'stopped2', '--network', 'gone', 'busybox', 'true']);
  await ok('docker', ['network', 'connect', 'bridge', 'stopped2']);
  await ok('docker', ['network', 'rm', 'gone']);
  networks.delete('gone');
  const r = await d.docker(['network', 'disconnect', 'gone', 'stopped2'], T);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /network gone not found/);
  await ok('wharf', ['network', 'disconnect', '-f', 'gone', 'stopped2']);
  assert.deepEqual(Object.keys((await inspect('stopped2')).NetworkSettings.Networks), ['bridge']);
  // It starts on what is left.
  await ok('docker', ['start', '-a', 'stopped2']);
});

test('a target stopped under a running joiner stops cleanly; removing both leaves no namespace', async () => {
  await runDetached('docker', 'tgt', ['busybox', 'sleep', '300']);
  await runDetached('docker', 'jn', ['--network', 'container:tgt', 'busybox', 'sleep', '300']);
  await ok('docker', ['stop', '-t', '1', 'tgt']);
  await ok('docker', ['rm', '-f', 'jn', 'tgt']);
  containers.delete('jn');
  containers.delete('tgt');
  const left = await readdir(join(d.execRoot, 'netns')).catch(() => []);
  const ids = (await ok('docker', ['ps', '-q', '--no-trunc'])).split('\n').filter(Boolean);
  // Only running containers (from the tests above) keep a namespace.
  assert.deepEqual(left.filter((f) => !ids.includes(f)), []);
});

test('a run --rm that returned leaves its network removable and its host port free (issue: detach came after the removal was announced)', async () => {
  networks.add('rmnet');
  await ok('docker', ['network', 'create', 'rmnet']);
  await ok('docker', ['run', '--rm', '--network', 'rmnet', 'busybox', 'true']);
  await ok('docker', ['network', 'rm', 'rmnet']);
  networks.delete('rmnet');
  await ok('wharf', ['run', '--rm', '-p', '18112:80', 'busybox', 'true']);
  await runDetached('docker', 'port-again', ['-p', '18112:80', 'busybox', 'sleep', '300']);
});
