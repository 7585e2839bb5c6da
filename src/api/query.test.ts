import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archivePath, boolParam, changesParam, intParam, nsToDate, parseFilters, parseTimestampNs, strParam } from './query.js';

const q = (s: string) => new URLSearchParams(s);

test('boolParam: absent is the default; empty, 0, false and no are false, anything else true', () => {
  assert.equal(boolParam(q(''), 'all'), false);
  assert.equal(boolParam(q(''), 'pause', true), true);
  for (const v of ['', '0', 'false', 'FALSE', 'no', 'No']) assert.equal(boolParam(q(`all=${v}`), 'all', true), false, v);
  for (const v of ['1', 'true', 'yes', 'x']) assert.equal(boolParam(q(`all=${v}`), 'all'), true, v);
});

test('intParam: absent or empty is undefined; a non-number is refused with its name', () => {
  assert.equal(intParam(q(''), 't'), undefined);
  assert.equal(intParam(q('t='), 't'), undefined);
  assert.equal(intParam(q('t=10'), 't'), 10);
  assert.equal(intParam(q('t=-1'), 't'), -1);
  assert.throws(() => intParam(q('t=ten'), 't'), (e: Error) => e.name === 'InvalidArgumentError' && e.message === 'invalid value for t: ten');
});

test('strParam: absent is undefined, empty stays empty', () => {
  assert.equal(strParam(q(''), 'name'), undefined);
  assert.equal(strParam(q('name='), 'name'), '');
  assert.equal(strParam(q('name=a%20b'), 'name'), 'a b');
});

test('parseFilters: the list form, the pre-1.22 map form, and nothing', () => {
  assert.deepEqual(parseFilters(undefined), {});
  assert.deepEqual(parseFilters(''), {});
  assert.deepEqual(parseFilters('{"status":["running","exited"],"label":["a=b"]}'), { status: ['running', 'exited'], label: ['a=b'] });
  assert.deepEqual(parseFilters('{"status":{"running":true,"exited":false}}'), { status: ['running'] });
  assert.deepEqual(parseFilters('{"exited":[0]}'), { exited: ['0'] });
});

test('parseFilters: what is not an object of lists or maps is an invalid filter', () => {
  for (const raw of ['{', '[]', '"x"', 'null', '{"status":"running"}', '{"status":1}']) {
    assert.throws(() => parseFilters(raw), (e: Error) => e.name === 'InvalidArgumentError' && e.message === `invalid filter: ${raw}`, raw);
  }
});

test('parseTimestampNs: unix seconds with a fraction of up to nine digits, or RFC 3339', () => {
  assert.equal(parseTimestampNs(undefined), undefined);
  assert.equal(parseTimestampNs(''), undefined);
  assert.equal(parseTimestampNs('0'), 0n);
  assert.equal(parseTimestampNs('1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(parseTimestampNs('1700000000.5'), 1_700_000_000_500_000_000n);
  assert.equal(parseTimestampNs('1700000000.000000001'), 1_700_000_000_000_000_001n);
  assert.equal(parseTimestampNs('2024-05-01T10:00:00.250Z'), BigInt(Date.parse('2024-05-01T10:00:00.250Z')) * 1_000_000n);
  assert.throws(() => parseTimestampNs('yesterday'), (e: Error) => e.name === 'InvalidArgumentError' && e.message === 'invalid timestamp: yesterday');
});

test('nsToDate: to the millisecond, undefined stays undefined', () => {
  assert.equal(nsToDate(undefined), undefined);
  assert.equal(nsToDate(1_700_000_000_123_999_999n)?.getTime(), 1_700_000_000_123);
});

test('archivePath: required, in Docker words', () => {
  assert.equal(archivePath(q('path=/etc/hosts')), '/etc/hosts');
  for (const s of ['', 'path=']) {
    assert.throws(() => archivePath(q(s)), (e: Error) => e.name === 'InvalidArgumentError' && e.message === 'bad parameter: pathcannot be empty');
  }
});

test('changesParam: repeated and multi-line changes, blank lines dropped', () => {
  const p = new URLSearchParams();
  p.append('changes', 'ENV A=1\nCMD ["sh"]\n');
  p.append('changes', '  ');
  p.append('changes', 'LABEL x=y');
  assert.deepEqual(changesParam(p), ['ENV A=1', 'CMD ["sh"]', 'LABEL x=y']);
  assert.deepEqual(changesParam(q('')), []);
});
