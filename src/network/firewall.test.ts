// The bridge driver's pure parts: rule texts, restore scripts, the save parser, port claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BridgeNetwork, Endpoint } from './driver.js';
import { baseRules, endpointRules, networkRules, parseComment, parseSave, restoreScript, ruleText } from './_firewall.js';
import { PortClaims, allocatedError, bindError, endpointLabel } from './_ports.js';
import { bridgeBatch, bridgeMac, hostBatch, namespaceBatch, vethName } from './_links.js';
import { NO_FORWARD_DNS } from './dns.js';

const net: BridgeNetwork = { id: 'a'.repeat(64), bridge: 'wharf0', subnet: '10.88.0.0/16', gateway: '10.88.0.1', internal: false, icc: true, masquerade: true, mtu: 0 };
const ep: Endpoint = {
  containerId: 'c'.repeat(64), network: net, ifname: 'eth0', ip: '10.88.0.2', prefixLen: 16, mac: '02:42:0a:58:00:02', defaultRoute: true,
  ports: [{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }, { protocol: 'udp', hostIp: '127.0.0.1', hostPort: 53, containerPort: 53 }],
};

test('a network masquerades its subnet out, unless internal or masquerade is off', () => {
  const masq = (n: BridgeNetwork) => networkRules('wharf', n).filter((r) => r.spec.includes('MASQUERADE') && r.spec.includes(`-s ${n.subnet} ! -o`));
  assert.equal(masq(net).length, 1);
  assert.equal(masq({ ...net, masquerade: false }).length, 0);
  assert.deepEqual(networkRules('wharf', { ...net, internal: true }).filter((r) => r.table !== 'filter'), []);
  assert.ok(networkRules('wharf', { ...net, icc: false }).some((r) => r.spec === '-i wharf0 -o wharf0 -m comment --comment wharf:net=aaaaaaaaaaaa -j DROP'));
});

test("DNS to a network's gateway: accepted from its bridge and lo, refused from anywhere else; internal networks also refuse the no-forward upstream", () => {
  const input = (n: BridgeNetwork) => networkRules('wharf', n).filter((r) => r.chain === 'WHARF-INPUT').map((r) => r.spec.replace(' -m comment --comment wharf:net=aaaaaaaaaaaa', ''));
  assert.deepEqual(input(net), [
    '-d 10.88.0.1/32 -i wharf0 -p udp -m udp --dport 53 -j ACCEPT',
    '-d 10.88.0.1/32 -i lo -p udp -m udp --dport 53 -j ACCEPT',
    '-d 10.88.0.1/32 -p udp -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable',
    '-d 10.88.0.1/32 -i wharf0 -p tcp -m tcp --dport 53 -j ACCEPT',
    '-d 10.88.0.1/32 -i lo -p tcp -m tcp --dport 53 -j ACCEPT',
    '-d 10.88.0.1/32 -p tcp -m tcp --dport 53 -j REJECT --reject-with icmp-port-unreachable',
  ]);
  const internal = input({ ...net, internal: true }).filter((s) => s.startsWith(`-d ${NO_FORWARD_DNS}/32`));
  assert.deepEqual(internal, ['udp', 'tcp'].map((p) => `-d ${NO_FORWARD_DNS}/32 -i lo -p ${p} -m ${p} --dport 53 -j REJECT --reject-with icmp-port-unreachable`));
  // Every rule of the chain matches DNS only, which is all its jumps from INPUT let in.
  const jumps = baseRules('wharf').jumps.filter((j) => j.chain === 'INPUT');
  assert.deepEqual(jumps.map((j) => j.spec.split(' -m comment')[0]), ['-p udp -m udp --dport 53', '-p tcp -m tcp --dport 53']);
});

