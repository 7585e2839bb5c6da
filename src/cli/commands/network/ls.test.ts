import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkResource } from '../../../types/index.js';
import { memoryIO } from '../../_testio.js';
import { goTimeString, listNetworks } from './ls.js';

const net = (Name: string, Id: string, Driver: string, over: Partial<NetworkResource> = {}): NetworkResource => ({
  Name, Id, Created: '2026-12-01T10:00:00.123456789Z', Scope: 'local', Driver, EnableIPv6: false,
  IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false,
  ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {}, ...over,
});
const LIST = [
  net('none', 'a1'.repeat(32), 'null'),
  net('host', 'b2'.repeat(32), 'host'),
  net('bridge', 'c3'.repeat(32), 'bridge'),
  net('my-net10', 'd4'.repeat(32), 'bridge', { Labels: { team: 'core' }, Internal: true, EnableIPv6: true, Created: '2026-11-30T09:08:07.5Z' }),
  net('my-net9', 'e5'.repeat(32), 'bridge'),
];

async function ls(opts: Parameters<typeof listNetworks>[1]) {
  let asked: unknown;
  const m = memoryIO();
  await listNetworks({ networkList: async (f) => ((asked = f), LIST.map((n) => ({ ...n }))) }, opts, m.io);
  return { out: m.stdout(), asked };
}

test('network ls: what docker 28.2.2 prints for the same answer', async () => {
  assert.equal(
    (await ls({})).out,
    'NETWORK ID     NAME       DRIVER    SCOPE\n' +
      'c3c3c3c3c3c3   bridge     bridge    local\n' +
      'b2b2b2b2b2b2   host       host      local\n' +
      'e5e5e5e5e5e5   my-net9    bridge    local\n' +
      'd4d4d4d4d4d4   my-net10   bridge    local\n' +
      'a1a1a1a1a1a1   none       null      local\n',
  );
  assert.equal((await ls({ quiet: true })).out, ['c3', 'b2', 'e5', 'd4', 'a1'].map((h) => h.repeat(6)).join('\n') + '\n');
  assert.equal((await ls({ quiet: true, trunc: false })).out.split('\n')[0], 'c3'.repeat(32));
  assert.equal((await ls({ quiet: true, format: '{{.Name}}' })).out.split('\n')[0], 'bridge');
  assert.equal(
    (await ls({ format: '{{.Name}} {{.Labels}} {{.Label "team"}} {{.IPv6}} {{.Internal}} {{.CreatedAt}} {{.Scope}} {{.IPv4}}' })).out.split('\n')[3],
    'my-net10 team=core core true true 2026-11-30 09:08:07.5 +0000 UTC local false',
  );
  assert.equal(
    (await ls({ format: 'json' })).out.split('\n')[0],
    '{"CreatedAt":"2026-12-01 10:00:00.123456789 +0000 UTC","Driver":"bridge","ID":"c3c3c3c3c3c3","IPv4":"false","IPv6":"false","Internal":"false","Labels":"","Name":"bridge","Scope":"local"}',
  );
  assert.deepEqual((await ls({ filter: ['name=my', 'Driver=bridge'] })).asked, { name: ['my'], driver: ['bridge'] });
  assert.equal((await ls({})).asked, undefined);
});

test('network ls: Go\'s time.Time String() of the API\'s RFC 3339 text', () => {
  assert.equal(goTimeString('2026-12-01T10:00:00.123456789Z'), '2026-12-01 10:00:00.123456789 +0000 UTC');
  assert.equal(goTimeString('2026-12-01T10:00:00.100Z'), '2026-12-01 10:00:00.1 +0000 UTC');
  assert.equal(goTimeString('2026-12-01T10:00:00Z'), '2026-12-01 10:00:00 +0000 UTC');
  assert.equal(goTimeString('2026-12-01T10:00:00.5+01:00'), '2026-12-01 10:00:00.5 +0100 +0100');
});
