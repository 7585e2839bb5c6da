import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../client/index.js';
import { memoryIO } from '../../_testio.js';
import { connectEndpoint } from './connect.js';
import { ipamConfig, networkCreateRequest } from './create.js';
import { removeNetworks } from './rm.js';

test('network create: the body docker 28.2.2 sends', () => {
  assert.equal(
    JSON.stringify(networkCreateRequest('n1', {})),
    '{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{},"Name":"n1"}',
  );
  assert.equal(
    JSON.stringify(networkCreateRequest('n2', { driver: 'bridge', subnet: ['10.5.0.0/16'], ipRange: ['10.5.1.0/24'], gateway: ['10.5.0.1'], internal: true, label: ['a=b', 'c'], opt: ['com.docker.network.bridge.name=wt0'], attachable: true })),
    '{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.5.0.0/16","IPRange":"10.5.1.0/24","Gateway":"10.5.0.1"}]},"Internal":true,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{"com.docker.network.bridge.name":"wt0"},"Labels":{"a":"b","c":""},"Name":"n2"}',
  );
  assert.deepEqual(networkCreateRequest('n9', { ipv6: false, ipv4: true }).EnableIPv6, false);
  assert.deepEqual(ipamConfig({ subnet: ['fd00::/64', '10.5.0.0/16'], gateway: ['fd00::1'], auxAddress: ['a=10.5.0.9'] }), [
    { Subnet: 'fd00::/64', Gateway: 'fd00::1' },
    { Subnet: '10.5.0.0/16', AuxiliaryAddresses: { a: '10.5.0.9' } },
  ]);
  // A lone bad subnet is the daemon's to refuse, as with docker.
  assert.deepEqual(ipamConfig({ subnet: ['bad'] }), [{ Subnet: 'bad' }]);
});

test('network create: docker\'s client-side IPAM errors', () => {
  const fails = (o: Parameters<typeof ipamConfig>[0], message: string) => assert.throws(() => ipamConfig(o), (e: Error) => e.message === message);
  fails({ gateway: ['10.5.0.1'] }, 'every ip-range or gateway must have a corresponding subnet');
  fails({ subnet: ['10.5.0.0/16', '10.5.1.0/24'] }, 'multiple overlapping subnet configuration is not supported');
  fails({ subnet: ['bad', '10.0.0.0/8'] }, 'invalid subnet: invalid CIDR address: bad');
  fails({ subnet: ['10.0.0.0/8'], gateway: ['11.0.0.1'] }, 'no matching subnet for gateway 11.0.0.1');
  fails({ subnet: ['10.0.0.0/8', '11.0.0.0/8'], ipRange: ['10.1.0.0/16', '10.2.0.0/16'] }, 'cannot configure multiple ranges (10.2.0.0/16, 10.1.0.0/16) on the same subnet (10.0.0.0/8)');
  fails({ subnet: ['10.5.0.0/16'], gateway: ['10.5.0.1', '10.5.0.2'] }, 'every ip-range or gateway must have a corresponding subnet');
  fails({ auxAddress: ['a=10.5.0.9'] }, 'no matching subnet for aux-address 10.5.0.9');
});

test('network rm: removed names, then the errors and docker 28\'s "exit status 1"; -f skips the missing', async () => {
  const client = {
    networkRemove: async (n: string) => {
      if (n === 'gone') throw new ApiError(404, 'network gone not found');
      if (n === 'busy') throw new ApiError(403, 'error while removing network: network busy id abc has active endpoints');
    },
  };
  const m = memoryIO();
  assert.equal(await removeNetworks(client, ['gone', 'n1', 'busy'], {}, m.io), 1);
  assert.equal(m.stdout(), 'n1\n');
  assert.equal(m.stderr(), 'Error response from daemon: network gone not found\nError response from daemon: error while removing network: network busy id abc has active endpoints\nexit status 1\n');
  const f = memoryIO();
  assert.equal(await removeNetworks(client, ['gone'], { force: true }, f.io), 0);
  assert.equal(f.stderr(), '');
});

test('network connect: the EndpointConfig docker sends', () => {
  assert.deepEqual(connectEndpoint({}), { IPAMConfig: {}, Links: null, Aliases: [], DriverOpts: {} });
  assert.deepEqual(connectEndpoint({ alias: ['a', 'b'], ip: '10.0.0.5', ip6: 'fd00::5', link: ['x:y'], linkLocalIp: ['169.254.0.5'], driverOpt: ['K=v'] }), {
    IPAMConfig: { IPv4Address: '10.0.0.5', IPv6Address: 'fd00::5', LinkLocalIPs: ['169.254.0.5'] },
    Links: ['x:y'],
    Aliases: ['a', 'b'],
    DriverOpts: { k: 'v' },
  });
});
