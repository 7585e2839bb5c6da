import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostConfig } from '../types/index.js';
import { PortInUseError, type BridgeNetwork, type Endpoint, type NetworkDriver } from '../network/index.js';
import { silentLogger } from '../util/index.js';
import { NetworkService } from './networks.js';
import type { NetworkAttachment, NetworkRequest } from './containers/index.js';

/** Records what the service asked of the kernel; `failAttach` makes the next attach throw. */
class FakeDriver implements NetworkDriver {
  calls: string[] = [];
  namespaces = new Set<string>();
  attached = new Map<string, Endpoint>();
  cleaned?: { networks: BridgeNetwork[]; endpoints: Endpoint[] };
  /** A message, or a port the driver finds taken (it words that as Docker does, endpoint included). */
  failAttach?: string | { port: number };
  async ensureNetwork(n: BridgeNetwork) {
    this.calls.push(`ensure ${n.bridge} ${n.subnet}`);
  }
  async removeNetwork(n: BridgeNetwork) {
    this.calls.push(`remove ${n.bridge}`);
  }
  async createNamespace(id: string) {
    this.namespaces.add(id);
    return `/run/wharf/netns/${id}`;
  }
  async removeNamespace(id: string) {
    this.namespaces.delete(id);
  }
  async attach(_ns: string, ep: Endpoint) {
    const fail = this.failAttach;
    if (typeof fail === 'object') {
      throw new PortInUseError(`driver failed programming external connectivity on endpoint ${ep.name} (${ep.endpointId}): Bind for 0.0.0.0:${fail.port} failed: port is already allocated`, '0.0.0.0', fail.port, 'tcp');
    }
    if (fail) throw new Error(fail);
    this.attached.set(ep.containerId, ep);
    this.calls.push(`attach ${ep.containerId} ${ep.ifname} ${ep.network.bridge} ${ep.ip}`);
  }
  /** Host ports another process holds, as the kernel would say. */
  busyPorts = new Set<number>();
  async hostPortFree(p: { hostPort: number }) {
    return !this.busyPorts.has(p.hostPort);
  }
  async detach(_ns: string | undefined, ep: Endpoint) {
    this.attached.delete(ep.containerId);
    this.calls.push(`detach ${ep.containerId} ${ep.ifname}`);
  }
  async cleanup(live: { networks: BridgeNetwork[]; endpoints: Endpoint[] }) {
    this.cleaned = live;
  }
}

const HOST = [
  { subnet: '192.0.2.0/24', dev: 'eth0' },
  { subnet: '172.17.0.0/16', dev: 'docker0' },
  // A data root made again finds its own bridge still up: that subnet is not another's.
  { subnet: '172.18.0.0/16', dev: 'wharf0' },
];

const HOST6 = [{ subnet: 'fd00::/64', dev: 'eth0' }];

