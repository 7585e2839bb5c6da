import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { NotFoundError } from '../util/index.js';
import type { BuildRequest, ContainerConfig } from '../types/index.js';
import { build, BuildStepError, type BuildDeps, type BuildJob } from './builder.js';
import type { BuildHost, BuildImage, CommitRequest, RunProcess, Workspace } from './host.js';
import type { Instruction, Located, ParsedDockerfile, Stage } from './instructions.js';
import type { CopyPlan } from './copy.js';

// ------------------------------------------------------------------ fakes

/** `$X`, `${X}` and quotes, enough of the shell lexer for these tests. */
function fakeExpand(word: string, lookup: (n: string) => string | undefined): string {
  return word.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a?: string, b?: string) => lookup((a ?? b)!) ?? '').replace(/["']/g, '');
}

function at(original: string, ins: Instruction): Located {
  const keyword = original.split(' ', 1)[0].toLowerCase();
  return { ...ins, raw: { keyword, flags: [], rest: original.slice(keyword.length + 1), heredocs: [], original, range: { startLine: 1, endLine: 1 } } } as Located;
}

/** A tiny line parser for the instructions these tests use (the real parser is another module's). */
function parseLine(line: string): Located {
  const m = /^(\w+)\s+(.*)$/s.exec(line)!;
  const kw = m[1].toUpperCase();
  const rest = m[2];
  const cmd = () => (rest.startsWith('[') ? { form: 'json' as const, args: JSON.parse(rest) as string[] } : { form: 'shell' as const, text: rest });
  switch (kw) {
    case 'FROM': {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      return at(line, { kind: 'from', image: f[1], alias: f[2]?.toLowerCase() });
    }
    case 'RUN':
      return at(line, { kind: 'run', command: cmd(), mounts: [], heredocs: [] });
    case 'CMD':
      return at(line, { kind: 'cmd', command: cmd() });
    case 'ENTRYPOINT':
      return at(line, { kind: 'entrypoint', command: cmd() });
    case 'ENV':
    case 'LABEL':
      return at(line, {
        kind: kw === 'ENV' ? 'env' : 'label',
        pairs: rest.split(' ').map((p) => ({ key: p.split('=')[0], value: p.slice(p.indexOf('=') + 1) })),
      });
    case 'ARG':
      return at(line, { kind: 'arg', args: rest.split(' ').map((p) => (p.includes('=') ? { name: p.split('=')[0], default: p.slice(p.indexOf('=') + 1) } : { name: p })) });
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      return at(line, { kind: kw.toLowerCase() as 'workdir', value: rest });
    case 'EXPOSE':
    case 'VOLUME':
      return at(line, { kind: kw.toLowerCase() as 'expose', values: rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(' ') });
    case 'SHELL':
      return at(line, { kind: 'shell', shell: JSON.parse(rest) as string[] });
    case 'ONBUILD':
      return at(line, { kind: 'onbuild', trigger: rest });
    case 'COPY': {
      const parts = rest.split(' ');
      let from: string | undefined;
      if (parts[0].startsWith('--from=')) from = parts.shift()!.slice(7);
      return at(line, { kind: 'copy', sources: parts.slice(0, -1), dest: parts[parts.length - 1], heredocs: [], from, link: false, exclude: [], parents: false });
    }
    case 'HEALTHCHECK': {
      if (rest === 'NONE') return at(line, { kind: 'healthcheck', none: true });
      const h = /^(?:--interval=(\S+)\s+)?(?:--retries=(\d+)\s+)?CMD\s+(.*)$/.exec(rest)!;
      return at(line, {
        kind: 'healthcheck',
        none: false,
        interval: h[1],
        retries: h[2] === undefined ? undefined : Number(h[2]),
        command: h[3].startsWith('[') ? { form: 'json', args: JSON.parse(h[3]) as string[] } : { form: 'shell', text: h[3] },
      });
    }
  }
  throw new Error(`test parser: ${kw}`);
}

function fakeParse(text: string): ParsedDockerfile {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: ParsedDockerfile = { directives: {}, escape: '\\', metaArgs: [], stages: [], warnings: [] };
  let cur: Stage | undefined;
  for (const l of lines) {
    const ins = parseLine(l);
    if (ins.kind === 'from') {
      cur = { index: out.stages.length, from: ins as Located<Instruction & { kind: 'from' }> as Stage['from'], steps: [] };
      out.stages.push(cur);
    } else if (!cur) out.metaArgs.push(ins as Located<Instruction & { kind: 'arg' }> as ParsedDockerfile['metaArgs'][number]);
    else cur.steps.push(ins);
  }
  return out;
}

const deps: BuildDeps = {
  parse: fakeParse,
  expandWord: (w, l) => fakeExpand(w, l),
  expandWords: (t, l) => t.split(/\s+/).filter(Boolean).map((w) => fakeExpand(w, l)),
  planCopy: async (spec) => ({
    digest: 'sha256:' + createHash('sha256').update(spec.sources.join(',')).digest('hex'),
    historyWord: 'file:' + createHash('sha256').update(spec.sources.join(',')).digest('hex'),
    dispose: async () => {},
  }),
  applyCopy: async (_plan: CopyPlan) => {},
};

interface Commit {
  base?: string;
  req: CommitRequest;
  id: string;
}

/** Every workspace root the fakes made, removed when the file's tests end. */
const allDirs: string[] = [];
after(async () => {
  await Promise.all(allDirs.map((d) => rm(d, { recursive: true, force: true })));
});

class FakeHost implements BuildHost {
  images = new Map<string, BuildImage>();
  byId = new Map<string, BuildImage>();
  commits: Commit[] = [];
  runs: RunProcess[] = [];
  workspaces: { id: string; released: boolean }[] = [];
  tags: [string, string][] = [];
  cacheMap = new Map<string, string>();
  dirs: string[] = [];
  /** What RUN prints and exits with, by its last argument. */
  script: (proc: RunProcess, out: (c: Buffer) => void, signal: AbortSignal) => Promise<number> = async (p, out) => {
    out(Buffer.from(`ran ${p.args[p.args.length - 1]}\n`));
    return 0;
  };
  #n = 0;

  constructor() {
    this.add('busybox', { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] });
  }
  add(ref: string, config: ContainerConfig): BuildImage {
    const img: BuildImage = { id: this.#newImageId(), config: { architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [] } } };
    this.images.set(ref, img);
    this.byId.set(img.id, img);
    return img;
  }
  #newImageId(): string {
    return 'sha256:' + createHash('sha256').update(String(++this.#n) + Math.random()).digest('hex');
  }
  #commit(base: BuildImage | undefined, req: CommitRequest, layer = false): BuildImage {
    const history = [...(base?.config.history ?? []), { created_by: req.createdBy, ...(layer ? {} : { empty_layer: true }) }];
    const diffIds = [...(base?.config.rootfs.diff_ids ?? []), ...(layer ? ['sha256:' + createHash('sha256').update(req.createdBy).digest('hex')] : [])];
    const img: BuildImage = { id: this.#newImageId(), config: { architecture: 'amd64', os: 'linux', config: req.config, history, rootfs: { type: 'layers', diff_ids: diffIds } } };
    this.byId.set(img.id, img);
    this.commits.push({ base: base?.id, req, id: img.id });
    return img;
  }
  async image(ref: string): Promise<BuildImage> {
    const img = this.images.get(ref);
    if (!img) throw new NotFoundError(`pull access denied for ${ref}, repository does not exist or may require 'docker login'`);
    return img;
  }
  imageById(id: string): BuildImage | undefined {
    return this.byId.get(id);
  }
  async workspace(base: BuildImage | undefined): Promise<Workspace> {
    const rec = { id: createHash('sha256').update(`ws${++this.#n}`).digest('hex'), released: false };
    this.workspaces.push(rec);
    let dir: string | undefined;
    return {
      id: rec.id,
      root: async () => {
        dir = await mkdtemp(join(tmpdir(), 'bexec-ws-'));
        this.dirs.push(dir);
        allDirs.push(dir);
        return dir;
      },
      run: (proc, output, signal) => {
        this.runs.push(proc);
        return this.script(proc, output, signal);
      },
      commit: async (req) => this.#commit(base, req, true),
      release: async () => {
        rec.released = true;
      },
    };
  }
  async commitConfig(base: BuildImage | undefined, req: CommitRequest): Promise<BuildImage> {
    return this.#commit(base, req);
  }
  async commitLayer(base: BuildImage | undefined, req: CommitRequest): Promise<BuildImage> {
    return this.#commit(base, req, true);
  }
  async view(): Promise<{ path: string; release(): Promise<void> }> {
    return { path: tmpdir(), release: async () => {} };
  }
  async cacheDir(id: string): Promise<string> {
    return join(tmpdir(), id);
  }
  async tag(imageId: string, repoTag: string): Promise<void> {
    this.tags.push([imageId, repoTag]);
  }
  cache = {
    get: async (key: string) => {
      const id = this.cacheMap.get(key);
      return id ? this.byId.get(id) : undefined;
    },
    put: async (key: string, id: string) => {
      this.cacheMap.set(key, id);
    },
  };
  async cleanup(): Promise<void> {
    for (const d of this.dirs) await rm(d, { recursive: true, force: true });
  }
}

function request(over: Partial<BuildRequest> = {}): BuildRequest {
  return { dockerfile: 'Dockerfile', tags: [], buildArgs: {}, noCache: false, pull: false, labels: {}, extraHosts: [], quiet: false, rm: true, forceRm: false, cacheFrom: [], ...over };
}

async function run(host: FakeHost, dockerfile: string, over: Partial<BuildRequest> = {}, signal = new AbortController().signal) {
  let text = '';
  const aux: Record<string, unknown>[] = [];
  const job: BuildJob = {
    context: { dir: tmpdir(), dockerfile, release: async () => {} },
    request: request(over),
    host,
    output: { stream: (t) => void (text += t), aux: (v) => void aux.push(v) },
    signal,
    env: { NULLY: 'daemon-value' },
  };
  try {
    const id = await build(job, deps);
    return { id, text, aux };
  } catch (err) {
    return { err, text, aux };
  }
}

/** Output with IDs replaced, so the lines can be compared exactly. */
function shape(text: string): string {
  return text.replace(/\b[0-9a-f]{12}\b/g, 'ID');
}

const last = (h: FakeHost) => h.byId.get(h.commits[h.commits.length - 1].id)!.config.config!;

// ------------------------------------------------------------------ tests

test('classic output, history lines and config for a simple build', async () => {
  const h = new FakeHost();
  const r = await run(h, 'FROM busybox\nENV A=1\nRUN echo hi\nCMD ["sh","-c","x"]', { tags: ['app'] });
  assert.equal(r.err, undefined);
  assert.equal(
    shape(r.text),
    [
      'Step 1/4 : FROM busybox',
      ' ---> ID',
      'Step 2/4 : ENV A=1',
      ' ---> Running in ID',
      'Removing intermediate container ID',
      ' ---> ID',
      'Step 3/4 : RUN echo hi',
      ' ---> Running in ID',
      'ran echo hi',
      'Removing intermediate container ID',
      ' ---> ID',
      'Step 4/4 : CMD ["sh","-c","x"]',
      ' ---> Running in ID',
      'Removing intermediate container ID',
      ' ---> ID',
      'Successfully built ID',
      'Successfully tagged app:latest',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    h.commits.map((c) => c.req.createdBy),
    ['/bin/sh -c #(nop)  ENV A=1', '/bin/sh -c echo hi', '/bin/sh -c #(nop)  CMD ["sh" "-c" "x"]'],
  );
  assert.deepEqual(r.aux, [{ ID: r.id }]);
  assert.deepEqual(h.tags, [[r.id, 'app:latest']]);
  const cfg = last(h);
  assert.deepEqual(cfg.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1']);
  assert.deepEqual(cfg.Cmd, ['sh', '-c', 'x']);
  assert.equal(cfg.Image, h.commits[1].id, 'Config.Image is the parent step image');
  assert.equal(cfg.Hostname, '');
  assert.equal(cfg.AttachStdout, false);
  assert.equal(cfg.Labels, null);
  assert.deepEqual(h.runs[0].env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1']);
  assert.ok(h.workspaces.every((w) => w.released));
});

test('cache: a second build hits every step; noCache misses', async () => {
  const h = new FakeHost();
  const df = 'FROM busybox\nENV A=1\nRUN echo hi\nWORKDIR app';
  const first = await run(h, df);
  const second = await run(h, df);
  assert.equal(second.id, first.id);
  assert.equal((second.text.match(/ ---> Using cache\n/g) ?? []).length, 3);
  assert.doesNotMatch(second.text, /Running in/);
  assert.equal(h.runs.length, 1);
  const third = await run(h, df, { noCache: true });
  assert.notEqual(third.id, first.id);
  assert.doesNotMatch(third.text, /Using cache/);
  assert.equal(h.runs.length, 2);
  // A changed build arg in scope changes RUN's key.
  const withArg = await run(h, 'FROM busybox\nARG V\nRUN echo hi', { buildArgs: { V: '1' } });
  const withOther = await run(h, 'FROM busybox\nARG V\nRUN echo hi', { buildArgs: { V: '2' } });
  assert.match(withOther.text, /Step 2\/3 : ARG V\n ---> Using cache/);
  assert.notEqual(withArg.id, withOther.id);
  await h.cleanup();
});

test('a failing RUN rejects with its exit code and leaves no workspace', async () => {
  const h = new FakeHost();
  h.script = async (_p, out) => {
    out(Buffer.from('boom\n'));
    return 3;
  };
  const r = await run(h, 'FROM busybox\nRUN exit 3');
  assert.ok(r.err instanceof BuildStepError);
  assert.equal(r.err.code, 3);
  assert.equal(r.err.message, "The command '/bin/sh -c exit 3' returned a non-zero code: 3");
  assert.match(r.text, /Running in \w{12}\nboom\n$/);
  assert.ok(h.workspaces.every((w) => w.released));
  const json = await run(h, 'FROM busybox\nRUN ["false","x"]');
  assert.equal((json.err as Error).message, "The command 'false x' returned a non-zero code: 3");
  const forced = await run(h, 'FROM busybox\nRUN exit 3', { forceRm: true });
  assert.match(forced.text, /boom\nRemoving intermediate container \w{12}\n$/);
});

test('quiet: only the ID on success; the buffered output on failure', async () => {
  const h = new FakeHost();
  const ok = await run(h, 'FROM busybox\nRUN echo hi', { quiet: true });
  assert.equal(ok.text, `${ok.id}\n`);
  assert.deepEqual(ok.aux, []);
  h.script = async (_p, out) => (out(Buffer.from('why it broke\n')), 1);
  const bad = await run(h, 'FROM busybox\nRUN false', { quiet: true });
  assert.ok(bad.err instanceof BuildStepError);
  assert.match(bad.text, /Step 2\/2 : RUN false\n ---> Running in \w+\nwhy it broke\n/);
});

test('stage graph: only what the target needs, numbered in order; unknown target', async () => {
  const h = new FakeHost();
  const df = ['FROM busybox AS a', 'RUN echo a', 'FROM busybox AS unused', 'RUN echo unused', 'FROM a AS b', 'COPY --from=0 /x /y', 'FROM busybox AS c', 'RUN echo c'].join('\n');
  const r = await run(h, df, { target: 'b' });
  assert.equal(r.err, undefined);
  assert.deepEqual(
    r.text.split('\n').filter((l) => l.startsWith('Step')),
    ['Step 1/4 : FROM busybox AS a', 'Step 2/4 : RUN echo a', 'Step 3/4 : FROM a AS b', 'Step 4/4 : COPY --from=0 /x /y'],
  );
  assert.deepEqual(h.runs.map((p) => p.args[2]), ['echo a']);
  const copy = h.commits[h.commits.length - 1];
  assert.equal(copy.base, h.commits[0].id, 'FROM a builds on stage a');
  assert.match(copy.req.createdBy, /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/y $/);
  assert.equal(r.aux.length, 2, 'one aux per stage, as moby');
  const missing = await run(h, df, { target: 'nope' });
  assert.equal((missing.err as Error).message, 'failed to reach build target nope in Dockerfile');
  // Without a target: the last stage and what it needs (c needs nothing else).
  const lastOnly = await run(h, df, { noCache: true });
  assert.deepEqual(lastOnly.text.split('\n').filter((l) => l.startsWith('Step')), ['Step 1/2 : FROM busybox AS c', 'Step 2/2 : RUN echo c']);
});

test('independent stages run in parallel; output stays in Dockerfile order', async () => {
  const h = new FakeHost();
  let releaseA!: () => void;
  const aGate = new Promise<void>((r) => (releaseA = r));
  const order: string[] = [];
  h.script = async (p, out) => {
    const what = p.args[2];
    order.push(`start ${what}`);
    if (what === 'echo a') {
      out(Buffer.from('a-1\n'));
      await aGate;
      out(Buffer.from('a-2\n'));
    } else {
      out(Buffer.from('b-out\n'));
      releaseA(); // b ran to its end while a was still running: they overlap.
    }
    order.push(`end ${what}`);
    return 0;
  };
  const df = ['FROM busybox AS a', 'RUN echo a', 'FROM busybox AS b', 'RUN echo b', 'FROM busybox', 'COPY --from=a /a /a', 'COPY --from=b /b /b'].join('\n');
  const r = await run(h, df);
  assert.equal(r.err, undefined);
  assert.deepEqual(order.slice(0, 2), ['start echo a', 'start echo b']);
  const t = r.text;
  assert.ok(t.indexOf('a-1') < t.indexOf('a-2') && t.indexOf('a-2') < t.indexOf('Step 3/7 : FROM busybox AS b'));
  assert.ok(t.indexOf('Step 3/7') < t.indexOf('b-out') && t.indexOf('b-out') < t.indexOf('Step 5/7 : FROM busybox'));
  assert.deepEqual(t.split('\n').filter((l) => l.startsWith('Step')).map((l) => l.slice(0, 8)), ['Step 1/7', 'Step 2/7', 'Step 3/7', 'Step 4/7', 'Step 5/7', 'Step 6/7', 'Step 7/7']);
});

test('ARG scoping: meta args in FROM, re-declared args, build args in RUN history, unused warning', async () => {
  const h = new FakeHost();
  h.add('base:1', { Env: ['PATH=/bin'] });
  const df = ['ARG TAG=1', 'ARG META=m', 'FROM base:${TAG}', 'ARG META', 'ARG B=def', 'ARG NULLY', 'ENV E=$META-$B', 'RUN echo $B', 'ARG TARGETARCH', 'RUN echo arch'].join('\n');
  const r = await run(h, df, { buildArgs: { B: 'given', UNUSED: 'x', HTTP_PROXY: 'http://p', NULLY: null } });
  assert.equal(r.err, undefined, String(r.err));
  assert.match(r.text, /^Step 1\/10 : ARG TAG=1\nStep 2\/10 : ARG META=m\nStep 3\/10 : FROM base:\$\{TAG\}\n/);
  const cfg = last(h);
  assert.deepEqual(cfg.Env, ['PATH=/bin', 'E=m-given'], 'ARG values are not in Env');
  const runs = h.commits.filter((c) => !c.req.createdBy.includes('#(nop)')).map((c) => c.req.createdBy);
  assert.deepEqual(runs, [
    '|3 B=given META=m NULLY=daemon-value /bin/sh -c echo $B',
    '|4 B=given META=m NULLY=daemon-value TARGETARCH=amd64 /bin/sh -c echo arch',
  ]);
  assert.ok(h.runs[0].env.includes('HTTP_PROXY=http://p'), 'proxy args reach RUN without ARG');
  assert.ok(!runs[0].includes('HTTP_PROXY'), 'but not its history');
  assert.match(r.text, /\[Warning\] One or more build-args \[UNUSED\] were not consumed\nSuccessfully built/);
  assert.equal(h.commits.find((c) => c.req.createdBy.includes('ARG B'))!.req.createdBy, '/bin/sh -c #(nop)  ARG B=def');
});

test('config instructions: every field as Docker sets it', async () => {
  const h = new FakeHost();
  const df = [
    'FROM busybox',
    'SHELL ["/bin/bash","-c"]',
    'ENTRYPOINT run.sh',
    'EXPOSE 80 7000-7001/udp',
    'VOLUME ["/data"]',
    'USER nobody',
    'STOPSIGNAL SIGINT',
    'HEALTHCHECK --interval=30s --retries=3 CMD curl -f x',
    'LABEL a=b',
    'ONBUILD RUN echo trig',
    'MAINTAINER me',
    'WORKDIR /app',
    'WORKDIR sub',
  ].join('\n');
  const r = await run(h, df, { labels: { z: '1', y: '2' } });
  assert.equal(r.err, undefined, String(r.err));
  const cfg = last(h);
  assert.deepEqual(cfg.Entrypoint, ['/bin/bash', '-c', 'run.sh']);
  assert.equal(cfg.Cmd, null, 'ENTRYPOINT drops the base CMD');
  assert.deepEqual(cfg.ExposedPorts, { '80/tcp': {}, '7000/udp': {}, '7001/udp': {} });
  assert.deepEqual(cfg.Volumes, { '/data': {} });
  assert.equal(cfg.User, 'nobody');
  assert.equal(cfg.StopSignal, 'SIGINT');
  assert.deepEqual(cfg.Healthcheck, { Test: ['CMD-SHELL', 'curl -f x'], Interval: 30e9, Retries: 3 });
  assert.deepEqual(cfg.Labels, { a: 'b', y: '2', z: '1' });
  assert.deepEqual(cfg.OnBuild, ['RUN echo trig']);
  assert.equal(cfg.WorkingDir, '/app/sub');
  assert.deepEqual(cfg.Shell, ['/bin/bash', '-c']);
  const by = h.commits.map((c) => c.req.createdBy);
  assert.deepEqual(by, [
    '/bin/bash -c #(nop)  SHELL [/bin/bash -c]',
    '/bin/bash -c #(nop)  ENTRYPOINT ["/bin/bash" "-c" "run.sh"]',
    '/bin/bash -c #(nop)  EXPOSE 7000-7001/udp 80',
    '/bin/bash -c #(nop)  VOLUME [/data]',
    '/bin/bash -c #(nop)  USER nobody',
    '/bin/bash -c #(nop)  STOPSIGNAL SIGINT',
    '/bin/bash -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "curl -f x"] "30s" "0s" "0s" \'\\x03\'}',
    '/bin/bash -c #(nop)  LABEL a=b',
    '/bin/bash -c #(nop)  ONBUILD RUN echo trig',
    '/bin/bash -c #(nop)  MAINTAINER me',
    '/bin/bash -c #(nop) WORKDIR /app',
    '/bin/bash -c #(nop) WORKDIR /app/sub',
    '/bin/bash -c #(nop)  LABEL y=2',
    '/bin/bash -c #(nop)  LABEL z=1',
  ]);
  assert.equal(h.commits[h.commits.length - 1].req.author, 'me');
  assert.match(r.text, /Step 15\/15 : LABEL z=1\n/);
  // The WORKDIR was made in the workspace's file system.
  const wsDir = h.dirs[h.dirs.length - 1];
  assert.ok((await stat(join(wsDir, 'app/sub'))).isDirectory());

  // A child of that image runs the trigger right after FROM, then forgets it.
  h.images.set('parent', h.byId.get(r.id!)!);
  const child = await run(h, 'FROM parent\nCMD ["x"]');
  assert.match(child.text, /Step 1\/2 : FROM parent\n# Executing 1 build trigger\n ---> Running in \w+\nran echo trig\nRemoving intermediate container \w+\n ---> \w+\n/);
  assert.equal(last(h).OnBuild, null);
  assert.deepEqual(last(h).Cmd, ['x']);
  await h.cleanup();
});

test('SOURCE_DATE_EPOCH sets created; platforms other than linux/amd64 are refused', async () => {
  const h = new FakeHost();
  await run(h, 'FROM busybox\nENV A=1', { buildArgs: { SOURCE_DATE_EPOCH: '86400' } });
  assert.equal(h.commits[0].req.created, '1970-01-02T00:00:00Z');
  assert.equal(h.commits[0].req.sourceDateEpoch, 86400);
  // The epoch changes what a step makes: a build without it is no cache hit for one with it.
  const plain = await run(h, 'FROM busybox\nENV B=1');
  assert.equal(h.commits.at(-1)!.req.sourceDateEpoch, undefined);
  const stamped = await run(h, 'FROM busybox\nENV B=1', { buildArgs: { SOURCE_DATE_EPOCH: '86400' } });
  assert.doesNotMatch(stamped.text, /Using cache/);
  assert.notEqual(stamped.id, plain.id);
  const bad = await run(h, 'FROM busybox', { platform: 'linux/arm64' });
  assert.match((bad.err as Error).message, /linux\/arm64.*not supported/);
  const missing = await run(h, 'FROM nothere');
  assert.ok(missing.err instanceof NotFoundError);
});

test('abort: the running step is stopped, its workspace released, the build rejects', async () => {
  const h = new FakeHost();
  const ac = new AbortController();
  h.script = (_p, _out, signal) =>
    new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      setTimeout(() => ac.abort(new Error('client went away')), 10);
    });
  const r = await run(h, 'FROM busybox\nRUN sleep 100\nRUN echo never', {}, ac.signal);
  assert.equal((r.err as Error).message, 'client went away');
  assert.equal(h.workspaces.length, 1);
  assert.ok(h.workspaces[0].released);
  assert.equal(h.runs.length, 1);
  assert.match(r.text, /Build cancelled\n$/);
});

test('RUN heredocs and mounts reach the process as BuildKit runs them', async () => {
  const h = new FakeHost();
  const secretDir = await mkdtemp(join(tmpdir(), 'bexec-secret-'));
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(secretDir, 'tok'), 'TOKEN\n');
  const heredoc = (name: string, content: string) => ({ name, content, quoted: false, chomp: false });
  const df = fakeParse('FROM busybox');
  const stage = df.stages[0];
  stage.steps.push(
    at('RUN <<EOF', { kind: 'run', command: { form: 'shell', text: '<<EOF' }, mounts: [], heredocs: [heredoc('EOF', 'echo one\necho two\n')] }),
    at('RUN <<EOF', { kind: 'run', command: { form: 'shell', text: '<<EOF' }, mounts: [], heredocs: [heredoc('EOF', '#!/bin/sh\necho script\n')] }),
    // As the parser gives it: the body put back after the command line, `heredocs` only listing it.
    at('RUN python3 <<EOF', { kind: 'run', command: { form: 'shell', text: 'python3 <<EOF\nprint(1)\nEOF' }, mounts: [], heredocs: [heredoc('EOF', 'print(1)\n')] }),
    at('RUN --mount=... true', {
      kind: 'run',
      command: { form: 'shell', text: 'true' },
      network: 'none',
      heredocs: [],
      mounts: [
        { type: 'bind', target: '/src', source: 'sub', readonly: true },
        { type: 'cache', target: '/root/.cache', readonly: false },
        { type: 'tmpfs', target: '/tmp', readonly: false, size: 1024 },
        { type: 'secret', id: 'tok', readonly: true, env: 'TOK', target: '/run/secrets/tok' },
        { type: 'secret', id: 'absent', readonly: true },
      ],
    }),
  );
  const d2: BuildDeps = { ...deps, parse: () => df };
  const job: BuildJob = {
    context: { dir: tmpdir(), dockerfile: '', release: async () => {} },
    request: request({ secrets: { tok: join(secretDir, 'tok') } }),
    host: h,
    output: { stream: () => {}, aux: () => {} },
    signal: new AbortController().signal,
    env: {},
  };
  await build(job, d2);
  assert.deepEqual(h.runs[0].args, ['/bin/sh', '-c', 'echo one\necho two\n']);
  assert.deepEqual(h.runs[1].args, ['/dev/pipes/EOF']);
  assert.equal(h.runs[1].mounts[0].type === 'bind' && h.runs[1].mounts[0].target, '/dev/pipes/EOF');
  assert.deepEqual(h.runs[2].args, ['/bin/sh', '-c', 'python3 <<EOF\nprint(1)\nEOF']);
  const m = h.runs[3];
  assert.equal(m.network, 'none');
  assert.deepEqual(m.mounts, [
    { type: 'bind', source: join(tmpdir(), 'sub'), target: '/src', readonly: true },
    { type: 'bind', source: join(tmpdir(), '/root/.cache'), target: '/root/.cache', readonly: false },
    { type: 'tmpfs', target: '/tmp', sizeBytes: 1024 },
    { type: 'bind', source: join(secretDir, 'tok'), target: '/run/secrets/tok', readonly: true },
  ]);
  assert.ok(m.env.includes('TOK=TOKEN'));
  assert.ok(!h.commits[3].req.createdBy.includes('TOKEN'));
  // A required secret that was not given stops the build.
  (stage.steps[3] as Located & { kind: 'run' }).mounts[4].required = true;
  await assert.rejects(build({ ...job, request: request({ secrets: {}, noCache: true }) }, d2), /secret absent/);
  await rm(secretDir, { recursive: true, force: true });
});

test('COPY --from an image, ENV shadows ARG, HEALTHCHECK NONE, bad EXPOSE', async () => {
  const h = new FakeHost();
  h.add('other:1', {});
  const r = await run(h, 'FROM busybox\nARG X=arg\nENV X=env\nRUN echo $X\nCOPY --from=other:1 /a /b\nHEALTHCHECK NONE');
  assert.equal(r.err, undefined, String(r.err));
  assert.equal(h.commits[2].req.createdBy, '/bin/sh -c echo $X', 'an ARG shadowed by ENV is not in the prefix');
  assert.deepEqual(last(h).Healthcheck, { Test: ['NONE'] });
  const bad = await run(h, 'FROM busybox\nEXPOSE 80/xyz');
  assert.match((bad.err as Error).message, /invalid proto: xyz/);
  const badFrom = await run(h, 'FROM busybox\nCOPY --from=nothere /a /b');
  assert.match((badFrom.err as Error).message, /^invalid from flag value nothere: pull access denied/);
});

test('--cache-from: steps are taken from an image whose history matches, step by step', async () => {
  const h = new FakeHost();
  const df = 'FROM busybox\nENV A=1\nRUN echo hi\nCMD ["x"]\nRUN echo last';
  const first = await run(h, df, { tags: ['app:1'] });
  h.images.set('app:1', h.byId.get(first.id!)!);
  h.cacheMap.clear(); // another machine: no local cache, only the image
  const runsBefore = h.runs.length;
  // Without restoreLayer, the layer in the middle must run again; as this fake's layers are
  // reproducible (same diff ID), the steps after it match the source again.
  const partial = await run(h, df, { cacheFrom: ['app:1', 'not-here'] });
  assert.equal(partial.err, undefined, String(partial.err));
  assert.match(partial.text, /Step 2\/5 : ENV A=1\n ---> Using cache\n/);
  assert.match(partial.text, /Step 3\/5 : RUN echo hi\n ---> Running in/);
  assert.equal(h.runs.length, runsBefore + 1);
  assert.equal(partial.id, first.id);
  h.cacheMap.clear();
  const restored: number[] = [];
  const host = Object.assign(h, {
    restoreLayer: async (src: BuildImage, diffIndex: number, base: BuildImage | undefined, req: CommitRequest) => {
      restored.push(diffIndex);
      assert.ok(src.config.rootfs.diff_ids[diffIndex]);
      return h.commitLayer(base, req);
    },
  });
  const runs = h.runs.length;
  const full = await run(host, df, { cacheFrom: ['app:1'] });
  assert.equal((full.text.match(/ ---> Using cache\n/g) ?? []).length, 4, full.text);
  assert.equal(h.runs.length, runs, 'nothing ran');
  assert.deepEqual(restored, [0]);
  assert.equal(full.id, first.id, 'the last step is the cache-from image itself');
});

test('--cache-from: the local cache counts only for steps a source grew from; sources that are not here leave no cache', async () => {
  const h = new FakeHost();
  const df = 'FROM busybox\nENV FOO=bar\nRUN touch baz\nRUN touch bax';
  const first = await run(h, df, { tags: ['build1'] });
  h.images.set('build1', h.byId.get(first.id!)!);
  // docker-py's test_build_with_cache_from: the local cache is there, and build1 grew from it.
  const again = await run(h, df, { cacheFrom: ['build1'] });
  assert.equal((again.text.match(/ ---> Using cache\n/g) ?? []).length, 3, again.text);
  assert.equal(again.id, first.id);
  const runs = h.runs.length;
  const none = await run(h, df, { cacheFrom: ['nosuchtag'] });
  assert.equal(none.err, undefined, String(none.err));
  assert.equal((none.text.match(/ ---> Using cache\n/g) ?? []).length, 0, none.text);
  assert.equal(h.runs.length, runs + 2, 'both RUN steps ran again');
  // A source that shares only the first steps takes the local cache up to where they part.
  const other = await run(h, 'FROM busybox\nENV FOO=bar\nRUN touch other', { tags: ['other:1'] });
  h.images.set('other:1', h.byId.get(other.id!)!);
  const part = await run(h, df, { cacheFrom: ['other:1'] });
  assert.match(part.text, /Step 2\/4 : ENV FOO=bar\n ---> Using cache\n/);
  assert.match(part.text, /Step 3\/4 : RUN touch baz\n ---> Running in/);
});

test('a failing stage stops the stages running beside it; nothing is left', async () => {
  const h = new FakeHost();
  h.script = (p, out, signal) => {
    if (p.args[2] === 'exit 7') return Promise.resolve(7);
    out(Buffer.from('slow started\n'));
    return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  };
  const df = ['FROM busybox AS slow', 'RUN sleep 100', 'FROM busybox AS bad', 'RUN exit 7', 'FROM busybox', 'COPY --from=slow /a /a', 'COPY --from=bad /b /b'].join('\n');
  const r = await run(h, df);
  assert.ok(r.err instanceof BuildStepError);
  assert.equal(r.err.code, 7);
  assert.ok(h.workspaces.length === 2 && h.workspaces.every((w) => w.released));
  // Both stages' output is shown, in Dockerfile order, though the second one ended first.
  assert.ok(r.text.indexOf('slow started') < r.text.indexOf('Step 3/7 : FROM busybox AS bad'));
  // The last stage had started (its FROM needs nothing) but never got past its COPY --from.
  assert.doesNotMatch(r.text, /Step 7\/7/);
  assert.ok(!h.commits.some((c) => c.req.createdBy.includes('COPY')));
});
