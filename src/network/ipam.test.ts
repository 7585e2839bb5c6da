import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressPrefix, allocateIp, defaultGateway, defaultSubnetCandidates, macFromIp, overlaps, parseCidr, parseIpAddrJson, parseEphemeralRange, parseProcRoutes, pickSubnet } from './ipam.js';

test('parseCidr: a network address and its prefix; host bits set or garbage refused', () => {
  assert.deepEqual(parseCidr('172.17.0.0/16'), { network: 0xac110000, prefixLen: 16 });
  assert.throws(() => parseCidr('172.17.0.1/16'), { message: 'invalid subnet 172.17.0.1/16: it should be 172.17.0.0/16' });
  for (const bad of ['172.17.0.0', '172.17.0.0/33', '300.1.1.0/24', 'x/8', '1.2.3.0/24/1']) assert.throws(() => parseCidr(bad), { code: 'WHARF_INVALID_ARGUMENT' }, bad);
});

test('defaultGateway: the first host address; a /31 has no room', () => {
  assert.equal(defaultGateway('172.18.0.0/16'), '172.18.0.1');
  assert.equal(defaultGateway('10.0.0.8/30'), '10.0.0.9');
  assert.throws(() => defaultGateway('10.0.0.0/31'), /too small/);
});

test('allocateIp: the lowest free host address, never the network, gateway or broadcast', () => {
  assert.equal(allocateIp('172.18.0.0/16', '172.18.0.1', []), '172.18.0.2');
  assert.equal(allocateIp('172.18.0.0/16', '172.18.0.1', ['172.18.0.2', '172.18.0.3']), '172.18.0.4');
  assert.equal(allocateIp('172.18.0.0/16', '172.18.0.1', ['172.18.0.3']), '172.18.0.2');
  assert.equal(allocateIp('10.0.0.0/30', '10.0.0.2', []), '10.0.0.1');
  assert.throws(() => allocateIp('10.0.0.0/30', '10.0.0.1', ['10.0.0.2']), /no available IPv4 addresses/);
});

test('macFromIp: 02:42 and the four bytes, as Docker', () => {
  assert.equal(macFromIp('172.17.0.2'), '02:42:ac:11:00:02');
});

test('pickSubnet: the first candidate no host route or bridge overlaps', () => {
  const c = defaultSubnetCandidates();
  assert.equal(c[0], '172.17.0.0/16');
  assert.equal(c[14], '172.31.0.0/16');
  assert.match(c[15], /^10\./);
  assert.equal(pickSubnet(c, ['192.0.2.0/24']), '172.17.0.0/16');
  assert.equal(pickSubnet(c, ['172.17.0.0/16', '172.18.5.0/24']), '172.19.0.0/16');
  assert.equal(pickSubnet(c, ['172.16.0.0/12']), '10.200.0.0/16');
  assert.equal(pickSubnet(['10.0.0.0/16'], ['10.0.0.0/8']), undefined);
  assert.ok(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.3.0.0/16')));
  assert.ok(!overlaps(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16')));
});

test('parseProcRoutes: destinations as CIDRs, little-endian hex, the default route left out', () => {
  const text = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
    'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n';
  assert.deepEqual(parseProcRoutes(text), ['192.0.2.0/24', '172.17.0.0/16']);
});

test('parseIpAddrJson: IPv4 addresses as their subnets', () => {
  const j = JSON.stringify([{ ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] }, { ifname: 'docker0', addr_info: [{ family: 'inet', local: '172.17.0.1', prefixlen: 16 }] }]);
  assert.deepEqual(parseIpAddrJson(j), ['127.0.0.0/8', '172.17.0.0/16']);
  assert.deepEqual(parseIpAddrJson('garbage'), []);
});

test('parseEphemeralRange: the kernel\'s range, Linux\'s default when unreadable', () => {
  assert.deepEqual(parseEphemeralRange('32768\t60999\n'), { first: 32768, last: 60999 });
  assert.deepEqual(parseEphemeralRange('40000 40010'), { first: 40000, last: 40010 });
  assert.deepEqual(parseEphemeralRange(undefined), { first: 32768, last: 60999 });
});

test('parseAddressPrefix: --bip as the subnet it sits in and its gateway; /24 when no prefix; bad ones refused', () => {
  assert.deepEqual(parseAddressPrefix('172.30.5.1/16'), { subnet: '172.30.0.0/16', gateway: '172.30.5.1' });
  assert.deepEqual(parseAddressPrefix('10.9.8.7'), { subnet: '10.9.8.0/24', gateway: '10.9.8.7' });
  for (const bad of ['10.9.8.7/31', '10.9.8/24', '10.9.8.7/x', '10.9.8.7/24/1']) assert.throws(() => parseAddressPrefix(bad), /invalid address/, bad);
});
