/**
 * Image archives move between the real Docker (Debian's docker.io) and wharf with the same image
 * IDs, both ways. Each engine is driven with the same docker CLI; only DOCKER_HOST differs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAP_SETUID_EFF, capEffOfCopy, cappedBusybox, startDaemon, startDockerd, type Dockerd, type ExecOpts, type TestDaemon } from './harness.js';

const TIMEOUT = { timeout: 180_000 };

let w: TestDaemon;
let dk: Dockerd;
before(async () => {
  [w, dk] = await Promise.all([startDaemon(), startDockerd('wharfinterop')]);
});
after(async () => {
  await Promise.all([w?.stop(), dk?.stop()]);
});

type Engine = Pick<TestDaemon, 'docker'>;

async function must(e: Engine, args: string[], opts?: ExecOpts): Promise<string> {
  const r = await e.docker(args, opts);
  const who = e === dk ? 'docker' : 'wharf';
  if (r.code !== 0) {
    const log = who === 'docker' ? dk.log() : w.log();
    const errors = log.split('\n').filter((l) => /error/i.test(l)).slice(-20).join('\n');
    assert.fail(`${who}: docker ${args.join(' ')} failed (${r.code}): ${r.stderr}\n${errors}`);
  }
  return r.stdout;
}

const idOf = async (e: Engine, ref: string) => (await must(e, ['image', 'inspect', '-f', '{{.Id}}', ref])).trim();

/** wharf's embedded busybox, carried into dockerd as a file. Returns its ID. */
async function busyboxIntoDocker(): Promise<string> {
  const tar = join(w.dir, 'busybox.tar');
  await must(w, ['save', '-o', tar, 'busybox']);
  const out = await must(dk, ['load', '-i', tar]);
  assert.match(out, /Loaded image: busybox:latest/);
  return idOf(w, 'busybox');
}

test('wharf → Docker: the embedded busybox loads with the same ID and runs', TIMEOUT, async () => {
  try {
    const id = await busyboxIntoDocker();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    assert.equal(await idOf(dk, 'busybox'), id);
    assert.equal(await must(dk, ['run', '--rm', 'busybox', 'echo', 'ok']), 'ok\n');
  } finally {
    await dk.docker(['rmi', 'busybox']);
  }
});

test('Docker → wharf: an image Docker committed loads with the same ID, from a file and from stdin', TIMEOUT, async () => {
  const tar = join(dk.dir, 'made.tar');
  try {
    await busyboxIntoDocker();
    await must(dk, ['run', '--name', 'made-src', 'busybox', 'sh', '-c', 'echo hi > /f']);
    await must(dk, ['commit', '-c', 'CMD ["cat","/f"]', 'made-src', 'made:1']);
    await must(dk, ['save', 'made:1', '-o', tar]);
    const id = await idOf(dk, 'made:1');

    assert.match(await must(w, ['load', '-i', tar]), /Loaded image: made:1/);
    assert.equal(await idOf(w, 'made:1'), id);
    const layers = async (e: Engine) => (await must(e, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'made:1'])).trim();
    const history = async (e: Engine) => (await must(e, ['history', '-q', 'made:1'])).trim().split('\n').length;
    assert.equal(await layers(w), await layers(dk));
    assert.equal(await layers(w), '2');
    assert.equal(await history(w), await history(dk));
    assert.equal(await must(w, ['run', '--rm', 'made:1']), 'hi\n');

    await must(w, ['rmi', 'made:1']);
    assert.match(await must(w, ['load'], { input: await readFile(tar) }), /Loaded image: made:1/);
    assert.equal(await idOf(w, 'made:1'), id);
    assert.equal(await must(w, ['run', '--rm', 'made:1']), 'hi\n');
  } finally {
    await w.docker(['rmi', 'made:1']);
    await dk.docker(['rm', '-f', 'made-src']);
    await dk.docker(['rmi', 'made:1', 'busybox']);
    await rm(tar, { force: true });
  }
});

test('wharf → Docker: an image wharf committed in two steps loads with the same ID and runs', TIMEOUT, async () => {
  const tar = join(w.dir, 'layered.tar');
  try {
    await must(w, ['run', '--name', 'c1', 'busybox', 'sh', '-c', 'echo one > /a']);
    await must(w, ['commit', 'c1', 'step:1']);
    await must(w, ['run', '--name', 'c2', 'step:1', 'sh', '-c', 'echo two > /b; rm /a']);
    await must(w, ['commit', '-c', 'CMD ["sh","-c","cat /b; ls /a 2>/dev/null || echo gone"]', 'c2', 'layered:1']);
    const id = await idOf(w, 'layered:1');
    assert.equal((await must(w, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'layered:1'])).trim(), '3');
    await must(w, ['save', '-o', tar, 'layered:1']);

    assert.match(await must(dk, ['load', '-i', tar]), /Loaded image: layered:1/);
    assert.equal(await idOf(dk, 'layered:1'), id);
    assert.equal(await must(dk, ['run', '--rm', 'layered:1']), 'two\ngone\n');
  } finally {
    await dk.docker(['rmi', 'layered:1']);
    await w.docker(['rm', '-f', 'c1', 'c2']);
    await w.docker(['rmi', 'layered:1', 'step:1']);
    await rm(tar, { force: true });
  }
});

test('file capabilities cross both ways: an image either engine committed from a capped binary keeps its ID and the capability in the other', TIMEOUT, async () => {
  const host = await mkdtemp(join(tmpdir(), 'wharf-interop-caps-'));
  const made: [Engine, string, string][] = [
    [w, 'wharf-caps-by-wharf', join(host, 'by-wharf.tar')],
    [dk, 'wharf-caps-by-docker', join(host, 'by-docker.tar')],
  ];
  try {
    const box = await cappedBusybox(host);
    await busyboxIntoDocker();
    for (const [from, name, tar] of made) {
      await must(from, ['create', '--name', name, 'busybox', 'true']);
      await must(from, ['cp', box, `${name}:/tmp/busybox`]);
      await must(from, ['commit', name, `${name}:1`]);
      await must(from, ['save', '-o', tar, `${name}:1`]);
    }
    for (const [from, name, tar] of made) {
      const to = from === w ? dk : w;
      await must(to, ['load', '-i', tar]);
      assert.equal(await idOf(to, `${name}:1`), await idOf(from, `${name}:1`), name);
      assert.equal(await capEffOfCopy(to, `${name}:1`), CAP_SETUID_EFF, name);
    }
  } finally {
    for (const e of [w, dk]) {
      await e.docker(['rm', '-f', ...made.map(([, name]) => name)]);
      // wharf keeps its embedded busybox; dockerd's came from it.
      await e.docker(['rmi', '-f', ...made.map(([, name]) => `${name}:1`), ...(e === dk ? ['busybox'] : [])]);
    }
    await rm(host, { recursive: true, force: true });
  }
});
