import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeImageConfig, signalNumber, summaryCommand } from './index.js';
import type { ImageRecord } from '../images.js';
import { processEnv } from '../spec.js';

const image = {
  id: 'sha256:' + 'a'.repeat(64),
  repoTags: ['x:latest'],
  repoDigests: [],
  created: '',
  size: 0,
  config: { config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], Entrypoint: ['/entry'], WorkingDir: '/w', Labels: { a: '1' } } },
} as unknown as ImageRecord;

test('mergeImageConfig: user env overrides image env by key, cmd defaults to the image', () => {
  const c = mergeImageConfig({ Image: 'x', Env: ['A=2', 'B=3'] }, image);
  // Docker's order: the user's variables first, then what the image sets and the user did not.
  assert.deepEqual(c.Env, ['A=2', 'B=3', 'PATH=/bin']);
  assert.deepEqual(c.Entrypoint, ['/entry']);
  assert.deepEqual(c.Cmd, ['sh']);
  assert.equal(c.WorkingDir, '/w');
});

test('mergeImageConfig: a user entrypoint drops the image cmd; an empty one resets the entrypoint', () => {
  const c = mergeImageConfig({ Image: 'x', Entrypoint: ['echo'] }, image);
  assert.deepEqual(c.Entrypoint, ['echo']);
  assert.equal(c.Cmd, null);
  const reset = mergeImageConfig({ Image: 'x', Entrypoint: [''] }, image);
  assert.deepEqual(reset.Entrypoint, []);
  assert.deepEqual(reset.Cmd, ['sh']);
  const both = mergeImageConfig({ Image: 'x', Entrypoint: ['ls'], Cmd: ['-l'] }, image);
  assert.deepEqual([...(both.Entrypoint ?? []), ...(both.Cmd ?? [])], ['ls', '-l']);
});

test('signalNumber accepts names, short names and numbers', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('term'), 15);
  assert.equal(signalNumber('9'), 9);
  assert.equal(signalNumber('USR1'), 10);
  assert.throws(() => signalNumber('SIGNOPE'), /Invalid signal: SIGNOPE/);
  assert.throws(() => signalNumber('99'), /Invalid signal/);
});

test('summaryCommand quotes the arguments that hold a space, as docker ps shows them', () => {
  assert.equal(summaryCommand('sh', ['-c', 'exit 3']), "sh -c 'exit 3'");
  assert.equal(summaryCommand('sleep', ['1000']), 'sleep 1000');
  assert.equal(summaryCommand('true', []), 'true');
});

test('mergeImageConfig: an Env entry without = is kept as given and hides the image variable of that name', () => {
  const c = mergeImageConfig({ Image: 'x', Env: ['Foo', 'Other=one', 'Blank=', 'A'] }, image);
  assert.deepEqual(c.Env, ['Foo', 'Other=one', 'Blank=', 'A', 'PATH=/bin']);
});

test('processEnv: a name without a value sets nothing (runc refuses an entry without =) and unsets an earlier one', () => {
  const env = processEnv([['Foo', 'A=1', 'Blank='], ['A']], { home: '/root', hostname: 'h', tty: false });
  assert.deepEqual(env, ['Blank=', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'HOME=/root']);
});
