import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSeccomp, parseSecurityOpt, seccompFromDockerProfile, type OciSeccomp } from './seccomp.js';
import { DEFAULT_CAPS } from './oci.js';

/** The errno a profile gives a call with no arguments checked, or undefined when it allows it. */
function refused(p: OciSeccomp, name: string): number | undefined {
  return p.syscalls.find((r) => r.names.includes(name) && !r.args)?.errnoRet;
}

test('default profile: namespaces, mounts and keyrings are refused; clone3 says ENOSYS', () => {
  const p = defaultSeccomp(DEFAULT_CAPS);
  assert.equal(p.defaultAction, 'SCMP_ACT_ALLOW');
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  for (const name of ['unshare', 'setns', 'mount', 'umount2', 'keyctl', 'bpf', 'init_module', 'reboot', 'clock_settime', 'io_uring_setup']) {
    assert.equal(refused(p, name), 1, name);
  }
  assert.equal(refused(p, 'clone3'), 38);
  assert.equal(refused(p, 'read'), undefined);
  const clone = p.syscalls.filter((r) => r.names.includes('clone'));
  // CLONE_NEWUSER among the namespace flags, each refused on its own.
  assert.ok(clone.some((r) => r.args?.[0].value === 0x10000000 && r.args[0].valueTwo === 0x10000000 && r.args[0].op === 'SCMP_CMP_MASKED_EQ'));
  assert.equal(clone.length, 7);
});

test('default profile: a capability gives its calls back', () => {
  const p = defaultSeccomp([...DEFAULT_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME']);
  for (const name of ['unshare', 'setns', 'mount', 'clone3', 'bpf', 'clock_settime']) assert.equal(refused(p, name), undefined, name);
  assert.equal(p.syscalls.filter((r) => r.names.includes('clone')).length, 0);
  assert.equal(refused(p, 'keyctl'), 1);
  assert.equal(refused(p, 'init_module'), 1);
});

test('parseSecurityOpt: unconfined, privileged, builtin and no-new-privileges; Docker error texts', () => {
  assert.equal(parseSecurityOpt(['seccomp=unconfined'], DEFAULT_CAPS, false).seccomp, undefined);
  assert.equal(parseSecurityOpt([], DEFAULT_CAPS, true).seccomp, undefined);
  assert.ok(parseSecurityOpt(['seccomp=builtin'], DEFAULT_CAPS, false).seccomp);
  assert.equal(parseSecurityOpt(['no-new-privileges'], [], false).noNewPrivileges, true);
  assert.equal(parseSecurityOpt(['no-new-privileges=false'], [], false).noNewPrivileges, false);
  assert.equal(parseSecurityOpt(['no-new-privileges:true', 'apparmor=unconfined', 'label=disable'], [], false).noNewPrivileges, true);
  assert.throws(() => parseSecurityOpt(['bogus'], [], false), /invalid --security-opt 1: "bogus"$/);
  assert.throws(() => parseSecurityOpt(['bogus=1'], [], false), /invalid --security-opt 2: "bogus=1"/);
  assert.throws(() => parseSecurityOpt(['no-new-privileges=maybe'], [], false), /invalid --security-opt 2/);
  assert.throws(() => parseSecurityOpt(['seccomp=/etc/profile.json'], [], false), /give the profile's JSON/);
  assert.throws(() => parseSecurityOpt(['seccomp={"defaultAction":'], [], false), /Decoding seccomp profile failed/);
});

test('a Docker-format profile keeps the rules that apply to this container', () => {
  const profile = JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_CHOWN'] } },
      { names: ['arm_fadvise64_64'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  const p = seccompFromDockerProfile(profile, ['CAP_CHOWN']);
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(p.defaultErrnoRet, 1);
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(
    p.syscalls.map((r) => r.names.join(',')),
    ['read,write', 'mkdir', 'personality'],
  );
  assert.equal(p.syscalls[1].errnoRet, 13);
  assert.deepEqual(p.syscalls[2].args, [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }]);
  assert.throws(() => seccompFromDockerProfile('{"syscalls":[]}', []), /no defaultAction/);
  assert.throws(() => seccompFromDockerProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}', []), /needs names and an action/);
});