test('published ports become DNAT rules, and a loopback one a drop of the same port from elsewhere', () => {
  assert.deepEqual(endpointRules('wharf', ep).map((r) => `${r.table} ${r.chain} ${r.spec}`), [
    'nat WHARF-DNAT -p tcp -m tcp --dport 8080 -m comment --comment wharf:net=aaaaaaaaaaaa:ctr=cccccccccccc -j DNAT --to-destination 10.88.0.2:80',
    'nat WHARF-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 53 -m comment --comment wharf:net=aaaaaaaaaaaa:ctr=cccccccccccc -j DNAT --to-destination 10.88.0.2:53',
    'raw WHARF-PREROUTING -d 127.0.0.1/32 ! -i lo -p udp -m udp --dport 53 -m comment --comment wharf:net=aaaaaaaaaaaa:ctr=cccccccccccc -j DROP',
  ]);
  assert.deepEqual(endpointRules('wharf', { ...ep, network: { ...net, internal: true } }), []);
});

test('comments name their owner; other tags and foreign comments are not ours', () => {
  assert.deepEqual(parseComment('wharf', 'wharf:net=aaaaaaaaaaaa'), { net: 'aaaaaaaaaaaa' });
  assert.deepEqual(parseComment('wharf', 'wharf:net=aaaaaaaaaaaa:ctr=cccccccccccc'), { net: 'aaaaaaaaaaaa', ctr: 'cccccccccccc' });
  assert.deepEqual(parseComment('wharf', 'wharf'), {});
  assert.equal(parseComment('wharf', 'wt1:net=aaaaaaaaaaaa'), undefined);
  assert.equal(parseComment('wharf', 'name: "podman" id: "x"'), undefined);
});

test('restore scripts: new chains, deletions, flushes, then rules, table by table', () => {
  const script = restoreScript({
    create: [{ table: 'nat', chain: 'WHARF-DNAT' }],
    del: [{ table: 'filter', chain: 'WHARF-FORWARD', spec: '-o x -j DROP' }],
    insert: [{ table: 'filter', chain: 'FORWARD', spec: '-j A' }, { table: 'filter', chain: 'FORWARD', spec: '-j B' }],
    append: [{ table: 'nat', chain: 'WHARF-DNAT', spec: '-j RETURN' }],
  });
  assert.equal(script, '*nat\n:WHARF-DNAT - [0:0]\n-A WHARF-DNAT -j RETURN\nCOMMIT\n*filter\n-D WHARF-FORWARD -o x -j DROP\n-I FORWARD 1 -j B\n-I FORWARD 1 -j A\nCOMMIT\n');
  assert.equal(restoreScript({}), '');
});

test('iptables-save output: chains, rules and comments, quoted or not; other tables skipped', () => {
  const saved = parseSave(`# Generated by iptables-save
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j MARK --set-mark 1
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:WHARF-DNAT - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment wharf -j WHARF-DNAT
-A WHARF-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "wharf:net=aaaaaaaaaaaa:ctr=cccccccccccc" -j DNAT --to-destination 10.88.0.2:80
COMMIT
`);
  assert.deepEqual([...saved.chains], ['nat/PREROUTING', 'nat/WHARF-DNAT']);
  assert.deepEqual(saved.rules.map((r) => [r.chain, r.comment]), [['PREROUTING', 'wharf'], ['WHARF-DNAT', 'wharf:net=aaaaaaaaaaaa:ctr=cccccccccccc']]);
  const wanted = endpointRules('wharf', ep)[0];
  assert.equal(ruleText(saved.rules[1]), ruleText(wanted));
});

test('port claims: the same port and protocol on the same address, or on every address, clash', () => {
  const claims = new PortClaims();
  assert.equal(claims.claim('a', [{ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 80, containerPort: 80 }]), undefined);
  assert.equal(claims.claim('b', [{ protocol: 'udp', hostIp: '', hostPort: 80, containerPort: 80 }]), undefined);
  assert.equal(claims.claim('b', [{ protocol: 'tcp', hostIp: '127.0.0.2', hostPort: 80, containerPort: 80 }]), undefined);
  const clash = { protocol: 'tcp' as const, hostIp: '0.0.0.0', hostPort: 80, containerPort: 1 };
  // All or nothing: the first port of a failed claim is not kept.
  assert.deepEqual(claims.claim('c', [{ protocol: 'tcp', hostIp: '', hostPort: 81, containerPort: 1 }, clash]), clash);
  assert.equal(claims.claim('d', [{ protocol: 'tcp', hostIp: '', hostPort: 81, containerPort: 1 }]), undefined);
  claims.release('a');
  claims.release('b');
  assert.equal(claims.claim('c', [clash]), undefined);
  // The same owner claiming again (an attach run twice) is no clash.
  assert.equal(claims.claim('c', [clash]), undefined);
});

