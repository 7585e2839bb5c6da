/**
 * The engine the build tests run against. By default a private wharfd; with
 * WHARF_BUILD_TESTS_ENGINE=docker a private Debian dockerd instead, so every assertion can be
 * proved against the real Docker before wharf's builder exists. The same docker CLI 28 drives
 * both; classic builds use DOCKER_BUILDKIT=0. Features only BuildKit has (RUN --mount, heredocs,
 * COPY --chmod/--link/...) go through `buildkit()`: on dockerd that is Debian's 20.10 CLI with
 * DOCKER_BUILDKIT=1, on wharf the same classic API (wharf's builder implements them there).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DOCKER, ROOT, WHARF, exec, startDaemon, startDockerd, type Dockerd, type ExecOpts, type RunResult, type TestDaemon } from './harness.js';

export type EngineKind = 'wharf' | 'docker';
export const ENGINE: EngineKind = process.env.WHARF_BUILD_TESTS_ENGINE === 'docker' ? 'docker' : 'wharf';
/** Debian's docker CLI, for BuildKit builds against dockerd (CLI 28 needs the buildx plugin, not installed). */
export const DOCKER_20 = '/usr/bin/docker';
export const FIXTURES = join(ROOT, 'test/fixtures/build');

/** Which client sends the build: wharf's own CLI, or the docker CLI's classic builder. */
export type BuildClient = 'wharf' | 'docker';

