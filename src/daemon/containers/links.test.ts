import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUserDefinedMode, linkEnv, parseLink, retargetHosts } from './links.js';

test('parseLink: name, name:alias and the inspect form, with moby\'s texts', () => {
  assert.deepEqual(parseLink('db'), { name: 'db', alias: 'db' });
  assert.deepEqual(parseLink('db:d'), { name: 'db', alias: 'd' });
  assert.deepEqual(parseLink('/db:/me/d'), { name: 'db', alias: 'd' });
  assert.throws(() => parseLink(''), { message: 'empty string specified for links' });
  assert.throws(() => parseLink('a:b:c'), { message: 'bad format for links: a:b:c' });
});

test('linkEnv: TCP first then by number, the first port as ALIAS_PORT, a run as START/END once it ends, NAME, ENV without HOME and PATH', () => {
  const env = linkEnv('/me/my-db', '10.0.0.2', ['FOO=bar', 'PATH=/bin', 'HOME=/root', 'NOVALUE'], ['53/udp', '81/tcp', '80/tcp']);
  assert.deepEqual(env, [
    'MY_DB_PORT=tcp://10.0.0.2:80',
    'MY_DB_PORT_80_TCP=tcp://10.0.0.2:80',
    'MY_DB_PORT_80_TCP_ADDR=10.0.0.2',
    'MY_DB_PORT_80_TCP_PORT=80',
    'MY_DB_PORT_80_TCP_PROTO=tcp',
    'MY_DB_PORT_81_TCP=tcp://10.0.0.2:81',
    'MY_DB_PORT_81_TCP_ADDR=10.0.0.2',
    'MY_DB_PORT_81_TCP_PORT=81',
    'MY_DB_PORT_81_TCP_PROTO=tcp',
    'MY_DB_PORT_53_UDP=udp://10.0.0.2:53',
    'MY_DB_PORT_53_UDP_ADDR=10.0.0.2',
    'MY_DB_PORT_53_UDP_PORT=53',
    'MY_DB_PORT_53_UDP_PROTO=udp',
    'MY_DB_PORT_80_TCP_START=tcp://10.0.0.2:80',
    'MY_DB_PORT_80_TCP_PORT_START=80',
    'MY_DB_PORT_80_TCP_END=tcp://10.0.0.2:81',
    'MY_DB_PORT_80_TCP_PORT_END=81',
    'MY_DB_NAME=/me/my-db',
    'MY_DB_ENV_FOO=bar',
  ]);
  assert.deepEqual(linkEnv('/me/x', '10.0.0.3', [], []), ['X_NAME=/me/x']);
});

test('isUserDefinedMode: moby\'s NetworkMode.IsUserDefined', () => {
  for (const m of ['default', 'bridge', 'host', 'none', 'container:abc', '', undefined]) assert.equal(isUserDefinedMode(m), false, String(m));
  assert.equal(isUserDefinedMode('mynet'), true);
});

test('retargetHosts: lines whose first name is the alias get the new address, others stay', () => {
  const text = '127.0.0.1\tlocalhost\n10.0.0.2\td abc123 db\n10.0.0.9\tdd\n10.0.0.3\tme\n';
  assert.equal(retargetHosts(text, ['d'], '10.0.0.7'), '127.0.0.1\tlocalhost\n10.0.0.7\td abc123 db\n10.0.0.9\tdd\n10.0.0.3\tme\n');
});
