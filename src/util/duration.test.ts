import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, parseGoDuration } from './duration.js';

test('humanDuration matches go-units HumanDuration', () => {
  assert.equal(humanDuration(-5000), 'Less than a second');
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(5000), '5 seconds');
  assert.equal(humanDuration(45_000), '45 seconds');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(humanDuration(119_000), 'About a minute');
  assert.equal(humanDuration(120_000), '2 minutes');
  assert.equal(humanDuration(10 * 60_000), '10 minutes');
  assert.equal(humanDuration(3_600_000), 'About an hour');
  assert.equal(humanDuration(5_400_000), '2 hours');
  assert.equal(humanDuration(47 * 3_600_000), '47 hours');
  assert.equal(humanDuration(3 * 86_400_000), '3 days');
  assert.equal(humanDuration(20 * 86_400_000), '2 weeks');
  assert.equal(humanDuration(90 * 86_400_000), '3 months');
  assert.equal(humanDuration(100 * 86_400_000), '3 months');
  assert.equal(humanDuration(800 * 86_400_000), '2 years');
  assert.equal(humanDuration(3 * 365 * 86_400_000), '3 years');
});

test('parseGoDuration reads Go duration syntax in nanoseconds, with Go error texts', () => {
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('5s'), 5e9);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('2h45m30.5s'), (2 * 3600 + 45 * 60 + 30.5) * 1e9);
  assert.equal(parseGoDuration('300ms'), 300e6);
  assert.equal(parseGoDuration('-1m'), -60e9);
  assert.equal(parseGoDuration('1µs'), 1000);
  assert.equal(parseGoDuration('.5s'), 5e8);
  assert.throws(() => parseGoDuration(''), /^SyntaxError: time: invalid duration ""$/);
  assert.throws(() => parseGoDuration('abc'), /time: invalid duration "abc"/);
  assert.throws(() => parseGoDuration('10'), /time: missing unit in duration "10"/);
  assert.throws(() => parseGoDuration('10d'), /time: unknown unit "d" in duration "10d"/);
});
