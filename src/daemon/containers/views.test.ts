import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rig } from './_fakes.js';
import type { NetworkAttachment, NetworkPort, NetworkRequest } from './ports.js';
import { emptyEndpoints } from './views.js';

/** A network port that attaches every container to `bridge` with one published port, and remembers it. */
class StubNetwork implements NetworkPort {
  readonly held = new Map<string, NetworkAttachment>();
  async attach(req: NetworkRequest): Promise<NetworkAttachment> {
    const a: NetworkAttachment = {
      namespace: { mode: 'path', path: `/run/wharf/netns/${req.containerId}` },
      endpoints: { bridge: { ...emptyEndpoints('bridge').bridge, NetworkID: 'n'.repeat(64), EndpointID: 'e'.repeat(64), Gateway: '172.18.0.1', IPAddress: '172.18.0.2', IPPrefixLen: 16, MacAddress: '02:42:ac:12:00:02' } },
      extraHosts: [],
      dns: { servers: [], search: [], options: [] },
      sandboxKey: `/run/wharf/netns/${req.containerId}`,
      sandboxId: 's'.repeat(64),
      ports: { '443/tcp': null, '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] },
    };
    this.held.set(req.containerId, a);
    return a;
  }
  async detach(id: string): Promise<void> {
    this.held.delete(id);
  }
  current(id: string): NetworkAttachment | undefined {
    return this.held.get(id);
  }
}

test('inspect and ps show the attachment; after a daemon restart from the network\'s records; a stopped container none', async () => {
  const network = new StubNetwork();
  const r = await rig({ network });
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', ExposedPorts: { '80/tcp': {}, '443/tcp': {} } });
    await r.svc.start(Id);
    const expected = {
      Bridge: '',
      SandboxID: 's'.repeat(64),
      SandboxKey: `/run/wharf/netns/${Id}`,
      Ports: { '443/tcp': null, '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] },
      EndpointID: 'e'.repeat(64),
      Gateway: '172.18.0.1',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: '172.18.0.2',
      IPPrefixLen: 16,
      IPv6Gateway: '',
      MacAddress: '02:42:ac:12:00:02',
    };
    const ns = (await r.svc.inspect(Id)).NetworkSettings;
    assert.equal(JSON.stringify({ ...ns, Networks: undefined }), JSON.stringify(expected));
    assert.equal(ns.Networks.bridge.IPAddress, '172.18.0.2');
    const [row] = await r.svc.list({});
    assert.equal(JSON.stringify(row.Ports), '[{"PrivatePort":443,"Type":"tcp"},{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}]');

    const again = await r.reopen();
    assert.equal(JSON.stringify({ ...(await again.inspect(Id)).NetworkSettings, Networks: undefined }), JSON.stringify(expected));

    await again.stop(Id, { timeout: 0 });
    const stopped = (await again.inspect(Id)).NetworkSettings;
    assert.deepEqual([stopped.IPAddress, stopped.SandboxKey, stopped.Ports, stopped.Networks.bridge.IPAddress], ['', '', {}, '']);
    const [row2] = await again.list({ all: true });
    assert.equal(JSON.stringify(row2.Ports), '[{"PrivatePort":80,"Type":"tcp"},{"PrivatePort":443,"Type":"tcp"}]');
  } finally {
    await r.cleanup();
  }
});
