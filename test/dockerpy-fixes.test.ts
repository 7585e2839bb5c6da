/**
 * Engine-core behaviour that docker-py's integration suite (issue 13) found different from
 * Docker in session 8, each observed through the docker CLI or the API against a private wharfd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, startDaemon, type TestDaemon } from './harness.js';

let d: TestDaemon;
let scratch: string;
before(async () => {
  d = await startDaemon();
  scratch = await mkdtemp(join(tmpdir(), 'wharf-dockerpy-fixes-'));
});
after(async () => {
  await d?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('cp into a never-started container lands in its anonymous volume, and cp out of the stopped container reads it back', async (t) => {
  const name = 'cpvol';
  t.after(() => d.docker(['rm', '-f', '-v', name]));
  const src = join(scratch, 'song.txt');
  await writeFile(src, 'Deaf To All But The Song\n');
  await ok(['create', '--name', name, '-v', '/vol1', 'busybox', 'cat', '/vol1/song.txt']);
  await ok(['cp', src, `${name}:/vol1/`]);
  await ok(['start', '-a', name]);
  assert.equal(await ok(['logs', name]), 'Deaf To All But The Song\n');
  // Exited now: the volume is not mounted anywhere, yet the copy sees what the process saw.
  assert.equal(await ok(['cp', `${name}:/vol1/song.txt`, '-']).then((tar) => tar.includes('Deaf To All But The Song')), true);
  const stat = await d.api('HEAD', `/containers/${name}/archive?path=${encodeURIComponent('/vol1/song.txt')}`);
  assert.equal(stat.status, 200);
  const header = JSON.parse(Buffer.from(String(stat.headers['x-docker-container-path-stat']), 'base64').toString());
  assert.equal(header.name, 'song.txt');
  assert.equal(header.size, 25);
});

test('cp into a never-started container reaches a named volume, which the container then sees', async (t) => {
  const name = 'cpnamed';
  t.after(async () => {
    await d.docker(['rm', '-f', name]);
    await d.docker(['volume', 'rm', 'cpnamedvol']);
  });
  const src = join(scratch, 'named.txt');
  await writeFile(src, 'in the named volume\n');
  await ok(['create', '--name', name, '-v', 'cpnamedvol:/data', 'busybox', 'cat', '/data/named.txt']);
  await ok(['cp', src, `${name}:/data/named.txt`]);
  await ok(['start', '-a', name]);
  assert.equal(await ok(['logs', name]), 'in the named volume\n');
});

test('rm --link drops the legacy link and keeps both containers; a plain name is no link to drop', async (t) => {
  t.after(() => d.docker(['rm', '-f', 'linktarget', 'linker']));
  await ok(['create', '--name', 'linktarget', 'busybox', 'true']);
  await ok(['create', '--name', 'linker', '--link', 'linktarget:mylink', 'busybox', 'true']);
  assert.deepEqual(JSON.parse(await ok(['inspect', '-f', '{{json .HostConfig.Links}}', 'linker'])), ['/linktarget:/linker/mylink']);

  const r = await d.api('DELETE', '/containers/linker/mylink?link=1');
  assert.equal(r.status, 204, r.body);
  assert.equal(JSON.parse(await ok(['inspect', '-f', '{{json .HostConfig.Links}}', 'linker']))?.length ?? 0, 0);
  assert.match(await ok(['ps', '-a', '--format', '{{.Names}}']), /linktarget/);
  assert.match(await ok(['ps', '-a', '--format', '{{.Names}}']), /linker/);

  const again = await d.api('DELETE', '/containers/linker/mylink?link=1');
  assert.equal(again.status, 404, again.body);
  const own = await d.api('DELETE', '/containers/linktarget?link=1');
  assert.equal(own.status, 500);
  assert.match(JSON.parse(own.body).message, /cannot remove the default link name/);
});

test('wharf rm -l removes a legacy link through the CLI, as docker rm -l does', async (t) => {
  t.after(() => d.docker(['rm', '-f', 'linktarget2', 'linker2']));
  await ok(['create', '--name', 'linktarget2', 'busybox', 'true']);
  await ok(['create', '--name', 'linker2', '--link', 'linktarget2:alias2', 'busybox', 'true']);
  const r = await d.wharf(['rm', '-l', 'linker2/alias2']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(await ok(['inspect', '-f', '{{json .HostConfig.Links}}', 'linker2']))?.length ?? 0, 0);
  assert.match(await ok(['ps', '-a', '--format', '{{.Names}}']), /linker2/);
});

test('info counts every image in the store, intermediate build images too (moby CountImages)', async (t) => {
  t.after(() => d.docker(['rmi', '-f', 'counted:1']));
  const dir = join(scratch, 'count-ctx');
  await rm(dir, { recursive: true, force: true });
  await exec('mkdir', ['-p', dir]);
  await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n');
  const b = await d.docker(['build', '-q', '-t', 'counted:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(b.code, 0, b.stderr);
  const all = (await ok(['images', '-aq'])).trim().split('\n').length;
  const shown = (await ok(['images', '-q'])).trim().split('\n').length;
  assert.ok(all > shown, `intermediate images exist: ${all} vs ${shown}`);
  assert.equal(Number((await ok(['info', '-f', '{{.Images}}'])).trim()), all);
});

test('the container-wide MacAddress becomes the main network endpoint\'s address, with Docker\'s deprecation warning from API 1.44', async (t) => {
  t.after(() => d.docker(['rm', '-f', 'macold', 'macnew']));
  for (const [name, version, mac] of [['macold', 'v1.43', '02:42:ac:11:00:0a'], ['macnew', 'v1.47', '02:42:ac:11:00:0b']] as const) {
    const res = await d.api('POST', `/${version}/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '60'], MacAddress: mac });
    assert.equal(res.status, 201, res.body);
    const warnings: string[] = JSON.parse(res.body).Warnings ?? [];
    assert.equal(warnings.some((w) => w.includes('container-wide MacAddress field is now deprecated')), version === 'v1.47');
    await ok(['start', name]);
    const st = JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings}}', name]));
    assert.equal(st.MacAddress, mac);
    assert.equal(st.Networks.bridge.MacAddress, mac);
  }
  const clash = await d.api('POST', '/v1.47/containers/create', {
    Image: 'busybox',
    MacAddress: '02:42:ac:11:00:0c',
    NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '02:42:ac:11:00:0d' } } },
  });
  assert.equal(clash.status, 400);
  assert.match(JSON.parse(clash.body).message, /container-wide MAC address must match the endpoint-specific MAC address/);
});

test('a network keeps its IPAM options as given (null for none) and its aux addresses, which no container is given', async (t) => {
  t.after(async () => {
    await d.docker(['rm', '-f', 'auxc']);
    await d.docker(['network', 'rm', 'wt-aux']);
  });
  const res = await d.api('POST', '/networks/create', {
    Name: 'wt-aux',
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.249.7.0/24', Gateway: '10.249.7.1', AuxiliaryAddresses: { router: '10.249.7.2' } }] },
  });
  assert.equal(res.status, 201, res.body);
  const ipam = JSON.parse((await d.api('GET', '/networks/wt-aux')).body).IPAM;
  assert.equal(ipam.Options, null);
  assert.deepEqual(ipam.Config, [{ Subnet: '10.249.7.0/24', Gateway: '10.249.7.1', AuxiliaryAddresses: { router: '10.249.7.2' } }]);
  await ok(['create', '--name', 'auxc', '--network', 'wt-aux', 'busybox', 'sleep', '60']);
  await ok(['start', 'auxc']);
  assert.notEqual((await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "wt-aux").IPAddress}}', 'auxc'])).trim(), '10.249.7.2');

  const outside = await d.api('POST', '/networks/create', { Name: 'wt-aux-bad', IPAM: { Config: [{ Subnet: '10.249.8.0/24', AuxiliaryAddresses: { x: '10.250.0.1' } }] } });
  assert.equal(outside.status, 400);
  assert.match(JSON.parse(outside.body).message, /no matching subnet for aux-address x=10\.250\.0\.1/);
});

test('an endpoint keeps its DriverOpts, shown back by inspect', async (t) => {
  t.after(() => d.docker(['rm', '-f', 'drvopt']));
  const res = await d.api('POST', '/containers/create?name=drvopt', {
    Image: 'busybox',
    Cmd: ['sleep', '60'],
    HostConfig: { NetworkMode: 'bridge' },
    NetworkingConfig: { EndpointsConfig: { bridge: { DriverOpts: { 'com.docker-py.setting': 'on' } } } },
  });
  assert.equal(res.status, 201, res.body);
  await ok(['start', 'drvopt']);
  const ep = JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Networks.bridge}}', 'drvopt']));
  assert.deepEqual(ep.DriverOpts, { 'com.docker-py.setting': 'on' });
});

test('a container taken off its only network keeps its NetworkMode and can be connected again, with an address of its choice', async (t) => {
  t.after(async () => {
    await d.docker(['rm', '-f', 'rejoin']);
    await d.docker(['network', 'rm', 'wt-rejoin']);
  });
  await ok(['network', 'create', '--subnet', '10.249.9.0/24', '--ip-range', '10.249.9.128/25', 'wt-rejoin']);
  await ok(['run', '-d', '--name', 'rejoin', '--network', 'wt-rejoin', 'busybox', 'sleep', '60']);
  await ok(['network', 'disconnect', 'wt-rejoin', 'rejoin']);
  assert.equal((await ok(['inspect', '-f', '{{.HostConfig.NetworkMode}}', 'rejoin'])).trim(), 'wt-rejoin');
  await ok(['network', 'connect', '--ip', '10.249.9.140', 'wt-rejoin', 'rejoin']);
  const ep = JSON.parse(await ok(['inspect', '-f', '{{json (index .NetworkSettings.Networks "wt-rejoin")}}', 'rejoin']));
  assert.equal(ep.IPAMConfig.IPv4Address, '10.249.9.140');
  assert.equal(ep.IPAddress, '10.249.9.140');
  assert.match(await ok(['exec', 'rejoin', 'ip', '-o', 'addr', 'show']), /inet 10\.249\.9\.140\//);
  // It stays on the network it joined again across a restart.
  await ok(['restart', '-t', '0', 'rejoin']);
  assert.equal((await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "wt-rejoin").IPAddress}}', 'rejoin'])).trim(), '10.249.9.140');
});

test('an error answer has a Content-Length, not chunks, so a streaming client (docker-py build) sees its status', async () => {
  const missing = await d.api('GET', '/containers/no-such-container/json');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['transfer-encoding'], undefined);
  assert.equal(Number(missing.headers['content-length']), Buffer.byteLength(missing.body));

  // docker-py's build of an empty file object sends a context whose Dockerfile is empty.
  const ctxDir = join(scratch, 'emptyctx');
  await exec('mkdir', ['-p', ctxDir]);
  await writeFile(join(ctxDir, 'Dockerfile'), '');
  const tar = join(scratch, 'empty.tar');
  assert.equal((await exec('tar', ['-C', ctxDir, '-cf', tar, 'Dockerfile'])).code, 0);
  const r = await exec('curl', ['-s', '-i', '--unix-socket', d.socket, '-H', 'Content-Type: application/x-tar', '--data-binary', `@${tar}`, 'http://wharf/v1.41/build?t=a/b/c']);
  const [head] = r.stdout.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 400 /);
  assert.match(head, /\r\nContent-Length: \d+/i);
  assert.doesNotMatch(head, /Transfer-Encoding: chunked/i);
});
