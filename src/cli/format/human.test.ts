import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortId } from '../../util/index.js';
import { ago, bytesSize, ellipsis, formatG, humanSize } from './human.js';

test('human sizes like go-units HumanSizeWithPrecision(3)', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(1200), '1.2kB');
  assert.equal(humanSize(12345), '12.3kB');
  assert.equal(humanSize(4_260_000), '4.26MB');
  assert.equal(humanSize(4_264_999), '4.26MB');
  assert.equal(humanSize(1_982_000), '1.98MB');
  assert.equal(humanSize(123_456_789), '123MB');
  assert.equal(humanSize(2_000_000_000), '2GB');
  assert.equal(formatG(999.5, 3), '1e+03');
  assert.equal(bytesSize(1536 * 1024 * 1024), '1.5GiB');
});

test('ago', () => {
  assert.equal(ago(100, 105_000), '5 seconds ago');
});

test('ellipsis and ids', () => {
  assert.equal(ellipsis('sleep 100', 20), 'sleep 100');
  assert.equal(ellipsis('sh -c while true; do sleep 1; done', 20), 'sh -c while true; d…');
  assert.equal(shortId('sha256:0123456789abcdef0123'), '0123456789ab');
  assert.equal(shortId('0123456789abcdef'), '0123456789ab');
});
