import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSeccomp, parseSecurityOpt, seccompFromDockerProfile, type OciSeccomp } from './seccomp.js';
import { DEFAULT_CAPS } from './oci.js';

/** Whether a profile allows a call whatever its arguments. */
function allows(p: OciSeccomp, name: string): boolean {
  return p.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name) && !r.args);
}

/** The argument rules under which a profile allows a call. */
function allowedArgs(p: OciSeccomp, name: string) {
  return p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name) && r.args).map((r) => r.args);
}

test('default profile is an allow-list: EPERM for every call not listed; namespaces, mounts and keyrings are not; clone3 says ENOSYS', () => {
  const p = defaultSeccomp(DEFAULT_CAPS);
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(p.defaultErrnoRet, 1);
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  for (const name of ['read', 'write', 'openat', 'execve', 'futex', 'arch_prctl', 'chroot', 'ptrace']) assert.ok(allows(p, name), name);
  for (const name of ['unshare', 'setns', 'mount', 'umount2', 'keyctl', 'bpf', 'init_module', 'reboot', 'clock_settime', 'io_uring_setup', 'tuxcall', 'personality', 'socket']) {
    assert.ok(!allows(p, name), name);
  }
  assert.deepEqual(p.syscalls.find((r) => r.names.includes('clone3')), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  // clone only without the namespace flags.
  assert.deepEqual(allowedArgs(p, 'clone'), [[{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]]);
  assert.deepEqual(allowedArgs(p, 'personality').map((a) => a![0].value), [0, 8, 0x20000, 0x20008, 0xffffffff]);
  // socket: every family but AF_ALG (38) and AF_VSOCK (40).
  assert.deepEqual(allowedArgs(p, 'socket'), [
    [{ index: 0, value: 38, op: 'SCMP_CMP_LT' }],
    [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }],
    [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }],
  ]);
});

test('default profile: a capability gives its calls back', () => {
  const p = defaultSeccomp([...DEFAULT_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME']);
  for (const name of ['unshare', 'setns', 'mount', 'clone', 'clone3', 'bpf', 'clock_settime', 'sethostname']) assert.ok(allows(p, name), name);
  assert.equal(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ERRNO').length, 0);
  assert.ok(!allows(p, 'keyctl'));
  assert.ok(!allows(p, 'init_module'));
  assert.ok(allows(defaultSeccomp(['CAP_BPF']), 'bpf'));
  assert.ok(allows(defaultSeccomp(['CAP_PERFMON']), 'perf_event_open'));
  assert.ok(allows(defaultSeccomp(['CAP_SYS_MODULE']), 'finit_module'));
  assert.ok(allows(defaultSeccomp(['CAP_SYS_NICE']), 'mbind'));
  assert.ok(!allows(defaultSeccomp([]), 'chroot'), 'chroot needs CAP_SYS_CHROOT');
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
