import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { nativeSpawnUsable, runForked, runSpawned, spawnPiped, type RunOptions, type RunResult } from './spawn.js';

type Runner = (file: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

// The daemon takes the posix_spawn way whenever the addon is built; the fallback must behave the
// same, so every case runs through both.
const runners: [string, Runner][] = [
  ['posix_spawn', runSpawned],
  ['node spawn', runForked],
];

test('the native addon offers posix_spawn here, so the daemon does not fork for helpers', () => {
  assert.equal(nativeSpawnUsable(), true);
});

test('spawnPiped: a kill between the exit and its report reaches the zombie, not another process, and does not throw', async () => {
  const child = spawnPiped('true', [], { fds: ['ignore', 'ignore', 'ignore'] });
  // Block the JS thread while the program ends: its exit is seen, and not yet reported to JS.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  child.kill('SIGTERM');
  assert.deepEqual(await child.exited, { code: 0, signal: null });
  child.kill('SIGTERM');
});

for (const [way, run] of runners) {
  test(`${way}: exit status, stdout and stderr are kept apart`, async () => {
    const r = await run('sh', ['-c', 'echo out; echo err >&2; exit 7']);
    assert.deepEqual(r, { code: 7, signal: null, stdout: 'out\n', stderr: 'err\n' });
  });

  test(`${way}: a program killed by a signal reports it, with code 128`, async () => {
    const r = await run('sh', ['-c', 'echo before; kill -KILL $$']);
    assert.equal(r.code, 128);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.stdout, 'before\n');
  });

  test(`${way}: input larger than a pipe's buffer reaches the program whole`, async () => {
    const input = 'x'.repeat(1 << 20) + '\nend\n';
    const r = await run('wc', ['-c'], { input });
    assert.equal(r.stdout.trim(), String(Buffer.byteLength(input)));
    // A program that reads none of its input must not leave the caller hanging or throwing.
    const early = await run('true', [], { input });
    assert.equal(early.code, 0);
  });

  test(`${way}: cwd and env are the program's, and stdin is /dev/null without input`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'wt-spawn-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const r = await run('sh', ['-c', 'pwd; echo "$WHARF_T"; echo "${HOME-unset}"; cat; readlink /proc/self/fd/0'], {
      cwd: dir,
      env: { PATH: process.env.PATH, WHARF_T: 'a b=c' },
    });
    assert.equal(r.stdout, `${dir}\na b=c\nunset\n/dev/null\n`);
  });

  test(`${way}: the program starts with no signal blocked or ignored (Node ignores SIGPIPE)`, async () => {
    const r = await run('sh', ['-c', 'grep -E "^Sig(Blk|Ign)" /proc/self/status']);
    assert.match(r.stdout, /^SigBlk:\s*0+$/m);
    // glibc's posix_spawn leaves its own two internal signals (32 and 33) ignored; every program
    // linked with glibc or musl installs its handlers for them at start, and no other uses them.
    const ignored = BigInt('0x' + /^SigIgn:\s*([0-9a-f]+)$/m.exec(r.stdout)![1]) & ~(0b11n << 31n);
    assert.equal(ignored, 0n, r.stdout);
    // `yes` ends by SIGPIPE once `head` is done, as in a shell.
    const p = await run('sh', ['-c', 'yes | head -n 1']);
    assert.equal(p.stdout, 'y\n');
  });

  test(`${way}: a program that is not there rejects as Node's spawn does (ENOENT)`, async () => {
    await assert.rejects(run('wharf-no-such-program', ['x']), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'ENOENT');
      assert.equal(e.message, 'spawn wharf-no-such-program ENOENT');
      return true;
    });
  });

  test(`${way}: an abort ends the program and rejects with AbortError`, async () => {
    const ac = new AbortController();
    const started = Date.now();
    void setTimeout(50).then(() => ac.abort());
    await assert.rejects(run('sleep', ['30'], { signal: ac.signal }), { name: 'AbortError' });
    assert.ok(Date.now() - started < 10_000, 'the sleep was ended, not waited for');
    await assert.rejects(run('true', [], { signal: ac.signal }), { name: 'AbortError' });
  });

  test(`${way}: no file descriptor is left open after many runs, failed ones included`, async () => {
    // The first run may open what lasts for the process (libuv's SIGCHLD pipe).
    await run('true', []);
    const before = (await readdir('/proc/self/fd')).length;
    for (let i = 0; i < 30; i++) {
      await run('sh', ['-c', 'exit 1'], { input: 'in' });
      await run('wharf-no-such-program', []).catch(() => {});
    }
    // Node's spawn closes the pipes of a failed start a turn after it rejects.
    let after = 0;
    for (let i = 0; i < 50 && (after = (await readdir('/proc/self/fd')).length) !== before; i++) await setTimeout(20);
    assert.equal(after, before);
  });
}
