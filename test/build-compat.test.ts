/**
 * The same Dockerfiles (classic-builder features only) built by a private dockerd
 * (DOCKER_BUILDKIT=0) and by wharfd must give the same image: the same Config (less the fields
 * that must differ) and the same flattened file tree (path, type, mode, owner, link target,
 * content hash). WHARF_BUILD_COMPAT_SELF=1 builds both sides on dockerd (the second with
 * --no-cache), which proves the normalisation below hides nothing but what differs by nature.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTarEntries } from '../src/util/index.js';
import { DOCKER, exec, startDaemon, startDockerd, type Dockerd, type RunResult, type TestDaemon } from './harness.js';
import { FIXTURES } from './build-engine.js';

const SELF = process.env.WHARF_BUILD_COMPAT_SELF === '1';
const CASES = ['syntax', 'subst', 'config', 'args', 'copy', 'ignore', 'escape'];
const T = { timeout: 240_000 };

type Side = { name: string; docker(args: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<RunResult> };
let w: TestDaemon | undefined;
let dk: Dockerd;
let tmp: string;
let wharfSide: Side;
let dockerSide: Side;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'wharf-build-compat-'));
  [w, dk] = await Promise.all([startDaemon(), startDockerd('wharfbuildcompat')]);
  const tar = join(tmp, 'busybox.tar');
  assert.equal((await w.docker(['save', '-o', tar, 'busybox'])).code, 0);
  assert.equal((await dk.docker(['load', '-i', tar])).code, 0);
  dockerSide = { name: 'docker', docker: (a, o = {}) => dk.docker(a, { timeoutMs: 180_000, ...o }) };
  wharfSide = SELF
    ? { name: 'docker (again)', docker: (a, o = {}) => dk.docker(a[0] === 'build' ? ['build', '--no-cache', ...a.slice(1)] : a, { timeoutMs: 180_000, ...o }) }
    : { name: 'wharf', docker: (a, o = {}) => exec(DOCKER, a, { timeoutMs: 180_000, ...o, env: { ...w!.env, ...(o.env ?? {}) } }) };
});
after(async () => {
  await Promise.all([w?.stop(), dk?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function must(side: Side, args: string[]): Promise<string> {
  const r = await side.docker(args, args[0] === 'build' ? { env: { DOCKER_BUILDKIT: '0' } } : {});
  assert.equal(r.code, 0, `${side.name}: docker ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Config less what must differ between engines (the parent image's ID, the build container's host name) and unset fields. */
function normalConfig(c: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'Image' || k === 'Hostname' || k === 'Domainname') continue;
    if (v === null || v === undefined || v === '') continue;
    out[k] = v;
  }
  return out;
}

/** Files the runtime puts into every container, not part of the image's content. */
const RUNTIME = /^(\.dockerenv|etc\/(hostname|hosts|resolv\.conf|mtab)|dev(\/.*)?|proc|sys|run\/secrets)$/;

async function tree(side: Side, ref: string): Promise<string[]> {
  const name = `compat-${createHash('sha256').update(side.name + ref).digest('hex').slice(0, 8)}`;
  await must(side, ['create', '--name', name, ref, 'true']);
  try {
    const tar = join(tmp, `${name}.tar`);
    await must(side, ['export', '-o', tar, name]);
    const { readFile } = await import('node:fs/promises');
    const entries = await readTarEntries(await readFile(tar));
    await rm(tar, { force: true });
    return entries
      .map(({ header, body }) => {
        const path = header.name.replace(/^\.?\//, '').replace(/\/$/, '');
        return { path, header, body };
      })
      .filter((e) => e.path && !RUNTIME.test(e.path))
      .map(({ path, header, body }) => {
        // Permission bits only: Go's tar writer also puts the file type in the mode field, Node's does not.
        const sum = header.type === 'file' ? createHash('sha256').update(body).digest('hex') : '';
        return `${path} ${header.type} ${((header.mode ?? 0) & 0o7777).toString(8)} ${header.uid}:${header.gid} ${header.linkname ?? ''} ${sum}`;
      })
      .sort();
  } finally {
    await side.docker(['rm', '-f', name]);
  }
}

for (const c of CASES) {
  test(`fixture ${c}: the same Config and file tree from dockerd and ${SELF ? 'dockerd again' : 'wharfd'}`, T, async () => {
    const ctx = join(tmp, c);
    await cp(join(FIXTURES, c), ctx, { recursive: true });
    // A tag per side: in the self check both sides are one dockerd.
    const tagOf = (side: Side) => `compat-${c}:${side === dockerSide ? 'docker' : 'other'}`;
    for (const side of [dockerSide, wharfSide]) await must(side, ['build', '-t', tagOf(side), ctx]);
    const cfg = async (side: Side) => normalConfig(JSON.parse(await must(side, ['image', 'inspect', '-f', '{{json .Config}}', tagOf(side)])));
    assert.deepEqual(await cfg(wharfSide), await cfg(dockerSide));
    const layers = async (side: Side) => (await must(side, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}', tagOf(side)])).trim();
    assert.equal(await layers(wharfSide), await layers(dockerSide), 'layer count');
    // Content hashes are each engine's own (Docker's are tarsums); where they stand is compared.
    const history = async (side: Side) => (await must(side, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', tagOf(side)])).replace(/(file|dir|multi):[0-9a-f]{64}/g, 'HASH');
    assert.equal(await history(wharfSide), await history(dockerSide), 'history created_by');
    const [mine, theirs] = [await tree(wharfSide, tagOf(wharfSide)), await tree(dockerSide, tagOf(dockerSide))];
    assert.ok(theirs.length > 200, `a busybox tree has hundreds of entries, not ${theirs.length}`);
    assert.deepEqual(mine, theirs);
    if (SELF) assert.notEqual(await must(wharfSide, ['image', 'inspect', '-f', '{{.Id}}', tagOf(wharfSide)]), await must(dockerSide, ['image', 'inspect', '-f', '{{.Id}}', tagOf(dockerSide)]), 'the self check compares two builds');
  });
}
