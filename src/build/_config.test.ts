import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSignal, exposedPorts, fullConfig, goHealth, goList, goQuoteList, healthConfig, normalizeWorkdir, stageConfig } from './_config.js';

test('Go formatting of history values', () => {
  assert.equal(goQuoteList(['sh', '-c', 'echo "hi"']), '["sh" "-c" "echo \\"hi\\""]');
  assert.equal(goList(['/bin/bash', '-c']), '[/bin/bash -c]');
  assert.equal(goHealth({ Test: ['CMD-SHELL', 'wget -q x'], Interval: 30e9, Retries: 3 }), '&{["CMD-SHELL" "wget -q x"] "30s" "0s" "0s" \'\\x03\'}');
  assert.equal(goHealth({ Test: ['NONE'] }), '&{["NONE"] "0s" "0s" "0s" \'\\x00\'}');
  assert.equal(goHealth({ Test: ['CMD', 'x'], Timeout: 1.5e9, Retries: 65 }), '&{["CMD" "x"] "0s" "1.5s" "0s" \'A\'}');
});

test('instruction values to config fields', () => {
  assert.deepEqual(exposedPorts(['80', '53/UDP', '7000-7002']), ['80/tcp', '53/udp', '7000/tcp', '7001/tcp', '7002/tcp']);
  assert.throws(() => exposedPorts(['80/xyz']), /invalid proto: xyz/);
  assert.throws(() => exposedPorts(['/tcp']), /no port specified/);
  assert.equal(normalizeWorkdir('', 'app'), '/app');
  assert.equal(normalizeWorkdir('/app', 'sub/../x'), '/app/x');
  assert.equal(normalizeWorkdir('/app', '/abs//y/'), '/abs/y');
  checkSignal('SIGINT');
  checkSignal('TERM');
  checkSignal('9');
  checkSignal('SIGRTMIN+3');
  assert.throws(() => checkSignal('SIGFOO'), /Invalid signal: SIGFOO/);
  assert.deepEqual(healthConfig({ kind: 'healthcheck', none: false, command: { form: 'json', args: ['curl', 'x'] }, interval: '1m', retries: 0 }, []), { Test: ['CMD', 'curl', 'x'], Interval: 60e9 });
  assert.throws(() => healthConfig({ kind: 'healthcheck', none: false, command: { form: 'shell', text: 'x' }, interval: '10us' }, []), /cannot be less than 1ms/);
});

test('stage start and the config as Go marshals it', () => {
  assert.deepEqual(stageConfig(undefined).Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.deepEqual(stageConfig({ Env: ['A=1'], OpenStdin: true }), { Env: ['A=1'], OpenStdin: false, StdinOnce: false });
  // Key order and nulls as `GET /images/x/json` of a classic-built image shows them.
  assert.deepEqual(Object.keys(fullConfig({ Cmd: ['sh'] })), [
    'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce',
    'Env', 'Cmd', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels',
  ]);
});
