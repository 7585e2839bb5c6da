import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocateIp6,
  contains6,
  defaultGateway6,
  formatCidr6,
  formatIp6,
  isIp6,
  maskedCidr6,
  overlaps6,
  parseCidr6,
  parseIp6,
  parseIp6AddrJson,
  parseProcIpv6Routes,
  pickSubnet6,
  tryParseIp6,
  ulaPrefix,
} from './ipam6.js';

test('tryParseIp6: full, compressed, upper case and IPv4-tailed forms', () => {
  assert.equal(tryParseIp6('::'), 0n);
  assert.equal(tryParseIp6('::1'), 1n);
  assert.equal(tryParseIp6('1::'), 1n << 112n);
  assert.equal(tryParseIp6('2001:0db8:0000:0000:0000:0000:0000:0001'), 0x20010db8000000000000000000000001n);
  assert.equal(tryParseIp6('2001:DB8::AbCd'), 0x20010db800000000000000000000abcdn);
  assert.equal(tryParseIp6('1:2:3:4:5:6:7::'), 0x00010002000300040005000600070000n);
  assert.equal(tryParseIp6('::2:3:4:5:6:7:8'), 0x00000002000300040005000600070008n);
  assert.equal(tryParseIp6('::ffff:1.2.3.4'), 0xffff01020304n);
  assert.equal(tryParseIp6('64:ff9b::192.0.2.33'), 0x0064ff9b0000000000000000c0000221n);
  assert.equal(tryParseIp6('1:2:3:4:5:6:1.2.3.4'), 0x00010002000300040005000601020304n);
  assert.equal(tryParseIp6('::1.2.3.4'), 0x01020304n);
});

test('tryParseIp6: refuses what is not an IPv6 address', () => {
  const bad = [
    '', ':', ':::', '1.2.3.4', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', '12345::', '1:2:3:4:5:6:7:', ':1:2:3:4:5:6:7',
    '1:', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', 'g::', '[::1]', 'fe80::1%eth0', ' ::1', '::1 ', '1.2.3.4::', '::1.2.3.4:5',
    '::1.2.3', '::256.1.1.1', '1:2:3:4:5:6:7:1.2.3.4', '::-1', '::0x1', '::1/64',
  ];
  for (const s of bad) assert.equal(tryParseIp6(s), undefined, s);
  assert.ok(isIp6('1::'));
  assert.ok(!isIp6('10.0.0.1'));
  assert.throws(() => parseIp6('1.2.3.4'), { code: 'WHARF_INVALID_ARGUMENT', message: 'invalid IP address: 1.2.3.4' });
});

