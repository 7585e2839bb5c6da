/**
 * `build` with bad input (issue #10): each fails with Docker's message and exit code through both
 * clients, and leaves no container, mount or new dangling image behind. Same engines as
 * build.test.ts (WHARF_BUILD_TESTS_ENGINE=docker runs them against a private dockerd).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { assertClean, context, dangling, mountsUnder, must, startBuildEngine, wharfOnly, type BuildClient, type BuildEngine } from './build-engine.js';

const T = { timeout: 240_000 };
let E: BuildEngine;
before(async () => {
  E = await startBuildEngine('wharfbuilderr');
});
after(async () => {
  await E?.stop();
});

/** Builds `files` with each client; each must fail with `code` and print `message` (stdout or stderr); nothing may be left. */
async function fails(files: Record<string, string>, message: RegExp, code = 1, extra: (ctx: string) => Promise<void> = async () => {}, flags: string[] = []): Promise<void> {
  const ctx = await context(E, files);
  await extra(ctx);
  for (const client of E.clients) {
    const before = await dangling(E);
    const r = await E.build(client, [...flags, ctx]);
    assert.equal(r.code, code, `${client}: exit code\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, message, `${client}: message`);
    await assertClean(E, before, client);
  }
}

test('an unknown instruction', T, async () => {
  await fails({ Dockerfile: 'FROM busybox\nFOO bar\n' }, /unknown instruction: FOO/i);
});

test('an unterminated quote', T, async () => {
  await fails({ Dockerfile: 'FROM busybox\nENV A="unterminated\n' }, /unexpected end of statement while looking for matching double-quote/);
});

// The classic builder (and dockerd 20.10's frontend) know no heredocs: there `<<EOF` is shell.
test('an unterminated heredoc', { ...T, ...wharfOnly('dockerd 20.10 has no heredocs') }, async () => {
  await fails({ Dockerfile: 'FROM busybox\nRUN <<EOF\necho never\n' }, /unterminated heredoc/i);
});

test('a missing base image', T, async () => {
  await fails({ Dockerfile: 'FROM wharf-no-such-image:1\nRUN true\n' }, /wharf-no-such-image/);
});

test('COPY ../x outside the context', T, async () => {
  await fails({ Dockerfile: 'FROM busybox\nCOPY ../x /x\n' }, /outside the build context|not found in build context/);
});

test('COPY through a symlink leading outside the context does not reach the host', T, async () => {
  // Links are resolved inside the context, as if it were the root: `out/hostname` is the
  // context's own (missing) etc/hostname, never the host's.
  await fails({ Dockerfile: 'FROM busybox\nCOPY out/hostname /stolen\n' }, /not found|no such file/i, 1, async (ctx) => {
    await symlink('/etc', join(ctx, 'out'));
  });
  // dockerd resolves `up` to the context's own root (not found); wharf refuses the link that climbs out.
  await fails({ Dockerfile: 'FROM busybox\nCOPY up/etc/hostname /stolen\n' }, /not found|no such file|outside the build context/i, 1, async (ctx) => {
    await symlink('../../../../../../..', join(ctx, 'up'));
  });
});

test('COPY --from a stage that does not exist', T, async () => {
  // Not a stage, so the classic builder takes it for an image and fails to find it.
  await fails({ Dockerfile: 'FROM busybox\nCOPY --from=nostage /a /a\n' }, /nostage/);
});

test('COPY of several sources to a destination without a trailing slash', T, async () => {
  await fails({ Dockerfile: 'FROM busybox\nCOPY a b /dest\n', a: 'a', b: 'b' }, /When using COPY with more than one source file, the destination must be a directory and end with a \//);
});

test('a RUN that fails: the client exits with its code and shows its output', T, async () => {
  // Docker keeps a failed step's container unless --force-rm (rm=true only covers good steps).
  await fails({ Dockerfile: 'FROM busybox\nRUN echo output-before-failure; exit 7\n' }, /output-before-failure[\s\S]*returned a non-zero code: 7/, 7, async () => {}, ['--force-rm']);
});

test('a client that disconnects mid-build: the RUN is stopped, nothing is left', T, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nRUN echo started; sleep 30\n' });
  for (const client of E.clients as BuildClient[]) {
    const before = await dangling(E);
    const child = E.spawnBuild(client, [ctx]);
    let out = '';
    child.stdout!.on('data', (b) => (out += b));
    child.stderr!.on('data', (b) => (out += b));
    const started = Date.now();
    while (!out.includes('started') && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /started/, `${client}: the RUN never started:\n${out}`);
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
    // The daemon notices the closed connection and tears the step down well before the sleep ends.
    let left = 'x';
    for (let i = 0; i < 100 && left; i++) {
      left = (await must(E, ['ps', '-a', '-q'])).trim();
      if (left) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(Date.now() - started < 28_000, `${client}: the RUN was not stopped when the client went away`);
    await assertClean(E, before, client);
    // dockerd keeps its data root itself mounted (a private bind); what matters is below it.
    const mounts = (await mountsUnder(E.dataRoot)).filter((m) => m !== E.dataRoot && !/\/(netns|plugins)\b/.test(m));
    assert.deepEqual(mounts, [], `${client}: mounts left under the data root`);
  }
});
