import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration } from './duration.js';

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