test('formatIp6: RFC 5952 canonical text, as Go prints it', () => {
  const cases: [string, string][] = [
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['0:0:1:2:3:4:5:6', '::1:2:3:4:5:6'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:0102:0304', '::ffff:1.2.3.4'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['::1.2.3.4', '::102:304'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const [input, want] of cases) assert.equal(formatIp6(parseIp6(input)), want, input);
  assert.throws(() => formatIp6(-1n), { code: 'WHARF_INVALID_ARGUMENT' });
  assert.throws(() => formatIp6(1n << 128n), { code: 'WHARF_INVALID_ARGUMENT' });
});

test('formatIp6 and tryParseIp6 round-trip', () => {
  const values = [0n, 1n, 0xffffn << 32n, (1n << 128n) - 1n, 0x20010db8000000000001000000000000n, 0xfd00000000000000000000000000abcdn];
  for (let i = 0n; i < 64n; i++) values.push(((0x0123456789abcdefn * (i + 1n)) << (i % 3n) * 32n) & ((1n << 128n) - 1n));
  for (const n of values) assert.equal(tryParseIp6(formatIp6(n)), n, formatIp6(n));
});

test('parseCidr6: a network address and its prefix; host bits or garbage refused', () => {
  assert.deepEqual(parseCidr6('2001:db8::/64'), { network: 0x20010db8n << 96n, prefixLen: 64 });
  assert.deepEqual(parseCidr6('::/0'), { network: 0n, prefixLen: 0 });
  assert.deepEqual(parseCidr6('::1/128'), { network: 1n, prefixLen: 128 });
  assert.throws(() => parseCidr6('2001:db8::1/64'), { code: 'WHARF_INVALID_ARGUMENT', message: 'invalid subnet 2001:db8::1/64: it should be 2001:db8::/64' });
  assert.throws(() => parseCidr6('2001:DB8:0:0:1::/48'), { message: 'invalid subnet 2001:DB8:0:0:1::/48: it should be 2001:db8::/48' });
  for (const bad of ['2001:db8::', '2001:db8::/129', '2001:db8::/', '2001:db8::/x', '2001:db8::/-1', '10.0.0.0/8', 'x/64', '::/64/1', '/64']) {
    assert.throws(() => parseCidr6(bad), { code: 'WHARF_INVALID_ARGUMENT', message: `invalid CIDR address: ${bad}` }, bad);
  }
});

test('maskedCidr6 and formatCidr6: host bits masked, canonical text', () => {
  assert.equal(formatCidr6(maskedCidr6('fd00::2/64')), 'fd00::/64');
  assert.equal(formatCidr6(maskedCidr6('2001:DB8:1:2:3:4:5:6/32')), '2001:db8::/32');
  assert.equal(formatCidr6(maskedCidr6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0')), '::/0');
  assert.throws(() => maskedCidr6('fd00::2'), { message: 'invalid CIDR address: fd00::2' });
});

test('contains6 and overlaps6', () => {
  const c = parseCidr6('2001:db8::/64');
  assert.ok(contains6(c, parseIp6('2001:db8::1')));
  assert.ok(contains6(c, parseIp6('2001:db8::ffff:ffff:ffff:ffff')));
  assert.ok(!contains6(c, parseIp6('2001:db8:0:1::')));
  assert.ok(contains6(parseCidr6('::/0'), parseIp6('ff02::1')));
  assert.ok(overlaps6(parseCidr6('2001:db8::/32'), c));
  assert.ok(overlaps6(c, parseCidr6('2001:db8::/32')));
  assert.ok(overlaps6(c, parseCidr6('2001:db8::5/128')));
  assert.ok(!overlaps6(c, parseCidr6('2001:db8:0:1::/64')));
  assert.ok(overlaps6(parseCidr6('::/0'), c));
});

test('defaultGateway6: network + 1; a /127 has no room', () => {
  assert.equal(defaultGateway6('2001:db8::/64'), '2001:db8::1');
  assert.equal(defaultGateway6('fd00:1:2:3::/126'), 'fd00:1:2:3::1');
  assert.throws(() => defaultGateway6('fd00::/127'), { code: 'WHARF_INVALID_ARGUMENT', message: 'subnet fd00::/127 is too small: it has no room for a gateway and a container' });
  assert.throws(() => defaultGateway6('fd00::1/64'), /invalid subnet/);
});

test('allocateIp6: the lowest free address, never the network address or the gateway', () => {
  assert.equal(allocateIp6('fd00::/64', 'fd00::/64', 'fd00::1', []), 'fd00::2');
  assert.equal(allocateIp6('fd00::/64', 'fd00::/64', 'fd00::1', ['fd00::2', 'fd00::3']), 'fd00::4');
  assert.equal(allocateIp6('fd00::/64', 'fd00::/64', 'fd00::1', ['fd00::3']), 'fd00::2');
  // The gateway need not be the first address; the address below it is then free.
  assert.equal(allocateIp6('fd00::/64', 'fd00::/64', 'fd00::2', []), 'fd00::1');
});

test('allocateIp6: taken addresses match in any spelling', () => {
  const taken = ['FD00:0000:0000:0000:0000:0000:0000:0002', 'fd00:0:0:0:0:0:0:3', 'fd00::0.0.0.4'];
  assert.equal(allocateIp6('fd00::/64', 'fd00::/64', 'FD00::1', taken), 'fd00::5');
});

test('allocateIp6: only inside the pool when it is narrower than the subnet', () => {
  assert.equal(allocateIp6('fd00::/64', 'fd00::1:0/112', 'fd00::1', []), 'fd00::1:0');
  assert.equal(allocateIp6('fd00::/64', 'fd00::1:0/112', 'fd00::1', ['fd00::1:0']), 'fd00::1:1');
  // A pool that starts at the subnet still keeps back its network address and gateway.
  assert.equal(allocateIp6('fd00::/64', 'fd00::/120', 'fd00::1', []), 'fd00::2');
  // The last address of a pool is usable: IPv6 has no broadcast.
  assert.equal(allocateIp6('fd00::/64', 'fd00::4/127', 'fd00::1', ['fd00::4']), 'fd00::5');
});

test('allocateIp6: a full pool is refused in Docker\'s words', () => {
  const want = { code: 'WHARF_INVALID_ARGUMENT', message: 'no available IPv6 addresses on this network\'s address pools: fd00::/64' };
  assert.throws(() => allocateIp6('fd00::/64', 'fd00::4/127', 'fd00::1', ['fd00::4', 'fd00::5']), want);
  assert.throws(() => allocateIp6('fd00::/64', 'fd00::/127', 'fd00::1', []), want);
  assert.throws(() => allocateIp6('fd00::/64', 'fd00::/64', 'fd00::1', ['not-an-ip']), /invalid IP address: not-an-ip/);
});

test('allocateIp6: the scan is bounded by the taken set, not the pool size', () => {
  const taken: string[] = [];
  for (let i = 2; i < 5002; i++) taken.push(formatIp6((0xfdn << 120n) + BigInt(i)));
  // The taken addresses in reverse order, so no scan can lean on their order.
  assert.equal(allocateIp6('fd00::/8', 'fd00::/8', 'fd00::1', taken.reverse()), 'fd00::138a');
});

test('ulaPrefix: fd plus the first 40 bits of sha256(seed), a /48, the same for the same seed', () => {
  assert.equal(ulaPrefix('/var/lib/wharf'), 'fd1c:2525:9db0::/48');
  assert.equal(ulaPrefix('/var/lib/wharf'), ulaPrefix('/var/lib/wharf'));
  assert.equal(ulaPrefix('other'), 'fdd9:298a:10d1::/48');
  for (const seed of ['', 'a', 'b', 'host-1', 'host-2']) {
    const p = ulaPrefix(seed);
    assert.match(p, /^fd[0-9a-f]{2}:/, seed);
    assert.equal(formatCidr6(parseCidr6(p)), p, seed);
    assert.equal(parseCidr6(p).prefixLen, 48, seed);
  }
});

test('pickSubnet6: the first free /64 of the /48, skipping used ones and ignoring IPv4', () => {
  const pool = 'fd1c:2525:9db0::/48';
  assert.equal(pickSubnet6(pool, []), 'fd1c:2525:9db0::/64');
  assert.equal(pickSubnet6(pool, ['172.17.0.0/16', '10.0.0.0/8', '2001:db8::/32']), 'fd1c:2525:9db0::/64');
  assert.equal(pickSubnet6(pool, ['fd1c:2525:9db0::/64', 'fd1c:2525:9db0:1::5/64']), 'fd1c:2525:9db0:2::/64');
  assert.equal(pickSubnet6(pool, ['fd1c:2525:9db0::/63', '172.17.0.0/16']), 'fd1c:2525:9db0:2::/64');
  assert.equal(pickSubnet6(pool, ['fd1c:2525:9db0::1/128']), 'fd1c:2525:9db0:1::/64');
  assert.equal(pickSubnet6(pool, ['fd1c:2525:9db0::/49']), 'fd1c:2525:9db0:8000::/64');
  assert.equal(pickSubnet6(pool, ['fd1c:2525:9db0::/49', 'fd1c:2525:9db0:8000::/49']), undefined);
  assert.equal(pickSubnet6(pool, ['fd00::/8']), undefined);
  assert.equal(pickSubnet6(pool, ['::/0']), undefined);
  assert.throws(() => pickSubnet6('fd00::/64', []), { code: 'WHARF_INVALID_ARGUMENT' });
});

test('parseIp6AddrJson: global IPv6 addresses as their subnets', () => {
  const j = JSON.stringify([
    { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }, { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' }] },
    {
      ifname: 'eth0',
      addr_info: [
        { family: 'inet', local: '192.0.2.5', prefixlen: 24, scope: 'global' },
        { family: 'inet6', local: 'fd00::2', prefixlen: 64, scope: 'global' },
        { family: 'inet6', local: '2001:DB8:1::9', prefixlen: 48, scope: 'global' },
        { family: 'inet6', local: '2001:db8:2::9', prefixlen: 128, scope: 'global' },
        { family: 'inet6', local: '2001:db8:3::9', prefixlen: 0, scope: 'global' },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
        { family: 'inet6', local: 'not-an-ip', prefixlen: 64, scope: 'global' },
        { family: 'inet6', local: 'fd01::1', scope: 'global' },
      ],
    },
    { ifname: 'eth1' },
  ]);
  assert.deepEqual(parseIp6AddrJson(j), ['fd00::/64', '2001:db8:1::/48']);
  assert.deepEqual(parseIp6AddrJson('[{"ifname":"eth0","addr_info":[{"family":"inet6","local":"fd00::2","prefixlen":64,"scope":"global"}]}]'), ['fd00::/64']);
  assert.deepEqual(parseIp6AddrJson('garbage'), []);
  assert.deepEqual(parseIp6AddrJson('{}'), []);
  assert.deepEqual(parseIp6AddrJson(''), []);
});

test('parseProcIpv6Routes: destinations as CIDRs, default, host, link-local and multicast left out', () => {
  const text = [
    'fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
    '20010db8000100000000000000000000 30 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
    'fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0',
    '00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo',
    'fd000000000000000000000000000002 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001     eth0',
    'ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
    '80000000000000000000000000000000 01 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     tun0',
    'garbage',
    '',
  ].join('\n');
  assert.deepEqual(parseProcIpv6Routes(text), ['fd00::/64', '2001:db8:1::/48', '8000::/1']);
  assert.deepEqual(parseProcIpv6Routes(text.split('\n')[0]), ['fd00::/64']);
  assert.deepEqual(parseProcIpv6Routes(''), []);
});
