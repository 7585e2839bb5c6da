import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../format/index.js';
import { formatPorts, psRow } from './ls.js';

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
