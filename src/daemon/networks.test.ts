import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostConfig } from '../types/index.js';
import { NetworkService } from './networks.js';

const attach = (hostConfig: HostConfig) => new NetworkService().attach({ containerId: 'c1', name: 'web', hostname: 'h', hostConfig, networkingConfig: {} });

const EMPTY_ENDPOINT = '{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null,"DNSNames":null}';

test('attach: --network host shares the host\'s namespace; every other mode gets a new one', async () => {
  assert.deepEqual((await attach({ NetworkMode: 'host' })).namespace, { mode: 'host' });
  for (const mode of ['none', 'bridge', 'default', '', undefined]) assert.deepEqual((await attach({ NetworkMode: mode })).namespace, { mode: 'new' }, String(mode));
});

test('attach: one empty endpoint under the mode\'s name, default and unset being bridge', async () => {
  assert.equal(JSON.stringify((await attach({ NetworkMode: 'none' })).endpoints), `{"none":${EMPTY_ENDPOINT}}`);
  assert.equal(JSON.stringify((await attach({ NetworkMode: 'host' })).endpoints), `{"host":${EMPTY_ENDPOINT}}`);
  assert.deepEqual(Object.keys((await attach({ NetworkMode: 'default' })).endpoints), ['bridge']);
  assert.deepEqual(Object.keys((await attach({})).endpoints), ['bridge']);
});

test('attach: --add-host as given, --dns/--dns-search/--dns-option; none means the host\'s', async () => {
  const a = await attach({ ExtraHosts: ['foo:1.2.3.4'], Dns: ['9.9.9.9'], DnsSearch: ['ex.com'], DnsOptions: ['ndots:2'] });
  assert.deepEqual(a.extraHosts, ['foo:1.2.3.4']);
  assert.deepEqual(a.dns, { servers: ['9.9.9.9'], search: ['ex.com'], options: ['ndots:2'] });
  const none = await attach({ ExtraHosts: null, Dns: null });
  assert.deepEqual(none.extraHosts, []);
  assert.deepEqual(none.dns, { servers: [], search: [], options: [] });
});

test('detach is idempotent, also for a container never attached', async () => {
  const n = new NetworkService();
  await n.detach('never');
  await n.detach('never');
});

test('list: the predefined none and host networks, as GET /networks answered before', () => {
  const net = (name: string, driver: string) =>
    `{"Name":"${name}","Id":"${name}","Created":"0001-01-01T00:00:00Z","Scope":"local","Driver":"${driver}","EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}}`;
  assert.equal(JSON.stringify(new NetworkService().list()), `[${net('none', 'null')},${net('host', 'host')}]`);
});

test('prune: nothing to delete; a filter Docker refuses is refused', () => {
  const n = new NetworkService();
  assert.deepEqual(n.prune({}), { NetworksDeleted: null });
  assert.deepEqual(n.prune({ until: ['1h'], label: ['a'], 'label!': ['b'] }), { NetworksDeleted: null });
  assert.throws(() => n.prune({ all: ['1'] }), { code: 'WHARF_INVALID_ARGUMENT', message: "invalid filter 'all'" });
});
