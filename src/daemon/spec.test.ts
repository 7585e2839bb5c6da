import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateNetMode } from './spec.js';

test('validateNetMode: what cannot go with container:<id> or host networking, in moby\'s words', () => {
  const c = { NetworkMode: 'container:abc' };
  assert.doesNotThrow(() => validateNetMode({}, c));
  assert.doesNotThrow(() => validateNetMode({ Hostname: 'x' }, { NetworkMode: 'bridge', Links: ['a'] }));
  const cases: [object, object, string][] = [
    [{}, { NetworkMode: 'container:' }, 'invalid network mode: invalid container format container:<name|id>'],
    [{ Hostname: 'x' }, c, 'conflicting options: hostname and the network mode'],
    [{}, { ...c, Links: ['db'] }, "conflicting options: container type network can't be used with links. This would result in undefined behavior"],
    [{}, { ...c, Dns: ['1.1.1.1'] }, 'conflicting options: dns and the network mode'],
    [{}, { ...c, ExtraHosts: ['a:1.2.3.4'] }, 'conflicting options: custom host-to-IP mapping and the network mode'],
    [{}, { ...c, PortBindings: { '80/tcp': [{ HostPort: '80' }] } }, 'conflicting options: port publishing and the container type network mode'],
    [{}, { ...c, PublishAllPorts: true }, 'conflicting options: port publishing and the container type network mode'],
    [{ ExposedPorts: { '80/tcp': {} } }, c, 'conflicting options: port exposing and the container type network mode'],
    [{}, { NetworkMode: 'host', Links: ['db'] }, "conflicting options: host type networking can't be used with links. This would result in undefined behavior"],
  ];
  for (const [given, hc, message] of cases) assert.throws(() => validateNetMode(given, hc), { message }, message);
});
