import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, appendFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogs, rotateLog, parseLogTime } from './logs.js';

const rec = (ts: string, stream: string, tag: string, text: string) => `${ts} ${stream} ${tag} ${text}\n`;

async function collect(path: string, opts: Partial<Parameters<typeof readLogs>[1]> = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of readLogs(path, { follow: false, tail: -1, stdout: true, stderr: true, ...opts })) {
    for (const e of batch) out.push(`${e.stream}:${e.line.toString()}`);
  }
  return out;
}

test('parseLogTime: local offsets become UTC with nanoseconds', () => {
  const t = parseLogTime('2024-05-01T12:00:00.123456789+02:00');
  assert.equal(t.nano, '2024-05-01T10:00:00.123456789Z');
  assert.equal(t.ms, Date.parse('2024-05-01T10:00:00.123Z') + 0.456789);
});

test('readLogs: joins partial records, keeps streams apart, filters, tails across rotated files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(
    `${path}.1`,
    rec('2024-01-01T00:00:01.000000000+00:00', 'stdout', 'F', 'one') + rec('2024-01-01T00:00:02.000000000+00:00', 'stderr', 'F', 'two'),
  );
  await writeFile(
    path,
    rec('2024-01-01T00:00:03.000000000+00:00', 'stdout', 'P', 'thr') +
      rec('2024-01-01T00:00:03.500000000+00:00', 'stdout', 'F', 'ee') +
      rec('2024-01-01T00:00:04.000000000+00:00', 'stdout', 'P', 'tail-without-newline'),
  );
  assert.deepEqual(await collect(path), ['stdout:one\n', 'stderr:two\n', 'stdout:three\n', 'stdout:tail-without-newline']);
  assert.deepEqual(await collect(path, { stderr: false }), ['stdout:one\n', 'stdout:three\n', 'stdout:tail-without-newline']);
  assert.deepEqual(await collect(path, { tail: 2 }), ['stderr:two\n', 'stdout:three\n', 'stdout:tail-without-newline']);
  assert.deepEqual(await collect(path, { tail: 0 }), []);
  assert.deepEqual(await collect(path, { since: new Date('2024-01-01T00:00:02Z'), until: new Date('2024-01-01T00:00:03.9Z') }), [
    'stderr:two\n',
    'stdout:three\n',
  ]);
});

test('readLogs follow: sees appended lines and a rotation, stops when told', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(path, rec('2024-01-01T00:00:01.000000000+00:00', 'stdout', 'F', 'a'));
  let stop!: () => void;
  const stopWhen = new Promise<void>((r) => (stop = r));
  const got: string[] = [];
  const reader = (async () => {
    for await (const batch of readLogs(path, { follow: true, tail: -1, stdout: true, stderr: true, stopWhen })) got.push(...batch.map((e) => e.line.toString()));
  })();
  await new Promise((r) => setTimeout(r, 100));
  await appendFile(path, rec('2024-01-01T00:00:02.000000000+00:00', 'stdout', 'F', 'b'));
  await new Promise((r) => setTimeout(r, 300));
  await rename(path, `${path}.1`);
  await writeFile(path, rec('2024-01-01T00:00:03.000000000+00:00', 'stdout', 'F', 'c'));
  await new Promise((r) => setTimeout(r, 1500));
  stop();
  await reader;
  assert.deepEqual(got, ['a\n', 'b\n', 'c\n']);
});

test('rotateLog shifts files and keeps at most max-file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  for (let i = 0; i < 4; i++) {
    await writeFile(path, `gen${i}`.padEnd(20, '.'));
    assert.equal(await rotateLog(path, 10, 3), true);
  }
  await writeFile(path, 'small');
  assert.equal(await rotateLog(path, 10, 3), false);
  const { readdir } = await import('node:fs/promises');
  assert.deepEqual((await readdir(dir)).sort(), ['c.log', 'c.log.1', 'c.log.2']);
});