async function setup(t: { after(fn: () => Promise<void>): void }, bridge = 'wharf0') {
  const root = await mkdtemp(join(tmpdir(), 'wt-netsvc-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const driver = new FakeDriver();
  const make = async (d: NetworkDriver | null = driver, b = bridge, bip?: string) => {
    const s = new NetworkService({ root, driver: d ?? undefined, bridge: b, ...(bip ? { bip } : {}), logger: silentLogger, hostSubnets: async () => HOST, hostSubnets6: async () => HOST6, portRange: async () => '40000 40009' });
    await s.init();
    return s;
  };
  return { root, driver, make, svc: await make() };
}

/** An attach with its wiring done, as a start waits for it; the attachment without its `ready`. */
async function attached(s: NetworkService, r: NetworkRequest): Promise<NetworkAttachment> {
  const { ready, ...a } = await s.attach(r);
  await ready;
  return a;
}

const req = (containerId: string, hostConfig: HostConfig = {}, exposedPorts?: Record<string, object>) => ({ containerId, name: `n-${containerId}`, hostname: 'h', hostConfig, networkingConfig: {}, exposedPorts });

test('init: the default network on wharf0, in the first subnet no other device uses, kept across restarts', async (t) => {
  const { driver, make, svc } = await setup(t);
  const bridge = svc.inspect('bridge');
  assert.deepEqual(bridge.IPAM.Config, [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }]);
  assert.equal(bridge.Options['com.docker.network.bridge.name'], 'wharf0');
  assert.match(bridge.Id, /^[0-9a-f]{64}$/);
  assert.deepEqual(driver.calls, ['ensure wharf0 172.18.0.0/16']);
  const again = await make();
  assert.equal(again.inspect('bridge').Id, bridge.Id);
  assert.equal(again.inspect(bridge.Id.slice(0, 6)).Name, 'bridge');
  assert.throws(() => again.inspect('nope'), { code: 'WHARF_NOT_FOUND', message: 'network nope not found' });
});

test('a changed --bip or --bridge remakes the default network at start, keeping its ID, unless a container is on it', async (t) => {
  const { driver, make, svc } = await setup(t);
  const id = svc.inspect('bridge').Id;
  driver.calls = [];
  const moved = await make(driver, 'wharf0', '10.99.0.1/24');
  assert.deepEqual(moved.inspect('bridge').IPAM.Config, [{ Subnet: '10.99.0.0/24', Gateway: '10.99.0.1' }]);
  assert.equal(moved.inspect('bridge').Id, id);
  assert.deepEqual(driver.calls, ['remove wharf0', 'ensure wharf0 10.99.0.0/24']);
  driver.calls = [];
  const same = await make(driver, 'wharf0', '10.99.0.1/24');
  assert.deepEqual(driver.calls, ['ensure wharf0 10.99.0.0/24']);
  // A gateway other than the first address is a change too.
  await attached(same, req('c1', { NetworkMode: 'default' }));
  const held = await make(driver, 'wharf0', '10.99.0.9/24');
  assert.deepEqual(held.inspect('bridge').IPAM.Config, [{ Subnet: '10.99.0.0/24', Gateway: '10.99.0.1' }], 'a network in use is left as it is');
  await held.detach('c1');
  const renamed = await make(driver, 'wharf9', '10.99.0.9/24');
  assert.deepEqual(renamed.inspect('bridge').IPAM.Config, [{ Subnet: '10.99.0.0/24', Gateway: '10.99.0.9' }]);
  assert.equal(renamed.inspect('bridge').Options['com.docker.network.bridge.name'], 'wharf9');
  assert.ok(driver.calls.includes('remove wharf0'));
});

test('attach: a namespace, an address after the gateway, Docker\'s MAC, the endpoint as inspect shows it', async (t) => {
  const { driver, svc } = await setup(t);
  const a = await attached(svc, req('c1', { NetworkMode: 'default' }));
  assert.deepEqual(a.namespace, { mode: 'path', path: '/run/wharf/netns/c1' });
  assert.equal(a.sandboxKey, '/run/wharf/netns/c1');
  const ep = a.endpoints.bridge;
  assert.equal(ep.IPAddress, '172.18.0.2');
  assert.equal(ep.Gateway, '172.18.0.1');
  assert.equal(ep.IPPrefixLen, 16);
  assert.equal(ep.MacAddress, '02:42:ac:12:00:02');
  assert.equal(ep.NetworkID, svc.inspect('bridge').Id);
  assert.match(ep.EndpointID ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(ep), ['IPAMConfig', 'Links', 'Aliases', 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'MacAddress', 'DriverOpts', 'DNSNames']);
  const d = driver.attached.get('c1')!;
  assert.deepEqual({ ip: d.ip, prefixLen: d.prefixLen, ifname: d.ifname, defaultRoute: d.defaultRoute, bridge: d.network.bridge }, { ip: '172.18.0.2', prefixLen: 16, ifname: 'eth0', defaultRoute: true, bridge: 'wharf0' });
});

test('attach: host and none as before, without a namespace of the service\'s', async (t) => {
  const { driver, svc } = await setup(t);
  assert.deepEqual((await attached(svc, req('h', { NetworkMode: 'host' }))).namespace, { mode: 'host' });
  const none = await attached(svc, req('n', { NetworkMode: 'none', ExtraHosts: ['foo:1.2.3.4'], Dns: ['9.9.9.9'] }));
  assert.deepEqual(none.namespace, { mode: 'new' });
  assert.deepEqual(Object.keys(none.endpoints), ['none']);
  assert.deepEqual(none.extraHosts, ['foo:1.2.3.4']);
  assert.deepEqual(none.dns, { servers: ['9.9.9.9'], search: [], options: [] });
  assert.equal(driver.namespaces.size, 0);
});

test('addresses are not reused while held, and are after release; detach is idempotent', async (t) => {
  const { driver, svc } = await setup(t);
  const ip = async (id: string) => (await attached(svc, req(id))).endpoints.bridge.IPAddress;
  assert.equal(await ip('a'), '172.18.0.2');
  assert.equal(await ip('b'), '172.18.0.3');
  await svc.detach('a');
  await svc.detach('a');
  await svc.detach('never');
  assert.equal(driver.namespaces.has('a'), false);
  assert.equal(svc.current('a'), undefined);
  assert.equal(await ip('c'), '172.18.0.2');
});

test('records survive a reload: current() and the network\'s Containers after a restart; cleanup gets them', async (t) => {
  const { driver, make, svc } = await setup(t);
  const a = await attached(svc, req('c1', { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }, { '80/tcp': {} }));
  const again = await make();
  assert.deepEqual(again.current('c1'), a);
  assert.deepEqual(driver.cleaned?.endpoints.map((e) => [e.containerId, e.ip, e.ports]), [['c1', '172.18.0.2', [{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }]]]);
  assert.deepEqual(again.inspect('bridge').Containers, {
    c1: { Name: 'n-c1', EndpointID: a.endpoints.bridge.EndpointID, MacAddress: '02:42:ac:12:00:02', IPv4Address: '172.18.0.2/16', IPv6Address: '' },
  });
  assert.deepEqual(again.list()[0].Containers, {}, 'the list leaves Containers empty, as Docker');
  assert.equal((await attached(again, req('c2'))).endpoints.bridge.IPAddress, '172.18.0.3', 'the reloaded address stays held');
  await again.detach('c1');
  assert.equal(again.current('c1'), undefined);
});

test('releaseOrphans: the records of containers that are gone are detached, the others kept', async (t) => {
  const { driver, svc } = await setup(t);
  await attached(svc, req('kept'));
  await attached(svc, req('gone'));
  await svc.releaseOrphans((id) => id === 'kept');
  assert.deepEqual([...driver.namespaces], ['kept']);
  assert.equal(svc.current('gone'), undefined);
  assert.ok(svc.current('kept'));
});

test('a failed driver.attach rejects ready; detach then frees the address, removes the namespace and leaves no record', async (t) => {
  const { root, driver, svc } = await setup(t);
  // What a start does: wait for the wiring, and detach when it failed.
  const wired = async (r: ReturnType<typeof req>) => {
    const a = await svc.attach(r);
    try {
      await a.ready;
    } catch (err) {
      await svc.detach(r.containerId);
      throw err;
    }
    return a;
  };
  driver.failAttach = { port: 8080 };
  await assert.rejects(wired(req('c1', { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } })), {
    message: /^driver failed programming external connectivity on endpoint n-c1 \([0-9a-f]{64}\): Bind for 0\.0\.0\.0:8080 failed: port is already allocated$/,
  });
  assert.equal(driver.namespaces.size, 0);
  assert.equal(svc.current('c1'), undefined);
  assert.deepEqual(await readdir(join(root, 'endpoints')), []);
  driver.failAttach = 'creating veth wt1: file exists';
  await assert.rejects(wired(req('c1')), { message: 'failed to create endpoint n-c1 on network bridge: creating veth wt1: file exists' });
  assert.equal(driver.namespaces.size, 0);
  driver.failAttach = undefined;
  const a = await wired(req('c2', { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }));
  assert.equal(a.endpoints.bridge.IPAddress, '172.18.0.2');
});

