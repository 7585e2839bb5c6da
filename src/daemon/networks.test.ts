import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostConfig } from '../types/index.js';
import { PortInUseError, type BridgeNetwork, type Endpoint, type NetworkDriver } from '../network/index.js';
import { silentLogger } from '../util/index.js';
import { NetworkService } from './networks.js';

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
  }
  async detach(_ns: string | undefined, ep: Endpoint) {
    this.attached.delete(ep.containerId);
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

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'wt-netsvc-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const driver = new FakeDriver();
  const make = async (d: NetworkDriver | null = driver) => {
    const s = new NetworkService({ root, driver: d ?? undefined, bridge: 'wharf0', logger: silentLogger, hostSubnets: async () => HOST, portRange: async () => '40000 40009' });
    await s.init();
    return s;
  };
  return { root, driver, make, svc: await make() };
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

test('attach: a namespace, an address after the gateway, Docker\'s MAC, the endpoint as inspect shows it', async (t) => {
  const { driver, svc } = await setup(t);
  const a = await svc.attach(req('c1', { NetworkMode: 'default' }));
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
  assert.deepEqual((await svc.attach(req('h', { NetworkMode: 'host' }))).namespace, { mode: 'host' });
  const none = await svc.attach(req('n', { NetworkMode: 'none', ExtraHosts: ['foo:1.2.3.4'], Dns: ['9.9.9.9'] }));
  assert.deepEqual(none.namespace, { mode: 'new' });
  assert.deepEqual(Object.keys(none.endpoints), ['none']);
  assert.deepEqual(none.extraHosts, ['foo:1.2.3.4']);
  assert.deepEqual(none.dns, { servers: ['9.9.9.9'], search: [], options: [] });
  assert.equal(driver.namespaces.size, 0);
});

test('addresses are not reused while held, and are after release; detach is idempotent', async (t) => {
  const { driver, svc } = await setup(t);
  const ip = async (id: string) => (await svc.attach(req(id))).endpoints.bridge.IPAddress;
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
  const a = await svc.attach(req('c1', { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }, { '80/tcp': {} }));
  const again = await make();
  assert.deepEqual(again.current('c1'), a);
  assert.deepEqual(driver.cleaned?.endpoints.map((e) => [e.containerId, e.ip, e.ports]), [['c1', '172.18.0.2', [{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }]]]);
  assert.deepEqual(again.inspect('bridge').Containers, {
    c1: { Name: 'n-c1', EndpointID: a.endpoints.bridge.EndpointID, MacAddress: '02:42:ac:12:00:02', IPv4Address: '172.18.0.2/16', IPv6Address: '' },
  });
  assert.deepEqual(again.list()[0].Containers, {}, 'the list leaves Containers empty, as Docker');
  assert.equal((await again.attach(req('c2'))).endpoints.bridge.IPAddress, '172.18.0.3', 'the reloaded address stays held');
  await again.detach('c1');
  assert.equal(again.current('c1'), undefined);
});

test('releaseOrphans: the records of containers that are gone are detached, the others kept', async (t) => {
  const { driver, svc } = await setup(t);
  await svc.attach(req('kept'));
  await svc.attach(req('gone'));
  await svc.releaseOrphans((id) => id === 'kept');
  assert.deepEqual([...driver.namespaces], ['kept']);
  assert.equal(svc.current('gone'), undefined);
  assert.ok(svc.current('kept'));
});

test('a failed driver.attach frees the address, removes the namespace and leaves no record', async (t) => {
  const { root, driver, svc } = await setup(t);
  driver.failAttach = { port: 8080 };
  await assert.rejects(svc.attach(req('c1', { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } })), {
    message: /^driver failed programming external connectivity on endpoint n-c1 \([0-9a-f]{64}\): Bind for 0\.0\.0\.0:8080 failed: port is already allocated$/,
  });
  assert.equal(driver.namespaces.size, 0);
  assert.equal(svc.current('c1'), undefined);
  assert.deepEqual(await readdir(join(root, 'endpoints')), []);
  driver.failAttach = 'creating veth wt1: file exists';
  await assert.rejects(svc.attach(req('c1')), { message: 'failed to create endpoint n-c1 on network bridge: creating veth wt1: file exists' });
  assert.equal(driver.namespaces.size, 0);
  driver.failAttach = undefined;
  const a = await svc.attach(req('c2', { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }));
  assert.equal(a.endpoints.bridge.IPAddress, '172.18.0.2');
});

test('ports: -P and ephemeral ports from the kernel\'s range; a port held by another container is refused', async (t) => {
  const { driver, svc } = await setup(t);
  const a = await svc.attach(req('c1', { PublishAllPorts: true, PortBindings: { '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }] } }, { '80/tcp': {}, '443/tcp': {}, '53/udp': {} }));
  assert.equal(JSON.stringify(a.ports), '{"443/tcp":[{"HostIp":"0.0.0.0","HostPort":"40002"}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":"40000"}],"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"40001"}]}');
  assert.equal(driver.attached.get('c1')?.ports.length, 3);
  const b = await svc.attach(req('c2', { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }, { '80/tcp': {}, '22/tcp': {} }));
  assert.equal(JSON.stringify(b.ports), '{"22/tcp":null,"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}');
  await assert.rejects(svc.attach(req('c3', { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } })), {
    message: /^driver failed programming external connectivity on endpoint n-c3 \([0-9a-f]{64}\): Bind for 127\.0\.0\.1:8080 failed: port is already allocated$/,
  });
  await assert.rejects(svc.attach(req('c4', { PortBindings: { '99999/tcp': [{ HostPort: '1' }] } })), { code: 'WHARF_INVALID_ARGUMENT', message: 'invalid port specification: "99999"' });
  assert.deepEqual([...driver.namespaces].sort(), ['c1', 'c2']);
  assert.equal(driver.namespaces.has('c3'), false);
  await svc.detach('c2');
  await svc.attach(req('c3', { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } }));
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
  assert.deepEqual(n.prune({}), { NetworksDeleted: null });
  assert.deepEqual(n.prune({ until: ['1h'], label: ['a'], 'label!': ['b'] }), { NetworksDeleted: null });
  assert.throws(() => n.prune({ all: ['1'] }), { code: 'WHARF_INVALID_ARGUMENT', message: "invalid filter 'all'" });
});
