import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Port } from '../../types/index.js';
import { displayablePorts, naturalCompare, portLines } from './ports.js';

const pub = (IP: string, PrivatePort: number, PublicPort: number, Type: Port['Type'] = 'tcp'): Port => ({ IP, PrivatePort, PublicPort, Type });
const exposed = (PrivatePort: number, Type: Port['Type'] = 'tcp'): Port => ({ PrivatePort, Type });

test('PORTS column: what docker 28.2.2 prints for the same summary', () => {
  const ports = [
    pub('0.0.0.0', 80, 8080), pub('::', 80, 8080), exposed(443),
    pub('0.0.0.0', 9000, 9000), pub('0.0.0.0', 9001, 9001), pub('0.0.0.0', 9002, 9002), pub('::', 9000, 9000), pub('::', 9001, 9001),
    exposed(7000, 'udp'), exposed(7001, 'udp'), exposed(7003, 'udp'),
    pub('127.0.0.1', 8125, 8125, 'udp'), pub('127.0.0.1', 22, 122), pub('::1', 53, 5353, 'udp'), exposed(5000, 'sctp'),
  ];
  assert.equal(
    displayablePorts(ports),
    '7000-7001/udp, 443/tcp, 5000/sctp, 7003/udp, 127.0.0.1:8125->8125/udp, 0.0.0.0:9000-9002->9000-9002/tcp, [::]:9000-9001->9000-9001/tcp, ' +
      '127.0.0.1:122->22/tcp, [::1]:5353->53/udp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp',
  );
  assert.equal(displayablePorts([]), '');
  assert.equal(displayablePorts([pub('0.0.0.0', 80, 32768), pub('::', 80, 32768), exposed(443)]), '443/tcp, 0.0.0.0:32768->80/tcp, [::]:32768->80/tcp');
});

test('port: docker\'s lines, naturally sorted, an empty host address as ":port"', () => {
  const ports = {
    '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }],
    '443/tcp': null,
    '9/tcp': [{ HostIp: '', HostPort: '9' }],
    '10000/udp': [{ HostIp: '127.0.0.1', HostPort: '10000' }],
    '22/tcp': [{ HostIp: '127.0.0.1', HostPort: '122' }],
    '53/udp': [{ HostIp: '::1', HostPort: '5353' }],
    '100/tcp': [],
  };
  assert.deepEqual(portLines(ports), ['9/tcp -> :9', '22/tcp -> 127.0.0.1:122', '53/udp -> [::1]:5353', '80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080', '10000/udp -> 127.0.0.1:10000']);
  assert.deepEqual(portLines(ports, '80/tcp'), ['0.0.0.0:8080', '[::]:8080']);
  assert.equal(portLines(ports, '443/tcp'), undefined);
  assert.equal(portLines(ports, '100/tcp'), undefined);
  assert.equal(portLines(ports, '80/udp'), undefined);
  assert.deepEqual(portLines(undefined), []);
  assert.ok(naturalCompare('a9', 'a10') < 0);
  assert.ok(naturalCompare('a10', 'a9') > 0);
});