test('a detach while the wiring runs waits for it, then takes everything back', async (t) => {
  const { driver, svc } = await setup(t);
  const a = await attached(svc, req('c1'));
  await svc.detach('c1');
  await a.ready;
  assert.deepEqual([driver.namespaces.size, driver.attached.size, svc.current('c1')], [0, 0, undefined]);
});

test('ports: -P and ephemeral ports from the kernel\'s range; a port held by another container is refused', async (t) => {
  const { driver, svc } = await setup(t);
  const a = await attached(svc, req('c1', { PublishAllPorts: true, PortBindings: { '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }] } }, { '80/tcp': {}, '443/tcp': {}, '53/udp': {} }));
  assert.equal(JSON.stringify(a.ports), '{"443/tcp":[{"HostIp":"0.0.0.0","HostPort":"40002"}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":"40000"}],"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"40001"}]}');
  assert.equal(driver.attached.get('c1')?.ports.length, 3);
  const b = await attached(svc, req('c2', { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }, { '80/tcp': {}, '22/tcp': {} }));
  assert.equal(JSON.stringify(b.ports), '{"22/tcp":null,"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}');
  await assert.rejects(attached(svc, req('c3', { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } })), {
    message: /^driver failed programming external connectivity on endpoint n-c3 \([0-9a-f]{64}\): Bind for 127\.0\.0\.1:8080 failed: port is already allocated$/,
  });
  await assert.rejects(attached(svc, req('c4', { PortBindings: { '99999/tcp': [{ HostPort: '1' }] } })), { code: 'WHARF_INVALID_ARGUMENT', message: 'invalid port specification: "99999"' });
  assert.deepEqual([...driver.namespaces].sort(), ['c1', 'c2']);
  assert.equal(driver.namespaces.has('c3'), false);
  await svc.detach('c2');
  await attached(svc, req('c3', { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } }));
});

test('ports the engine picks that another process holds are passed over; a port the user names is left to the driver', async (t) => {
  const { driver, svc } = await setup(t);
  driver.busyPorts = new Set([40000, 40001, 8080]);
  const [a, b] = await Promise.all([
    attached(svc, req('c1', { PublishAllPorts: true }, { '80/tcp': {} })),
    attached(svc, req('c2', { PortBindings: { '80/tcp': [{ HostPort: '8080' }], '81/tcp': [{ HostIp: '127.0.0.1', HostPort: '40001-40003' }] } })),
  ]);
  const picked = [a.ports?.['80/tcp']?.[0].HostPort, b.ports?.['81/tcp']?.[0].HostPort];
  assert.deepEqual(picked.sort(), ['40002', '40003']);
  assert.equal(b.ports?.['80/tcp']?.[0].HostPort, '8080');
  assert.notEqual(a.endpoints.bridge.IPAddress, b.endpoints.bridge.IPAddress);
  // Every port of the range held: the allocator's text, and nothing left behind.
  driver.busyPorts = new Set(Array.from({ length: 10 }, (_, i) => 40000 + i));
  await assert.rejects(attached(svc, req('c3', { PublishAllPorts: true }, { '80/tcp': {} })), {
    message: /^driver failed programming external connectivity on endpoint n-c3 \([0-9a-f]{64}\): Bind for 0\.0\.0\.0:0 failed: port is already allocated$/,
  });
  assert.equal(driver.namespaces.has('c3'), false);
});

test('--bridge none: no default network, loopback only on it, user networks as ever; a stored default network goes', async (t) => {
  const { driver, make } = await setup(t);
  const off = await make(driver, 'none');
  assert.equal(off.list().some((n) => n.Name === 'bridge'), false);
  assert.ok(driver.calls.includes('remove wharf0'), driver.calls.join('; '));
  assert.throws(() => off.inspect('bridge'), { message: 'network bridge not found' });
  off.check({}, undefined);
  const a = await attached(off, req('c1'));
  assert.deepEqual([a.namespace, Object.keys(a.endpoints), a.endpoints.bridge.IPAddress, driver.namespaces.size], [{ mode: 'new' }, ['bridge'], '', 0]);
  await off.create({ Name: 'front', IPAM: { Config: [{ Subnet: '10.9.0.0/24' }] } });
  const b = await attached(off, req('c2', { NetworkMode: 'front' }));
  await b.ready;
  assert.equal(b.endpoints.front.IPAddress, '10.9.0.2');
  assert.equal((await make(driver, 'none')).list().some((n) => n.Name === 'bridge'), false);
});

test('without a driver, bridge containers get loopback only, as before bridges', async (t) => {
  const { make } = await setup(t);
  const svc = await make(null);
  const a = await svc.attach(req('c1'));
  assert.deepEqual(a.namespace, { mode: 'new' });
  assert.equal(a.endpoints.bridge.IPAddress, '');
});

test('list: bridge, then the predefined none and host', async (t) => {
  const { svc } = await setup(t);
  const net = (name: string, driver: string) =>
    `{"Name":"${name}","Id":"${name}","Created":"0001-01-01T00:00:00Z","Scope":"local","Driver":"${driver}","EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}}`;
  const [bridge, ...rest] = svc.list();
  assert.equal(JSON.stringify(rest), `[${net('none', 'null')},${net('host', 'host')}]`);
  assert.equal(
    JSON.stringify({ ...bridge, Id: 'x', Created: 'y' }),
    '{"Name":"bridge","Id":"x","Created":"y","Scope":"local","Driver":"bridge","EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},' +
      '"Options":{"com.docker.network.bridge.default_bridge":"true","com.docker.network.bridge.enable_icc":"true","com.docker.network.bridge.enable_ip_masquerade":"true","com.docker.network.bridge.host_binding_ipv4":"0.0.0.0","com.docker.network.bridge.name":"wharf0","com.docker.network.driver.mtu":"1500"},"Labels":{}}',
  );
  assert.equal(JSON.stringify(svc.inspect('host')), net('host', 'host'));
});

test('prune: nothing to delete; a filter Docker refuses is refused', async (t) => {
  const { svc: n } = await setup(t);
  assert.deepEqual(await n.prune({}), { NetworksDeleted: null });
  assert.deepEqual(await n.prune({ until: ['1h'], label: ['a'], 'label!': ['b'] }), { NetworksDeleted: null });
  await assert.rejects(n.prune({ all: ['1'] }), { code: 'WHARF_INVALID_ARGUMENT', message: "invalid filter 'all'" });
});

const onNet = (containerId: string, mode: string, endpoints: Record<string, object> = {}) => ({ ...req(containerId, { NetworkMode: mode }), networkingConfig: { EndpointsConfig: endpoints } });

test('create: Docker\'s validation texts; a subnet picked when none given; the record survives a reload', async (t) => {
  const { driver, make, svc } = await setup(t);
  const bad = async (body: object, code: string, message: string) => assert.rejects(svc.create({ Name: 'x', ...body }), { code, message });
  await bad({ Driver: 'overlay' }, 'WHARF_NOT_FOUND', 'could not find plugin overlay in v1 plugin registry: plugin not found');
  await bad({ Name: 'bridge' }, 'WHARF_CONFLICT', 'network with name bridge already exists');
  await bad({ IPAM: { Config: [{ Subnet: '10.1.0.0/33' }] } }, 'WHARF_INVALID_ARGUMENT', 'invalid CIDR address: 10.1.0.0/33');
  await bad({ IPAM: { Config: [{ Subnet: '10.1.0.0/16', Gateway: '10.2.0.1' }] } }, 'WHARF_INVALID_ARGUMENT', "invalid gateway 10.2.0.1: parent subnet 10.1.0.0/16 doesn't contain ip address 10.2.0.1");
  await bad({ IPAM: { Config: [{ Subnet: '10.1.0.0/16', IPRange: '10.2.0.0/24' }] } }, 'WHARF_INVALID_ARGUMENT', "invalid ip-range 10.2.0.0/24: parent subnet 10.1.0.0/16 doesn't contain ip-range 10.2.0.0/24");
  await bad({ IPAM: { Config: [{ Subnet: '172.18.5.0/24' }] } }, 'WHARF_FORBIDDEN', 'Pool overlaps with other one on this address space');
  await bad({ IPAM: { Config: [{ Subnet: '192.0.2.0/25' }] } }, 'WHARF_FORBIDDEN', 'Pool overlaps with other one on this address space');
  const { Id, Warning } = await svc.create({ Name: 'front', Labels: { a: '1' }, Internal: true, IPAM: { Config: [{ Subnet: '10.1.0.0/16', IPRange: '10.1.5.0/24' }] } });
  assert.equal(Warning, '');
  await bad({ Name: 'front' }, 'WHARF_CONFLICT', 'network with name front already exists');
  const auto = await svc.create({ Name: 'back', Options: { 'com.docker.network.bridge.name': 'wt-back0' } });
  const f = (await make()).inspect('front');
  assert.equal(f.Id, Id);
  assert.deepEqual(f.IPAM.Config, [{ Subnet: '10.1.0.0/16', IPRange: '10.1.5.0/24', Gateway: '10.1.0.1' }]);
  assert.equal(f.Internal, true);
  assert.deepEqual(f.Labels, { a: '1' });
  assert.deepEqual(svc.inspect(auto.Id).IPAM.Config, [{ Subnet: '172.19.0.0/16', Gateway: '172.19.0.1' }]);
  assert.ok(driver.calls.includes(`ensure br-${Id.slice(0, 12)} 10.1.0.0/16`));
  assert.ok(driver.calls.includes('ensure wt-back0 172.19.0.0/16'));
});

test('IPv6: --ipv6 with a subnet or from the daemon\'s own /48, both families in inspect and at attach; IPv6 entries count only with EnableIPv6', async (t) => {
  const { driver, make, svc } = await setup(t);
  const bad = async (body: object, code: string, message: string) => assert.rejects(svc.create({ Name: 'x', ...body }), { code, message });
  await bad({ EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd00:1::1/64' }] } }, 'WHARF_INVALID_ARGUMENT', 'invalid subnet fd00:1::1/64: it should be fd00:1::/64');
  await bad({ EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd00::/48' }] } }, 'WHARF_FORBIDDEN', 'Pool overlaps with other one on this address space');
  await bad({ EnableIPv6: true, EnableIPv4: false }, 'WHARF_INVALID_ARGUMENT', 'IPv6-only networks (--ipv4=false) are not supported by wharf yet');
  await bad({ EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd00:1::/64' }, { Subnet: 'fd00:2::/64' }] } }, 'WHARF_INVALID_ARGUMENT', 'wharf supports one IPv6 subnet per network');
  const v6 = await svc.create({ Name: 'six', EnableIPv6: true, IPAM: { Config: [{ Subnet: '10.6.0.0/24' }, { Subnet: 'fd00:6::/64', IPRange: 'fd00:6::100/120', Gateway: 'fd00:6:0:0::fffe' }] } });
  const six = (await make()).inspect(v6.Id);
  assert.equal(six.EnableIPv6, true);
  assert.deepEqual(six.IPAM.Config, [{ Subnet: '10.6.0.0/24', Gateway: '10.6.0.1' }, { Subnet: 'fd00:6::/64', IPRange: 'fd00:6::100/120', Gateway: 'fd00:6::fffe' }]);
  assert.ok(driver.calls.includes(`ensure br-${v6.Id.slice(0, 12)} 10.6.0.0/24`));
  await bad({ EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd00:6::/56' }] } }, 'WHARF_FORBIDDEN', 'Pool overlaps with other one on this address space');
  // Without EnableIPv6, moby neither checks nor uses IPv6 entries.
  const off = await svc.create({ Name: 'off', IPAM: { Config: [{ Subnet: 'fd00:7::1/64' }] } });
  assert.equal(svc.inspect(off.Id).EnableIPv6, false);
  assert.equal(svc.inspect(off.Id).IPAM.Config?.length, 1);
  const autoA = svc.inspect((await svc.create({ Name: 'a6', EnableIPv6: true })).Id).IPAM.Config![1];
  const autoB = svc.inspect((await svc.create({ Name: 'b6', EnableIPv6: true })).Id).IPAM.Config![1];
  assert.match(autoA.Subnet!, /^fd[0-9a-f:]+::\/64$/);
  assert.notEqual(autoA.Subnet, autoB.Subnet);
  assert.equal(autoA.Gateway, autoA.Subnet!.replace('/64', '1'));

  const hc = { NetworkMode: 'six' };
  const a = await attached(svc, req('1'.repeat(64), hc));
  assert.equal(a.endpoints.six.GlobalIPv6Address, 'fd00:6::100');
  assert.equal(a.endpoints.six.GlobalIPv6PrefixLen, 64);
  assert.equal(a.endpoints.six.IPv6Gateway, 'fd00:6::fffe');
  assert.deepEqual(driver.attached.get('1'.repeat(64))?.ip6, { ip: 'fd00:6::100', prefixLen: 64 });
  const asked = { ...req('2'.repeat(64), hc), networkingConfig: { EndpointsConfig: { six: { IPAMConfig: { IPv6Address: 'fd00:6:0::1ff' } } } } };
  assert.equal((await attached(svc, asked)).endpoints.six.GlobalIPv6Address, 'fd00:6::1ff');
  const again = { ...req('3'.repeat(64), hc), networkingConfig: { EndpointsConfig: { six: { IPAMConfig: { IPv6Address: 'fd00:6::1ff' } } } } };
  await assert.rejects(svc.attach(again), { message: 'Address already in use: fd00:6::1ff on network six' });
  assert.equal(svc.inspect('six').Containers?.['1'.repeat(64)]?.IPv6Address, 'fd00:6::100/64');
  const gw = { ...req('4'.repeat(64), hc), networkingConfig: { EndpointsConfig: { six: { IPAMConfig: { IPv6Address: 'fd00:6::fffe' } } } } };
  // The gateway lies outside the --ip-range: the range refuses it first.
  await assert.rejects(svc.attach(gw), { message: 'no configured subnet or ip-range contain the IP address fd00:6::fffe' });
  assert.throws(() => svc.check({ NetworkMode: 'off' }, { EndpointsConfig: { off: { IPAMConfig: { IPv6Address: 'fd00:7::5' } } } }), { message: 'invalid endpoint settings:\nno configured subnet contains IP address fd00:7::5' });
});

test('a failed create leaves no record', async (t) => {
  const { root, make } = await setup(t);
  const failing = new (class extends FakeDriver {
    override async ensureNetwork(n: BridgeNetwork) {
      if (n.bridge !== 'wharf0') throw new Error('no bridge today');
    }
  })();
  const svc = await make(failing);
  await assert.rejects(svc.create({ Name: 'x' }), /no bridge today/);
  assert.equal(svc.list().length, 3);
  assert.equal((await readdir(root)).filter((f) => f.endsWith('.json')).length, 1);
});

test('remove: pre-defined ones refused, active endpoints refused in Docker\'s words; prune takes the unused', async (t) => {
  const { driver, svc } = await setup(t);
  await assert.rejects(svc.remove('bridge'), { code: 'WHARF_FORBIDDEN', message: 'bridge is a pre-defined network and cannot be removed' });
  await assert.rejects(svc.remove('host'), { code: 'WHARF_FORBIDDEN', message: 'host is a pre-defined network and cannot be removed' });
  await assert.rejects(svc.remove('nope'), { code: 'WHARF_NOT_FOUND', message: 'network nope not found' });
  const { Id } = await svc.create({ Name: 'busy' });
  await svc.create({ Name: 'idle', Labels: { keep: '1' } });
  await svc.create({ Name: 'idle2' });
  await attached(svc, onNet('c1', 'busy'));
  await assert.rejects(svc.remove('busy'), { code: 'WHARF_FORBIDDEN', message: `error while removing network: network busy id ${Id} has active endpoints` });
  assert.deepEqual(await svc.prune({ 'label!': ['keep'] }), { NetworksDeleted: ['idle2'] });
  assert.deepEqual(await svc.prune({}), { NetworksDeleted: ['idle'] });
  await svc.detach('c1');
  await svc.remove(Id.slice(0, 8));
  assert.ok(driver.calls.includes(`remove br-${Id.slice(0, 12)}`));
  assert.equal(svc.list().length, 3);
});

test('containers on user networks: several at once, eth0 first, --ip and the IP range, aliases with the short ID', async (t) => {
  const dnsUpdates: string[] = [];
  const { root, driver } = await setup(t);
  const svc = new NetworkService({ root, driver, bridge: 'wharf0', logger: silentLogger, hostSubnets: async () => HOST, portRange: async () => '40000 40009', dns: { update: async (n, e) => void dnsUpdates.push(`${n.id.slice(0, 4)} ${e.map((x) => x.names[0]).join(',')}`) } });
  await svc.init();
  const a = await svc.create({ Name: 'a', IPAM: { Config: [{ Subnet: '10.1.0.0/16', IPRange: '10.1.7.0/24' }] } });
  await svc.create({ Name: 'b', IPAM: { Config: [{ Subnet: '10.2.0.0/24' }] } });
  assert.throws(() => svc.check({ NetworkMode: 'nope' }, {}), { code: 'WHARF_NOT_FOUND', message: 'network nope not found' });
  assert.throws(() => svc.check({ NetworkMode: 'a' }, { EndpointsConfig: { a: { IPAMConfig: { IPv4Address: '10.1.9.9' } } } }), { message: 'no configured subnet or ip-range contain the IP address 10.1.9.9' });
  assert.throws(() => svc.check({ NetworkMode: 'bridge' }, { EndpointsConfig: { bridge: { IPAMConfig: { IPv4Address: '172.18.0.9' } } } }), { message: 'user specified IP address is supported on user defined networks only' });
  svc.check({ NetworkMode: 'default' }, { EndpointsConfig: { default: {} } });
  const first = await attached(svc, onNet('c1', 'a', { a: { Aliases: ['web'] }, b: { IPAMConfig: { IPv4Address: '10.2.0.20' } } }));
  assert.equal(first.endpoints.a.IPAddress, '10.1.7.1');
  assert.deepEqual(first.endpoints.a.Aliases, ['web', 'c1']);
  assert.deepEqual(first.endpoints.a.DNSNames, ['n-c1', 'c1', 'web']);
  assert.equal(first.endpoints.b.IPAddress, '10.2.0.20');
  // Both networks' name servers, in the order joined (aardvark answers the container's networks' names on either).
  assert.deepEqual(first.dns.servers, ['10.1.0.1', '10.2.0.1']);
  assert.ok(driver.calls.includes('attach c1 eth0 br-' + a.Id.slice(0, 12) + ' 10.1.7.1'));
  assert.ok(driver.calls.some((c) => /^attach c1 eth1 br-\w+ 10\.2\.0\.20$/.test(c)));
  await assert.rejects(attached(svc, onNet('c2', 'b', { b: { IPAMConfig: { IPv4Address: '10.2.0.20' } } })), { message: 'Address already in use: 10.2.0.20 on network b' });
  assert.equal(driver.namespaces.has('c2'), false);
  const c = svc.inspect('a').Containers.c1;
  assert.equal(c.IPv4Address, '10.1.7.1/16');
  assert.ok(dnsUpdates.some((u) => u.endsWith(' n-c1')));
  dnsUpdates.length = 0;
  await svc.detach('c1');
  assert.deepEqual(dnsUpdates.sort(), [`${a.Id.slice(0, 4)} `, `${svc.inspect('b').Id.slice(0, 4)} `].sort());
  assert.equal(dnsUpdates.some((u) => u.startsWith(svc.inspect('bridge').Id.slice(0, 4))), false);
});

test('connect and disconnect a running container: eth1 in its namespace, twice refused, records survive a reload', async (t) => {
  const { driver, make, svc } = await setup(t);
  await svc.create({ Name: 'x', IPAM: { Config: [{ Subnet: '10.3.0.0/24' }] } });
  await attached(svc, req('c1'));
  await svc.connect('x', 'c1', { Aliases: ['db'] });
  assert.ok(driver.calls.includes('attach c1 eth1 ' + svc.inspect('x').Options['com.docker.network.bridge.name'] + ' 10.3.0.2') || driver.calls.some((c) => /^attach c1 eth1 br-\w+ 10\.3\.0\.2$/.test(c)));
  await assert.rejects(svc.connect('x', 'c1', {}), { code: 'WHARF_FORBIDDEN', message: 'endpoint with name n-c1 already exists in network x' });
  const again = await make();
  assert.deepEqual(Object.keys(again.current('c1')!.endpoints), ['bridge', 'x']);
  assert.equal(await again.disconnect('x', 'c1'), true);
  assert.ok(driver.calls.includes('detach c1 eth1'));
  assert.equal(await again.disconnect('x', 'c1'), false);
  assert.deepEqual(Object.keys((await make()).current('c1')!.endpoints), ['bridge']);
});

test('host-gateway in ExtraHosts is the default network\'s gateway, or the address the daemon was given', async (t) => {
  const { root, driver, svc } = await setup(t);
  const a = await attached(svc, req('hg1', { ExtraHosts: ['gw:host-gateway', 'six:::1', 'x:1.2.3.4'] }));
  assert.deepEqual(a.extraHosts, ['gw:172.18.0.1', 'six:::1', 'x:1.2.3.4']);
  const given = new NetworkService({ root, driver, bridge: 'wharf0', hostGatewayIp: '10.1.2.3', logger: silentLogger, hostSubnets: async () => HOST, portRange: async () => '40000 40009' });
  await given.init();
  assert.deepEqual((await attached(given, req('hg2', { ExtraHosts: ['gw:host-gateway'] }))).extraHosts, ['gw:10.1.2.3']);
});

test('events: create, connect at attach, disconnect at detach and disconnect, destroy, with Docker\'s attributes', async (t) => {
  const { root, driver } = await setup(t);
  const events: string[] = [];
  const svc = new NetworkService({
    root,
    driver,
    bridge: 'wharf0',
    logger: silentLogger,
    hostSubnets: async () => HOST,
    portRange: async () => '40000 40009',
    onEvent: (action, id, attrs) => events.push(`${action} ${id.slice(0, 4)} ${JSON.stringify(attrs)}`),
  });
  await svc.init();
  const { Id } = await svc.create({ Name: 'ev' });
  const net = Id.slice(0, 4);
  await attached(svc, { ...req('c1', { NetworkMode: 'ev' }) });
  await svc.connect('bridge', 'c1', undefined);
  await svc.disconnect('bridge', 'c1');
  await svc.detach('c1');
  await svc.remove('ev');
  const bridge = svc.inspect('bridge').Id.slice(0, 4);
  assert.deepEqual(events, [
    `create ${net} {"name":"ev","type":"bridge"}`,
    `connect ${net} {"container":"c1","name":"ev","type":"bridge"}`,
    `connect ${bridge} {"container":"c1","name":"bridge","type":"bridge"}`,
    `disconnect ${bridge} {"container":"c1","name":"bridge","type":"bridge"}`,
    `disconnect ${net} {"container":"c1","name":"ev","type":"bridge"}`,
    `destroy ${net} {"name":"ev","type":"bridge"}`,
  ]);
});

test('forceDisconnect: the endpoint a name still holds goes, a name without one is Docker\'s 404', async (t) => {
  const { svc, driver } = await setup(t);
  await attached(svc, req('gone1'));
  await svc.forceDisconnect('bridge', 'n-gone1');
  assert.equal(svc.current('gone1'), undefined);
  assert.equal(driver.namespaces.has('gone1'), false);
  await assert.rejects(svc.forceDisconnect('bridge', 'n-gone1'), { message: 'endpoint n-gone1 not found' });
  await assert.rejects(svc.forceDisconnect('nosuch', 'x'), { message: 'network nosuch not found' });
});
