import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../format/index.js';
import type { ContainerSummary } from '../../../types/index.js';
import { memoryIO } from '../../_testio.js';
import { formatPorts, listContainers, psRow } from './ls.js';

test('ps rows: quoted truncated command, short id, size, labels', () => {
  const row = psRow(
    {
      Id: 'f'.repeat(64),
      Names: ['/web'],
      Image: 'busybox',
      ImageID: 'sha256:x',
      Command: 'sh -c while true; do sleep 1; done',
      Created: 100,
      Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '0.0.0.0' }],
      SizeRw: 0,
      SizeRootFs: 4_260_000,
      Labels: { team: 'core' },
      State: 'running',
      Status: 'Up 5 seconds',
      HostConfig: { NetworkMode: 'default' },
      NetworkSettings: { Networks: {} },
      Mounts: [],
    },
    { trunc: true, now: 110_000 },
  );
  assert.equal(row.ID, 'ffffffffffff');
  assert.equal(row.Command, '"sh -c while true; d…"');
  assert.equal(row.RunningFor, '10 seconds ago');
  assert.equal(row.Size, '0B (virtual 4.26MB)');
  assert.equal(row.Names, 'web');
  assert.equal(row.Ports, '0.0.0.0:8080->80/tcp');
  assert.equal(row.Label('team'), 'core');
  assert.equal(render('{{.Label "team"}}', [row]), 'core\n');
  assert.ok(!('Label' in JSON.parse(render('json', [row]))));
  assert.equal(formatPorts([{ PrivatePort: 443, Type: 'tcp' }]), '443/tcp');
});

const anHourAgo = () => Math.floor(Date.now() / 1000) - 3600;
const summary = (name: string, over: Partial<ContainerSummary> = {}): ContainerSummary => ({
  Id: name.repeat(64).slice(0, 64),
  Names: [`/${name}`],
  Image: 'busybox',
  ImageID: 'sha256:x',
  Command: 'sleep 3600',
  Created: anHourAgo(),
  Ports: [],
  Labels: {},
  State: 'running',
  Status: 'Up About an hour',
  HostConfig: { NetworkMode: 'default' },
  NetworkSettings: { Networks: {} },
  Mounts: [],
  ...over,
});

/** A client listing `rows`, recording the query it was asked. */
function fakeClient(rows: ContainerSummary[]) {
  const asked: unknown[] = [];
  return {
    asked,
    containerList: async (opts?: unknown) => {
      asked.push(opts);
      return rows;
    },
  };
}

test('ps: docker’s table, running containers only unless asked', async () => {
  const client = fakeClient([summary('a', { Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '0.0.0.0' }] }), summary('b')]);
  const m = memoryIO();
  assert.equal(await listContainers(client, {}, m.io), 0);
  assert.equal(
    m.stdout(),
    [
      'CONTAINER ID   IMAGE     COMMAND        CREATED             STATUS             PORTS                  NAMES',
      'aaaaaaaaaaaa   busybox   "sleep 3600"   About an hour ago   Up About an hour   0.0.0.0:8080->80/tcp   a',
      'bbbbbbbbbbbb   busybox   "sleep 3600"   About an hour ago   Up About an hour                          b',
      '',
    ].join('\n'),
  );
  assert.deepEqual(client.asked, [{ all: false, limit: undefined, size: false, filters: undefined }]);
});

test('ps -q, -n, -s and templates: what is asked of the daemon follows the flags and the format', async () => {
  const client = fakeClient([summary('a', { SizeRw: 1200, SizeRootFs: 4_260_000 })]);
  const list = async (opts: Parameters<typeof listContainers>[1]) => {
    const m = memoryIO();
    await listContainers(client, opts, m.io);
    return m.stdout();
  };
  assert.equal(await list({ quiet: true }), 'aaaaaaaaaaaa\n');
  assert.equal(await list({ quiet: true, trunc: false }), `${'a'.repeat(64)}\n`);
  await list({ last: 2, filter: ['name=a'] });
  assert.deepEqual(client.asked.at(-1), { all: true, limit: 2, size: false, filters: { name: ['a'] } });
  // A template showing .Size asks for sizes, as -s does.
  assert.equal(await list({ format: '{{.Names}} {{.Size}}' }), 'a 1.2kB (virtual 4.26MB)\n');
  assert.equal((client.asked.at(-1) as { size: boolean }).size, true);
  assert.match(await list({ size: true }), /^CONTAINER ID .* NAMES     SIZE\n.* a         1\.2kB \(virtual 4\.26MB\)\n$/);
  assert.equal(await list({ format: 'table {{.Names}}\t{{.State}}' }), 'NAMES     STATE\na         running\n');
});
