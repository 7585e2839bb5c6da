import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import type { ContainerCreateRequest } from '../../../types/index.js';
import { DOCKER_CREATE_BODIES } from './_docker-create-bodies.js';
import { addCreateFlags, buildCreateRequest } from './createopts.js';
import { addHostArg, isMac, parsePublish } from './netopts.js';

/** Shell words as bash splits the fixtures' args (double quotes only). */
const words = (s: string) => [...s.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);

function create(args: string): ContainerCreateRequest {
  const cmd = addCreateFlags(new Command('create')).argument('<image>').exitOverride().configureOutput({ writeErr: () => {} });
  cmd.parse([...words(args), 'busybox'], { from: 'user' });
  return buildCreateRequest('busybox', [], cmd.opts());
}

/** The networking parts of a body, zero values dropped, as the fixtures keep them. */
function networking(b: ContainerCreateRequest): Record<string, unknown> {
  const hc = b.HostConfig ?? {};
  const nonEmpty = <T extends object>(o: T | null | undefined) => (o && Object.keys(o).length ? o : undefined);
  return JSON.parse(JSON.stringify({
    ExposedPorts: nonEmpty(b.ExposedPorts),
    PortBindings: nonEmpty(hc.PortBindings),
    PublishAllPorts: hc.PublishAllPorts || undefined,
    Links: hc.Links ?? undefined,
    NetworkMode: hc.NetworkMode,
    MacAddress: b.MacAddress || undefined,
    EndpointsConfig: b.NetworkingConfig?.EndpointsConfig ?? {},
  }));
}

for (const f of DOCKER_CREATE_BODIES) {
  test(`docker create ${f.args}: ${f.rc ? f.err : 'the body docker sends'}`, () => {
    if (f.rc === 0) {
      assert.deepEqual(networking(create(f.args)), f.body);
      return;
    }
    // Flag errors come from commander here; main() words them as docker does (test/ports.test.ts checks the whole text).
    const flagError = /^invalid argument "(.*)" for "(.*)" flag: (.*)$/.exec(f.err);
    const want = flagError ? flagError[3] : f.err.replace(/^docker: /, '');
    assert.throws(() => create(f.args), (err: Error) => err.message.includes(want));
  });
}

test('-p: a host range on one container port stays a range; each port of a container range gets its own', () => {
  assert.deepEqual(parsePublish('8000-8010:80'), [{ key: '80/tcp', binding: { HostIp: '', HostPort: '8000-8010' } }]);
  assert.deepEqual(parsePublish('[::1]:8000-8001:80-81/UDP').map((p) => [p.key, p.binding.HostIp, p.binding.HostPort]), [
    ['80/udp', '::1', '8000'],
    ['81/udp', '::1', '8001'],
  ]);
});

test('--mac-address: the forms Go\'s net.ParseMAC takes', () => {
  for (const ok of ['02:42:ac:11:00:02', '02-42-AC-11-00-02', '0242.ac11.0002', '02:42:ac:11:00:02:00:01']) assert.equal(isMac(ok), true, ok);
  for (const bad of ['zz', '02:42:ac:11:00', '02:42:ac:11:00:02:', '0242ac110002']) assert.equal(isMac(bad), false, bad);
});

test('--add-host: name=ip or name:ip, brackets dropped, sent as name:ip; docker\'s texts for bad ones', () => {
  assert.deepEqual(addHostArg('bar=::1'), ['bar:::1']);
  assert.deepEqual(addHostArg('a=[::1]', ['x:1.2.3.4']), ['x:1.2.3.4', 'a:::1']);
  assert.deepEqual(addHostArg('gw:host-gateway'), ['gw:host-gateway']);
  assert.deepEqual(addHostArg('gw=host-gateway'), ['gw:host-gateway']);
  assert.deepEqual(addHostArg('foo:1.2.3.4'), ['foo:1.2.3.4']);
  assert.throws(() => addHostArg('bad'), { message: 'bad format for add-host: "bad"' });
  assert.throws(() => addHostArg('=1.2.3.4'), { message: 'bad format for add-host: "=1.2.3.4"' });
  assert.throws(() => addHostArg('b:1.2.3.4.5'), { message: 'invalid IP address in add-host: "1.2.3.4.5"' });
  assert.throws(() => addHostArg('c='), { message: 'invalid IP address in add-host: ""' });
});