test('Docker\'s texts for a port taken by an endpoint and by another process', () => {
  const p = { protocol: 'tcp' as const, hostIp: '', hostPort: 8080, containerPort: 80 };
  assert.equal(allocatedError(endpointLabel('web'), p).message, 'driver failed programming external connectivity on endpoint web: Bind for 0.0.0.0:8080 failed: port is already allocated');
  assert.equal(bindError(endpointLabel('web', 'e1'), { ...p, protocol: 'udp', hostIp: '10.0.0.9' }, 'EADDRNOTAVAIL').message, 'driver failed programming external connectivity on endpoint web (e1): Error starting userland proxy: listen udp4 10.0.0.9:8080: bind: cannot assign requested address');
  // An IPv6 address in brackets, as Go's net.JoinHostPort writes it.
  assert.equal(allocatedError(endpointLabel('web'), { ...p, hostIp: '::' }).message, 'driver failed programming external connectivity on endpoint web: Bind for [::]:8080 failed: port is already allocated');
  assert.equal(bindError(endpointLabel('web'), { ...p, hostIp: 'fd00::2' }, 'EADDRINUSE').message, 'driver failed programming external connectivity on endpoint web: Error starting userland proxy: listen tcp6 [fd00::2]:8080: bind: address already in use');
});

test('device names and scripts: one veth name per container and network, within 15 characters', () => {
  const v = vethName(ep.containerId, net.id);
  assert.match(v, /^veth[0-9a-f]{11}$/);
  assert.notEqual(vethName(ep.containerId, 'b'.repeat(64)), v);
  assert.match(bridgeMac(net.id), /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
  assert.equal(hostBatch('wharf', { ...ep, network: { ...net, mtu: 1400 } }, v, '/run/wharf/netns/x'),
    `link add name ${v} mtu 1400 master wharf0 up type veth peer name eth0 netns /run/wharf/netns/x address 02:42:0a:58:00:02 mtu 1400\nlink set dev ${v} alias wharf:net=aaaaaaaaaaaa:ctr=cccccccccccc\n`);
  assert.equal(namespaceBatch(ep), 'addr replace 10.88.0.2/16 broadcast + dev eth0\nlink set dev eth0 up\nroute replace default via 10.88.0.1 dev eth0\n');
  assert.doesNotMatch(namespaceBatch({ ...ep, network: { ...net, internal: true } }), /default/);
});

test('IPv6: the forwarding rules again for ip6tables, masquerade of the IPv6 subnet, DNAT to the container\'s IPv6 address; no DNS or raw rules', () => {
  const n6: BridgeNetwork = { ...net, ipv6: { subnet: 'fd00:aa::/64', gateway: 'fd00:aa::1' } };
  const rules = networkRules('wharf', n6);
  const v4 = rules.filter((r) => !r.v6);
  const v6 = rules.filter((r) => r.v6);
  assert.deepEqual(v4, networkRules('wharf', net));
  assert.deepEqual(v6.filter((r) => r.table === 'filter').map((r) => `${r.chain} ${r.spec}`), v4.filter((r) => r.table === 'filter' && r.chain !== 'WHARF-INPUT').map((r) => `${r.chain} ${r.spec}`));
  assert.deepEqual(v6.filter((r) => r.table !== 'filter').map((r) => r.spec.replace(' -m comment --comment wharf:net=aaaaaaaaaaaa', '')), [
    '-s fd00:aa::/64 ! -o wharf0 -j MASQUERADE',
    '-s fd00:aa::/64 -o wharf0 -m conntrack --ctstate DNAT -j MASQUERADE',
  ]);
  const ep6: Endpoint = { ...ep, network: n6, ip6: { ip: 'fd00:aa::2', prefixLen: 64 }, ports: [...ep.ports, { protocol: 'tcp', hostIp: 'fd00:aa::1', hostPort: 9090, containerPort: 90 }] };
  const dnat = endpointRules('wharf', ep6).map((r) => `${r.v6 ? 6 : 4} ${r.table} ${r.spec.replace(/ -m comment --comment \S+/, '')}`);
  assert.deepEqual(dnat, [
    '4 nat -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80',
    '6 nat -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:aa::2]:80',
    '4 nat -d 127.0.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.88.0.2:53',
    '4 raw -d 127.0.0.1/32 ! -i lo -p udp -m udp --dport 53 -j DROP',
    '6 nat -d fd00:aa::1/128 -p tcp -m tcp --dport 9090 -j DNAT --to-destination [fd00:aa::2]:90',
  ]);
  // An endpoint without IPv6 gets IPv4 rules only, whatever its network has.
  assert.ok(endpointRules('wharf', ep).every((r) => !r.v6));
  // `::` is every IPv6 address and 0.0.0.0 every IPv4 one, as in Docker: one family each.
  const any = (hostIp: string) => endpointRules('wharf', { ...ep6, ports: [{ protocol: 'tcp', hostIp, hostPort: 7070, containerPort: 70 }] }).map((r) => `${r.v6 ? 6 : 4} ${r.spec.replace(/ -m comment --comment \S+/, '')}`);
  assert.deepEqual(any('::'), ['6 -p tcp -m tcp --dport 7070 -j DNAT --to-destination [fd00:aa::2]:70']);
  assert.deepEqual(any('0.0.0.0'), ['4 -p tcp -m tcp --dport 7070 -j DNAT --to-destination 10.88.0.2:70']);
  const base6 = baseRules('wharf', true);
  assert.deepEqual(base6.chains.filter((c) => c.v6).map((c) => `${c.table}/${c.chain}`), ['filter/WHARF-FORWARD', 'filter/WHARF-ISOLATION', 'filter/WHARF-ISOLATION-2', 'filter/WHARF-OUT', 'nat/WHARF-DNAT', 'nat/WHARF-POSTROUTING']);
  assert.deepEqual(baseRules('wharf').chains.filter((c) => c.v6), []);
});

test('restore scripts and saves per family: ip6tables gets only the IPv6 operations, and saved IPv6 rules say so', () => {
  const ops = { create: [{ table: 'nat' as const, chain: 'X' }, { table: 'nat' as const, chain: 'X', v6: true }], append: [{ table: 'nat' as const, chain: 'X', spec: '-j A' }, { table: 'nat' as const, chain: 'X', spec: '-j B', v6: true }] };
  assert.equal(restoreScript(ops), '*nat\n:X - [0:0]\n-A X -j A\nCOMMIT\n');
  assert.equal(restoreScript(ops, true), '*nat\n:X - [0:0]\n-A X -j B\nCOMMIT\n');
  assert.equal(restoreScript({ append: [ops.append[0]] }, true), '');
  const saved = parseSave('*nat\n:X - [0:0]\n-A X -s fd00::/64 -m comment --comment wharf:net=aaaaaaaaaaaa -j MASQUERADE\nCOMMIT\n', true);
  assert.deepEqual([...saved.chains], ['6:nat/X']);
  assert.equal(saved.rules[0].v6, true);
  assert.notEqual(ruleText(saved.rules[0]), ruleText({ ...saved.rules[0], v6: false }));
});

test('IPv6 devices: the gateway on the bridge and the address in the namespace without DAD, and an IPv6 default route', () => {
  const n6: BridgeNetwork = { ...net, ipv6: { subnet: 'fd00:aa::/64', gateway: 'fd00:aa::1' } };
  assert.match(bridgeBatch('wharf', n6, true), /^addr replace fd00:aa::1\/64 dev wharf0 nodad$/m);
  const ep6: Endpoint = { ...ep, network: n6, ip6: { ip: 'fd00:aa::2', prefixLen: 64 } };
  assert.equal(namespaceBatch(ep6), 'addr replace 10.88.0.2/16 broadcast + dev eth0\naddr replace fd00:aa::2/64 dev eth0 nodad\nlink set dev eth0 up\nroute replace default via 10.88.0.1 dev eth0\nroute replace default via fd00:aa::1 dev eth0\n');
  assert.doesNotMatch(namespaceBatch({ ...ep6, network: { ...n6, internal: true } }), /default/);
});
