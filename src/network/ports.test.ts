import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortRange, portMappings, splitProtoPort, validatePorts } from './ports.js';

const rejects = (exposed: Record<string, object> | undefined, bindings: Record<string, { HostIp?: string; HostPort?: string }[]> | undefined, message: string) =>
  assert.throws(() => validatePorts(exposed, bindings), (err: Error) => err.name === 'InvalidArgumentError' && err.message === message);

test('ports: ranges and protocols are read as nat reads them', () => {
  assert.deepEqual(parsePortRange('80'), [80, 80]);
  assert.deepEqual(parsePortRange('8000-8002'), [8000, 8002]);
  assert.equal(parsePortRange('8002-8000'), undefined);
  assert.equal(parsePortRange('65536'), undefined);
  assert.equal(parsePortRange('-1'), undefined);
  assert.equal(parsePortRange(''), undefined);
  assert.deepEqual(splitProtoPort('80'), ['80', 'tcp']);
  assert.deepEqual(splitProtoPort('80/udp'), ['80', 'udp']);
  assert.deepEqual(splitProtoPort('80/'), ['80', 'tcp']);
});

test('ports: what the docker CLI sends passes', () => {
  validatePorts({ '80/tcp': {}, '9000-9002/udp': {}, '80/sctp': {}, '80/TCP': {} }, {
    '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '' }, { HostIp: '::1', HostPort: '0' }],
    '81/tcp': [{ HostIp: '', HostPort: '8000-8010' }],
    '82/udp': null as never,
  });
  validatePorts(undefined, undefined);
  validatePorts(null, null);
});

test('ports: bad keys and host ports get moby\'s "invalid port specification"', () => {
  rejects(undefined, { '99999/tcp': [] }, 'invalid port specification: "99999"');
  rejects(undefined, { '0/tcp': [] }, 'invalid port specification: "0"');
  rejects(undefined, { 'abc/tcp': [] }, 'invalid port specification: "abc"');
  rejects(undefined, { '80-81/tcp': [] }, 'invalid port specification: "80-81"');
  rejects(undefined, { '80/foo': [] }, 'invalid port specification: "80/foo"');
  rejects(undefined, { '80/tcp': [{ HostPort: '99999' }] }, 'invalid port specification: "99999"');
  rejects(undefined, { '80/tcp': [{ HostPort: '8002-8000' }] }, 'invalid port specification: "8002-8000"');
  rejects(undefined, { '80/tcp': [{ HostIp: 'foo', HostPort: '80' }] }, 'invalid IP address: foo');
  rejects(undefined, { '80/tcp': [{ HostIp: '[::1]', HostPort: '80' }] }, 'invalid IP address: [::1]');
  rejects({ '99999/tcp': {} }, undefined, 'invalid port specification: "99999"');
  rejects({ '0/tcp': {} }, undefined, 'invalid port specification: "0"');
  rejects({ '80/quic': {} }, undefined, 'invalid port specification: "80/quic"');
});

test('ports: mappings from bindings, a host range kept as a range, -P adds the unbound exposed ports', () => {
  const exposed = { '80/tcp': {}, '443/tcp': {}, '53/udp': {}, '9000-9001/tcp': {} };
  const bindings = { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '' }], '53/udp': [{ HostIp: '::1', HostPort: '5300-5310' }] };
  assert.deepEqual(portMappings(exposed, bindings, false), [
    { protocol: 'udp', hostIp: '::1', hostPort: 5300, hostPortEnd: 5310, containerPort: 53 },
    { protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 },
    { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, containerPort: 80 },
  ]);
  assert.deepEqual(
    portMappings(exposed, bindings, true).filter((m) => m.hostPort === 0 && m.hostIp === ''),
    [443, 9000, 9001].map((p) => ({ protocol: 'tcp', hostIp: '', hostPort: 0, containerPort: p })),
  );
  // An empty binding list is exposed only, unless -P.
  assert.deepEqual(portMappings({ '80/tcp': {} }, { '80/tcp': [] }, false), []);
  assert.deepEqual(portMappings({ '80/tcp': {} }, { '80/tcp': [] }, true), [{ protocol: 'tcp', hostIp: '', hostPort: 0, containerPort: 80 }]);
});
