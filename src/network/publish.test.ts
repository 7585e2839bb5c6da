import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portMappings } from './ports.js';
import { planPorts, portMap } from './publish.js';

const none = () => false;
const range = { first: 40000, last: 40002 };

test('planPorts: fixed ports as given; \'\' and \'0\' from the ephemeral range, not one held', () => {
  const cursor = { next: range.first };
  const m = planPorts(portMappings(undefined, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '81/tcp': [{ HostIp: '', HostPort: '' }], '82/udp': [{ HostPort: '0' }] }, false), (_p, _ip, port) => port === 40000, range, cursor);
  assert.deepEqual(m, [
    { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 },
    { protocol: 'tcp', hostIp: '', hostPort: 40001, containerPort: 81 },
    { protocol: 'udp', hostIp: '', hostPort: 40002, containerPort: 82 },
  ]);
  // The cursor goes on: a port just released is not the next one handed out.
  assert.equal(cursor.next, 40000);
  assert.throws(() => planPorts(portMappings(undefined, { '80/tcp': [{}] }, false), () => true, range, cursor), /port is already allocated/);
});

test('planPorts: -P publishes every exposed port not bound already; a host range picks inside it', () => {
  const m = planPorts(portMappings({ '80/tcp': {}, '443/tcp': {} }, { '443/tcp': [{ HostPort: '9000-9001' }] }, true), (_p, _ip, port) => port === 9000, range, { next: 40000 });
  assert.deepEqual(m, [
    { protocol: 'tcp', hostIp: '', hostPort: 40000, containerPort: 80 },
    { protocol: 'tcp', hostIp: '', hostPort: 9001, containerPort: 443 },
  ]);
  assert.deepEqual(planPorts(portMappings({ '80/tcp': {} }, undefined, false), none, range, { next: 0 }), [], 'without -P an exposed port stays unpublished');
});

test('portMap: Docker\'s NetworkSettings.Ports, sorted keys, every address as 0.0.0.0, exposed-only null', () => {
  const m = portMap([{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }, { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8081, containerPort: 80 }], { '80/tcp': {}, '443/tcp': {} });
  assert.equal(JSON.stringify(m), '{"443/tcp":null,"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"127.0.0.1","HostPort":"8081"}]}');
  // Published over IPv6 too: every address is also ::, an address given stays itself.
  const v6 = portMap([{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }, { protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8082, containerPort: 80 }, { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8081, containerPort: 80 }], {}, true);
  assert.equal(JSON.stringify(v6), '{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"},{"HostIp":"0.0.0.0","HostPort":"8082"},{"HostIp":"127.0.0.1","HostPort":"8081"}]}');
});
