import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as spec from './spec.js';
import { isSystemdContainer, validateIsolation } from './spec.js';

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