export interface BuildEngine {
  kind: EngineKind;
  /** A scratch directory of the test file's own, removed at stop(). */
  tmp: string;
  dataRoot: string;
  /** The clients a "both clients" test loops over: on dockerd only the docker CLI makes sense. */
  clients: BuildClient[];
  /** The docker CLI 28 against the engine, for everything but build. */
  docker(args: string[], opts?: ExecOpts): Promise<RunResult>;
  /** A classic build (`build` is prepended). */
  build(client: BuildClient, args: string[], opts?: ExecOpts): Promise<RunResult>;
  /** A build using BuildKit-only Dockerfile features (see the file comment). */
  buildkit(args: string[], opts?: ExecOpts): Promise<RunResult>;
  /** Starts a build and hands back the client process (the disconnect test kills it). */
  spawnBuild(client: BuildClient, args: string[]): ChildProcess;
  restart(): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

const CLASSIC = { DOCKER_BUILDKIT: '0' };

export async function startBuildEngine(namespace: string): Promise<BuildEngine> {
  const tmp = await mkdtemp(join(tmpdir(), `wharf-${namespace}-`));
  if (ENGINE === 'wharf') {
    const d: TestDaemon = await startDaemon();
    const run = (client: BuildClient, args: string[], opts: ExecOpts = {}) =>
      client === 'wharf'
        ? d.wharf(['build', ...args], { timeoutMs: 180_000, ...opts })
        : d.docker(['build', ...args], { timeoutMs: 180_000, ...opts, env: { ...CLASSIC, ...(opts.env ?? {}) } });
    return {
      kind: 'wharf',
      tmp,
      dataRoot: d.dataRoot,
      clients: ['wharf', 'docker'],
      docker: (args, opts = {}) => d.docker(args, { timeoutMs: 120_000, ...opts }),
      build: run,
      buildkit: (args, opts) => run('wharf', args, opts),
      spawnBuild: (client, args) =>
        client === 'wharf'
          ? spawn(process.execPath, [WHARF, 'build', ...args], { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] })
          : spawn(DOCKER, ['build', ...args], { env: { ...d.env, ...CLASSIC }, stdio: ['ignore', 'pipe', 'pipe'] }),
      restart: () => d.restart(),
      log: () => d.log(),
      stop: async () => {
        await d.stop();
        await rm(tmp, { recursive: true, force: true });
      },
    };
  }
  const dk: Dockerd = await startDockerd(namespace);
  try {
    await busyboxInto(dk, tmp);
  } catch (err) {
    await dk.stop();
    throw err;
  }
  return {
    kind: 'docker',
    tmp,
    dataRoot: dk.dataRoot,
    clients: ['docker'],
    docker: (args, opts) => dk.docker(args, opts),
    build: (_client, args, opts = {}) => dk.docker(['build', ...args], { timeoutMs: 180_000, ...opts, env: { ...CLASSIC, ...(opts.env ?? {}) } }),
    // The test dockerd has no bridge, which BuildKit's RUN needs by default.
    buildkit: (args, opts = {}) => exec(DOCKER_20, ['build', '--network', 'host', ...args], { timeoutMs: 180_000, ...opts, env: { ...dk.env, DOCKER_BUILDKIT: '1', ...(opts.env ?? {}) } }),
    spawnBuild: (_client, args) => spawn(DOCKER, ['build', ...args], { env: { ...dk.env, ...CLASSIC }, stdio: ['ignore', 'pipe', 'pipe'] }),
    restart: () => dk.restart(),
    log: () => dk.log(),
    stop: async () => {
      await dk.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** dockerd has no registry here: carry wharf's embedded busybox into it as a file. */
async function busyboxInto(dk: Dockerd, tmp: string): Promise<void> {
  const w = await startDaemon();
  try {
    const tar = join(tmp, 'busybox.tar');
    const saved = await w.docker(['save', '-o', tar, 'busybox'], { timeoutMs: 60_000 });
    assert.equal(saved.code, 0, `wharf save busybox: ${saved.stderr}`);
    const loaded = await dk.docker(['load', '-i', tar]);
    assert.equal(loaded.code, 0, `docker load: ${loaded.stderr}`);
    await rm(tar, { force: true });
  } finally {
    await w.stop();
  }
}

let contexts = 0;
/** A fresh build context under the engine's tmp dir: file name → content (a Buffer for binary). */
export async function context(e: BuildEngine, files: Record<string, string | Buffer>): Promise<string> {
  const dir = join(e.tmp, `ctx${++contexts}`);
  await mkdir(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), body);
  }
  return dir;
}

/** A copy of test/fixtures/build/<name> (tests may add generated files to it). */
export async function fixture(e: BuildEngine, name: string): Promise<string> {
  const dir = join(e.tmp, `fx${++contexts}-${name}`);
  await cp(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** Runs `docker args` against the engine, which must exit 0; its stdout. */
export async function must(e: BuildEngine, args: string[], opts?: ExecOpts): Promise<string> {
  const r = await e.docker(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')} (${e.kind}) exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A build that must succeed; the whole result for output assertions. */
export async function built(r: RunResult | Promise<RunResult>, what = 'build'): Promise<RunResult> {
  const res = await r;
  assert.equal(res.code, 0, `${what} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return res;
}

export async function inspect<T = Record<string, unknown>>(e: BuildEngine, ref: string, format = '{{json .}}'): Promise<T> {
  return JSON.parse(await must(e, ['image', 'inspect', '-f', format, ref])) as T;
}

export async function config(e: BuildEngine, ref: string): Promise<Record<string, any>> {
  return inspect(e, ref, '{{json .Config}}');
}

/** `run --rm ref sh -c script`: its stdout. */
export async function sh(e: BuildEngine, ref: string, script: string): Promise<string> {
  return must(e, ['run', '--rm', '--entrypoint', '', ref, 'sh', '-c', script]);
}

export async function imageId(e: BuildEngine, ref: string): Promise<string> {
  return (await must(e, ['image', 'inspect', '-f', '{{.Id}}', ref])).trim();
}

export async function dangling(e: BuildEngine): Promise<string[]> {
  return (await must(e, ['images', '-q', '--no-trunc', '-f', 'dangling=true'])).split('\n').filter(Boolean).sort();
}

/** After a build that must have left nothing: no containers at all, no new dangling images. */
export async function assertClean(e: BuildEngine, danglingBefore: string[], what: string): Promise<void> {
  let left = '';
  // The daemon may still be removing the step's container when the CLI has already exited.
  for (let i = 0; i < 50; i++) {
    left = (await must(e, ['ps', '-a', '-q'])).trim();
    if (!left) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(left, '', `${what}: containers left behind`);
  assert.deepEqual(await dangling(e), danglingBefore, `${what}: new dangling images`);
}

/** Mount points under the engine's data root (a cancelled build must leave none). */
export async function mountsUnder(root: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(root));
}

/** A test's option that leaves it out of the dockerd run, saying why (wharf deliberately differs, or dockerd 20.10 cannot show it here). */
export function wharfOnly(why: string): { skip?: string } {
  return ENGINE === 'docker' ? { skip: `wharf only: ${why}` } : {};
}
