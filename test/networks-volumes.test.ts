// What the docker CLI prints for networks, volumes and the build cache while wharf has only its
// default bridge network and the predefined none and host, and what the API answers for the
// routes not served yet. Each expectation is what wharf printed before these answers moved
// into daemon services, so the move changes nothing a user sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type TestDaemon } from './harness.js';

let d: TestDaemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d?.stop();
});

const ok = async (args: string[]) => {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test('network ls lists bridge, host and none; volume ls is empty', async () => {
  const ls = await ok(['network', 'ls']);
  assert.match(ls, /^NETWORK ID     NAME      DRIVER    SCOPE\n[0-9a-f]{12}   bridge    bridge    local\nhost           host      host      local\nnone           none      null      local\n$/);
  assert.match(await ok(['network', 'ls', '-q']), /^[0-9a-f]{12}\nhost\nnone\n$/);
  assert.equal(await ok(['volume', 'ls']), 'DRIVER    VOLUME NAME\n');
  assert.equal(await ok(['volume', 'ls', '-q']), '');
});

test('network, volume and builder prune delete nothing and refuse unknown filters', async () => {
  assert.equal(await ok(['network', 'prune', '-f']), '');
  assert.equal(await ok(['network', 'prune', '-f', '--filter', 'until=1h']), '');
  assert.equal(await ok(['volume', 'prune', '-f']), 'Total reclaimed space: 0B\n');
  assert.equal(await ok(['volume', 'prune', '-f', '-a']), 'Total reclaimed space: 0B\n');
  assert.equal(await ok(['builder', 'prune', '-f']), 'Total reclaimed space: 0B\n');
  for (const args of [['network', 'prune', '-f', '--filter', 'bogus=1'], ['volume', 'prune', '-f', '--filter', 'bogus=1'], ['builder', 'prune', '-f', '--filter', 'bogus=1']]) {
    const r = await d.docker(args);
    assert.equal(r.code, 1, args.join(' '));
    // docker 28 puts its legacy-builder notice before a builder command's error.
    assert.ok(r.stderr.endsWith("Error response from daemon: invalid filter 'bogus'\n"), r.stderr);
    if (args[0] !== 'builder') assert.equal(r.stderr, "Error response from daemon: invalid filter 'bogus'\n");
  }
});

test('system df shows no volumes and no build cache', async () => {
  const lines = (await ok(['system', 'df'])).split('\n');
  assert.equal(lines[0], 'TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE');
  assert.match(lines[1], /^Images {10}1 {9}0 /);
  assert.deepEqual(lines.slice(2), [
    'Containers      0         0         0B        0B',
    'Local Volumes   0         0         0B        0B',
    'Build Cache     0         0         0B        0B',
    '',
  ]);
  const verbose = await ok(['system', 'df', '-v']);
  assert.ok(verbose.endsWith('Local Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n'), verbose);
});

test('the API: the same JSON, and 404 "page not found" for what is not served yet', async () => {
  const net = (name: string, driver: string) =>
    `{"Name":"${name}","Id":"${name}","Created":"0001-01-01T00:00:00Z","Scope":"local","Driver":"${driver}","EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}}`;
  const answers: [string, string, number, string][] = [
    ['POST', '/networks/prune', 200, '{"NetworksDeleted":null}'],
    ['POST', '/networks/prune?filters=%7B%22x%22%3A%5B%221%22%5D%7D', 400, `{"message":"invalid filter 'x'"}`],
    ['GET', '/networks?filters=garbage', 400, '{"message":"invalid filter: garbage"}'],
    ['GET', '/networks?filters=%7B%22x%22%3A%5B%221%22%5D%7D', 400, `{"message":"invalid filter 'x'"}`],
    ['GET', '/volumes', 200, '{"Volumes":[],"Warnings":null}'],
    ['GET', '/volumes?filters=garbage', 400, '{"message":"invalid filter: garbage"}'],
    ['POST', '/volumes/prune', 200, '{"VolumesDeleted":null,"SpaceReclaimed":0}'],
    ['POST', '/volumes/prune?filters=garbage', 400, '{"message":"invalid filter: garbage"}'],
    ['POST', '/build/prune', 200, '{"CachesDeleted":null,"SpaceReclaimed":0}'],
    ['POST', '/build/prune?filters=garbage', 400, '{"message":"invalid filter: garbage"}'],
    ['GET', '/networks/host', 200, net('host', 'host')],
    ['GET', '/networks/nope', 404, '{"message":"network nope not found"}'],
    ['POST', '/networks/create', 400, '{"message":"network name must not be empty"}'],
    ['DELETE', '/networks/x', 404, '{"message":"network x not found"}'],
    ['POST', '/networks/x/connect', 404, '{"message":"No such container: "}'],
    ['GET', '/volumes/x', 404, '{"message":"get x: no such volume"}'],
    ['DELETE', '/volumes/x', 404, '{"message":"get x: no such volume"}'],
    ['GET', '/networks/prune', 404, '{"message":"network prune not found"}'],
    ['POST', '/volumes', 405, '{"message":"method not allowed"}'],
  ];
  for (const [method, path, status, body] of answers) {
    const r = await d.api(method, path);
    assert.equal(`${r.status} ${r.body.trimEnd()}`, `${status} ${body}`, `${method} ${path}`);
  }
  const list = JSON.parse((await d.api('GET', '/networks')).body) as { Name: string }[];
  assert.deepEqual(list.map((n) => n.Name), ['bridge', 'none', 'host']);
  assert.equal(JSON.stringify(list.slice(1)), `[${net('none', 'null')},${net('host', 'host')}]`);
  const df = JSON.parse((await d.api('GET', '/system/df')).body);
  assert.deepEqual([df.Volumes, df.BuildCache], [[], []]);
});
