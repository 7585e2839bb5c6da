import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as spec from './spec.js';
import { isSystemdContainer, validateIsolation, validateNetMode } from './spec.js';

test('validateIsolation: namespace modes, capabilities, devices and OOM score with dockerd\'s texts', () => {
  for (const ok of [{}, { IpcMode: 'shareable', PidMode: 'container:db', UTSMode: 'host', UsernsMode: 'host' }, { IpcMode: 'none' }, { IpcMode: 'container:x' }, { CapAdd: ['ALL', 'net_admin'], CapDrop: ['CAP_CHOWN'] }, { OomScoreAdj: -1000 }, { DeviceCgroupRules: ['c *:* m'] }]) {
    validateIsolation(ok);
  }
  const refused = (hc: Parameters<typeof validateIsolation>[0], text: string) => assert.throws(() => validateIsolation(hc), (e: Error) => e.message === text, text);
  refused({ IpcMode: 'bogus' }, 'invalid IPC mode: bogus');
  refused({ PidMode: 'container:' }, 'invalid PID mode: container:');
  refused({ UTSMode: 'private' }, 'invalid UTS mode: private');
  refused({ UsernsMode: 'private' }, 'invalid USER mode: private');
  refused({ OomScoreAdj: 1001 }, 'Invalid value 1001, range for oom score adj is [-1000, 1000]');
  refused({ CapAdd: ['BOGUS'] }, 'invalid CapAdd: unknown capability: "CAP_BOGUS"');
  refused({ CapDrop: ['cap_nope'] }, 'invalid CapDrop: unknown capability: "CAP_NOPE"');
  refused({ DeviceCgroupRules: ['q 1:2 r'] }, "invalid device cgroup format 'q 1:2 r'");
});

test('systemd containers: by command, or forced either way', () => {
  for (const cmd of ['/sbin/init', '/usr/sbin/init', '/usr/lib/systemd/systemd', '/lib/systemd/systemd']) assert.ok(isSystemdContainer(cmd, {}), cmd);
  assert.ok(!isSystemdContainer('/bin/sh', {}));
  assert.ok(!isSystemdContainer('init', {}));
  assert.ok(isSystemdContainer('/bin/sh', { Annotations: { 'io.wharf.systemd': 'always' } }));
  assert.ok(!isSystemdContainer('/sbin/init', { Annotations: { 'io.wharf.systemd': 'false' } }));
});

test('an AppArmor profile on a host without AppArmor is a warning, unconfined is none', () => {
  const { securityWarnings } = spec;
  assert.deepEqual(securityWarnings({ SecurityOpt: ['apparmor=docker-default'] }, () => false), ['AppArmor is not enabled on this host: the option "apparmor=docker-default" has no effect']);
  assert.deepEqual(securityWarnings({ SecurityOpt: ['apparmor=docker-default'] }, () => true), []);
  assert.deepEqual(securityWarnings({ SecurityOpt: ['apparmor=unconfined'] }, () => false), []);
});

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
