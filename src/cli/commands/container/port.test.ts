import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerInspect } from '../../../types/index.js';
import { memoryIO } from '../../_testio.js';
import { port } from './port.js';

const client = {
  containerInspect: async () => ({ NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '443/tcp': null } } }) as unknown as ContainerInspect,
};

test('port: the texts and exit codes of docker port', async () => {
  const run = async (wanted?: string) => {
    const m = memoryIO();
    const code = await port(client, ['web', wanted], {}, m.io);
    return [code, m.stdout(), m.stderr()];
  };
  assert.deepEqual(await run(), [0, '80/tcp -> 0.0.0.0:8080\n', '']);
  assert.deepEqual(await run('80'), [0, '0.0.0.0:8080\n', '']);
  assert.deepEqual(await run('443/tcp'), [1, '', "Error: No public port '443/tcp' published for web\n"]);
  assert.deepEqual(await run('99999'), [1, '', 'Error: invalid port (99999): strconv.ParseUint: parsing "99999": value out of range\n']);
  assert.deepEqual(await run('abc/udp'), [1, '', 'Error: invalid port (abc): strconv.ParseUint: parsing "abc": invalid syntax\n']);
});
