/**
 * The builder: stages, the step loop, instruction semantics, the cache and the classic
 * builder's output, over the BuildHost port. Owner: the executor.
 *
 * The model is moby's classic builder (builder/dockerfile): every step makes an image, the
 * cache maps (parent, step) to that image, and the output is the classic builder's text. The
 * stage graph is BuildKit's: only the stages the target needs are built, independent ones at
 * the same time.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { InvalidArgumentError, NotImplementedError, newId, resolveInRoot, shortId } from '../util/index.js';
import { parseReference, tagged } from '../image/index.js';
import type { BuildRequest, ContainerConfig } from '../types/index.js';
import type { BuildContext } from './context.js';
import type { BuildHost, BuildImage, CommitRequest, ImageView, RunProcess, StepMount, Workspace } from './host.js';
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  Heredoc,
  KeyValueInstruction,
  Located,
  ParsedDockerfile,
  RunInstruction,
  Stage,
} from './instructions.js';
import { parse } from './parser.js';
import { expandWord, expandWords, type Lookup } from './words.js';
import { applyCopy, planCopy } from './copy.js';
import {
  DEFAULT_SHELL,
  checkPlatform,
  checkSignal,
  cloneConfig,
  envLookup,
  exposedPorts,
  fullConfig,
  goHealth,
  goList,
  goQuoteList,
  healthConfig,
  normalizeWorkdir,
  setEnv,
  stageConfig,
} from './_config.js';
import { cacheKey, type CacheKeyParts } from './_cachekey.js';
import { OrderedOutput } from './_output.js';
import { checkStageNames, neededStages, stageDeps, stageRef, targetStage } from './_stages.js';

/** Where the build's output goes: the JSON stream's `stream` and `aux` messages. */
export interface BuildOutput {
  /** Text of the classic builder's output (`Step 1/5 : FROM busybox\n`, ` ---> Using cache\n`, RUN output). */
  stream(text: string): void;
  /** `{ ID: 'sha256:...' }` before `Successfully built`, as dockerd sends it. */
  aux(value: Record<string, unknown>): void;
}

export interface BuildJob {
  context: BuildContext;
  request: BuildRequest;
  host: BuildHost;
  output: BuildOutput;
  /** Aborted when the client goes away: the running step is killed and nothing half-made stays. */
  signal: AbortSignal;
  /** The daemon's environment, for build args given without a value and the proxy args. */
  env: Record<string, string | undefined>;
}

/**
 * The functions of the build folder's other modules that the builder calls, replaceable so
 * unit tests can run the executor without the real parser, expander or copier.
 */
export interface BuildDeps {
  parse: (text: string) => ParsedDockerfile;
  expandWord: (word: string, lookup: Lookup, escape?: string) => string;
  expandWords: (text: string, lookup: Lookup, escape?: string) => string[];
  planCopy: typeof planCopy;
  applyCopy: typeof applyCopy;
}

const DEFAULT_DEPS: BuildDeps = { parse, expandWord, expandWords, planCopy, applyCopy };

/** A RUN that exited non-zero: the stream's errorDetail carries `code`, which the docker CLI exits with. */
export class BuildStepError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** Args usable without an ARG line (moby's builtinAllowedBuildArgs); not in history unless declared. */
const BUILTIN_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

/** BuildKit's automatic platform args: in scope for FROM, and in a stage once declared by `ARG NAME`. */
const PLATFORM_ARGS: Record<string, string> = {
  TARGETPLATFORM: 'linux/amd64',
  TARGETOS: 'linux',
  TARGETARCH: 'amd64',
  TARGETVARIANT: '',
  BUILDPLATFORM: 'linux/amd64',
  BUILDOS: 'linux',
  BUILDARCH: 'amd64',
  BUILDVARIANT: '',
};

const PLATFORM = 'linux/amd64';

/** What one stage has so far: the classic builder's dispatchState. */
interface StageState {
  index: number;
  image: BuildImage | undefined;
  config: ContainerConfig;
  author?: string;
  /** ARGs declared in this stage, with their values (undefined: declared, no value). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  out: BuildOutput;
}

/** Shared by all stages of one build. */
interface Build {
  job: BuildJob;
  deps: BuildDeps;
  parsed: ParsedDockerfile;
  escape: string;
  /** Build args of the request, nulls resolved from the daemon's environment. */
  given: Map<string, string | undefined>;
  meta: Map<string, string | undefined>;
  referenced: Set<string>;
  stages: Map<number, Promise<BuildImage | undefined>>;
  signal: AbortSignal;
  created?: string;
  /** SOURCE_DATE_EPOCH in seconds: the latest mtime a step's layer carries. */
  sourceDateEpoch?: number;
  /** Steps appended to the final stage: the request's labels, as moby appends LABEL commands. */
  synthetic: WeakSet<object>;
  /** `--cache-from` images that are here; narrowed to the one that matched, as moby does. */
  cacheFrom: BuildImage[];
}

/**
 * Builds and tags; resolves to the final image's ID. A failing step rejects with BuildStepError
 * (its exit code), a bad Dockerfile with DockerfileError, a missing base with NotFoundError.
 */
export async function build(job: BuildJob, deps: BuildDeps = DEFAULT_DEPS): Promise<string> {
  const { request } = job;
  const quietText: string[] = [];
  // q=1: dockerd buffers everything and shows it only when the build fails.
  const sink: BuildOutput = request.quiet ? { stream: (t) => void quietText.push(t), aux: () => {} } : job.output;
  const flushQuiet = () => {
    if (request.quiet && quietText.length) job.output.stream(quietText.splice(0).join(''));
  };
  try {
    const id = await buildAll(job, deps, sink);
    if (request.quiet) job.output.stream(`${id}\n`);
    return id;
  } catch (err) {
    flushQuiet();
    throw err;
  }
}

async function buildAll(job: BuildJob, deps: BuildDeps, sink: BuildOutput): Promise<string> {
  const { request, host } = job;
  checkPlatform(request.platform, 'platform');
  const parsed = deps.parse(job.context.dockerfile);
  for (const w of parsed.warnings) sink.stream(`[WARNING]: ${w}\n`);
  if (parsed.stages.length === 0) throw new InvalidArgumentError('No image was generated. Is your Dockerfile empty?');

  const given = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(request.buildArgs ?? {})) given.set(k, v ?? job.env[k]);
  const epoch = given.get('SOURCE_DATE_EPOCH') ?? job.env.SOURCE_DATE_EPOCH;
  let created: string | undefined;
  let sourceDateEpoch: number | undefined;
  if (epoch !== undefined && epoch !== '') {
    if (!/^\d+$/.test(epoch)) throw new InvalidArgumentError(`invalid SOURCE_DATE_EPOCH: ${epoch}`);
    sourceDateEpoch = Number(epoch);
    // RFC 3339 as Go writes it: no fraction when it is zero.
    created = new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z');
  }

  const ac = new AbortController();
  const onAbort = () => ac.abort(job.signal.reason);
  if (job.signal.aborted) onAbort();
  else job.signal.addEventListener('abort', onAbort, { once: true });

  const b: Build = {
    job,
    deps,
    parsed,
    escape: parsed.escape || '\\',
    given,
    meta: new Map(Object.entries(PLATFORM_ARGS)),
    referenced: new Set(['SOURCE_DATE_EPOCH']),
    stages: new Map(),
    signal: ac.signal,
    created,
    sourceDateEpoch,
    synthetic: new WeakSet(),
    cacheFrom: [],
  };
  for (const ref of request.cacheFrom ?? []) {
    // A cache-from image that is not here is no error: the build just has less to reuse.
    try {
      b.cacheFrom.push(await host.image(ref, { pull: false, progress: () => {} }));
    } catch {
      /* not here */
    }
  }

  try {
    checkStageNames(parsed.stages);
    const target = targetStage(parsed.stages, request.target);
    // Meta ARGs are evaluated first (they are in scope for every FROM), so the graph can
    // expand `FROM ${BASE}` and `--from=${STAGE}`.
    const metaLines: string[] = [];
    for (const arg of parsed.metaArgs) {
      metaLines.push(arg.raw.original);
      for (const a of arg.args) {
        const def = a.default === undefined ? undefined : b.deps.expandWord(a.default, (n) => b.meta.get(n), b.escape);
        const v = b.given.get(a.name) ?? def;
        b.meta.set(a.name, v);
        b.referenced.add(a.name);
      }
    }
    const metaExpand = (w: string) => b.deps.expandWord(w, (n) => b.meta.get(n), b.escape);
    const graph = stageDeps(parsed, metaExpand);
    const needed = neededStages(graph, target);

    const labels = Object.keys(request.labels ?? {}).sort();
    const final = parsed.stages[target];
    const finalSteps: Located[] = [...final.steps];
    for (const k of labels) {
      const v = request.labels[k];
      const step: Located<KeyValueInstruction> = {
        kind: 'label',
        pairs: [{ key: k, value: v }],
        raw: { keyword: 'label', flags: [], rest: `${k}=${v}`, heredocs: [], original: `LABEL ${k}=${v}`, range: final.from.raw.range },
      };
      b.synthetic.add(step);
      finalSteps.push(step);
    }
    const stageSteps = (i: number) => (i === target ? finalSteps : parsed.stages[i].steps);

    const total = parsed.metaArgs.length + needed.reduce((n, i) => n + 1 + stageSteps(i).length, 0);
    let n = 1;
    for (const line of metaLines) sink.stream(`Step ${n++}/${total} : ${line}\n`);

    const ordered = new OrderedOutput(sink, needed.length);
    let firstError: unknown;
    const runs: Promise<BuildImage | undefined>[] = [];
    needed.forEach((index, pos) => {
      const first = n;
      n += 1 + stageSteps(index).length;
      const out = ordered.channel(pos);
      const p = runStage(b, parsed.stages[index], stageSteps(index), { first, total }, out).then(
        (img) => {
          ordered.finish(pos);
          return img;
        },
        (err: unknown) => {
          // The first failure stops the others; their abort errors are not the story.
          if (firstError === undefined) firstError = err;
          ac.abort(err);
          throw err;
        },
      );
      p.catch(() => {});
      runs.push(p);
      b.stages.set(index, p);
    });
    const settled = await Promise.allSettled(runs);
    if (firstError !== undefined || settled.some((s) => s.status === 'rejected')) {
      ordered.flushAll();
      if (job.signal.aborted) {
        sink.stream('Build cancelled\n');
        throw job.signal.reason instanceof Error ? job.signal.reason : new Error('Build cancelled');
      }
      throw firstError ?? (settled.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
    }
    const image = (settled[settled.length - 1] as PromiseFulfilledResult<BuildImage | undefined>).value;
    if (!image) throw new InvalidArgumentError('No image was generated. Is your Dockerfile empty?');

    const unused = [...b.given.keys()].filter((k) => !b.referenced.has(k) && !BUILTIN_ARGS.has(k)).sort();
    if (unused.length) sink.stream(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    sink.stream(`Successfully built ${shortId(image.id)}\n`);
    for (const t of request.tags ?? []) {
      const name = tagged(parseReference(t));
      await host.tag(image.id, name);
      sink.stream(`Successfully tagged ${name}\n`);
    }
    return image.id;
  } finally {
    job.signal.removeEventListener('abort', onAbort);
  }
}

// ------------------------------------------------------------------ stages

async function runStage(
  b: Build,
  stage: Stage,
  steps: readonly Located[],
  num: { first: number; total: number },
  out: BuildOutput,
): Promise<BuildImage | undefined> {
  const { job } = b;
  let n = num.first;
  const stepLine = (original: string) => out.stream(`Step ${n++}/${num.total} : ${original}\n`);
  b.signal.throwIfAborted();

  stepLine(stage.from.raw.original);
  const metaLookup: Lookup = (name) => b.meta.get(name);
  const name = b.deps.expandWord(stage.from.image, metaLookup, b.escape);
  if (!name) throw new InvalidArgumentError(`base name (${stage.from.image}) should not be blank`);
  if (stage.from.platform) {
    const p = b.deps.expandWord(stage.from.platform, metaLookup, b.escape);
    checkPlatform(p, 'FROM --platform');
  }
  let base: BuildImage | undefined;
  const ref = stageRef(b.parsed.stages, name, stage.index, false);
  if (ref !== undefined) {
    base = await stageImage(b, ref);
  } else if (name.toLowerCase() !== 'scratch') {
    base = await job.host.image(name, {
      pull: job.request.pull,
      platform: job.request.platform,
      progress: (line) => out.stream(line.endsWith('\n') ? line : `${line}\n`),
    });
  }
  const st: StageState = {
    index: stage.index,
    image: base,
    config: stageConfig(base?.config.config),
    args: new Map(),
    cmdSet: false,
    out,
  };
  const triggers = st.config.OnBuild ?? [];
  if (triggers.length) {
    st.config.OnBuild = null;
    out.stream(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
    for (const trigger of triggers) {
      const p = b.deps.parse(`FROM scratch\n${trigger}`);
      if (p.stages.length !== 1 || p.stages[0].steps.length !== 1) throw new InvalidArgumentError('onbuild trigger should be a single expression');
      await dispatch(b, st, p.stages[0].steps[0]);
    }
  }
  out.stream(` ---> ${st.image ? shortId(st.image.id) : ''}\n`);

  for (const step of steps) {
    b.signal.throwIfAborted();
    stepLine(step.raw.original);
    await dispatch(b, st, step);
    out.stream(` ---> ${st.image ? shortId(st.image.id) : ''}\n`);
  }
  if (st.image) out.aux({ ID: st.image.id });
  return st.image;
}

/** The image a finished stage made (waiting for it if it is still being built). */
async function stageImage(b: Build, index: number): Promise<BuildImage> {
  const p = b.stages.get(index);
  if (!p) throw new InvalidArgumentError(`stage ${index} (${b.parsed.stages[index].from.alias ?? index}) is not part of this build's plan`);
  const img = await p;
  if (!img) throw new InvalidArgumentError(`stage ${b.parsed.stages[index].from.alias ?? index} produced no image`);
  return img;
}

// ------------------------------------------------------------------ args and env

/** The build args a step sees: declared in the stage (or builtin and given), with a value. */
function allowedArgs(b: Build, st: StageState): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of b.given) if (BUILTIN_ARGS.has(k) && v !== undefined) out.set(k, v);
  for (const [k, v] of st.args) if (v !== undefined) out.set(k, v);
  return out;
}

/** moby FilterAllowed: args not shadowed by an ENV of the same name, as `K=V`. */
function argEnv(b: Build, st: StageState): { all: string[]; history: string[] } {
  const all: string[] = [];
  const history: string[] = [];
  for (const [k, v] of allowedArgs(b, st)) {
    if (envLookup(st.config.Env, k) !== undefined) continue;
    all.push(`${k}=${v}`);
    if (st.args.has(k) || !BUILTIN_ARGS.has(k)) history.push(`${k}=${v}`);
  }
  all.sort();
  history.sort();
  return { all, history };
}

/** ENV first, then the args in scope: what `$VAR` in an instruction means. */
function stageLookup(b: Build, st: StageState): Lookup {
  const args = allowedArgs(b, st);
  return (name) => envLookup(st.config.Env, name) ?? args.get(name);
}

function shellOf(st: StageState): string[] {
  return st.config.Shell && st.config.Shell.length ? [...st.config.Shell] : [...DEFAULT_SHELL];
}

function commandArgs(st: StageState, c: CommandForm): string[] {
  return c.form === 'json' ? [...c.args] : [...shellOf(st), c.text];
}

// ------------------------------------------------------------------ dispatch

async function dispatch(b: Build, st: StageState, step: Located): Promise<void> {
  const lookup = stageLookup(b, st);
  const ex = (w: string) => (b.synthetic.has(step) ? w : b.deps.expandWord(w, lookup, b.escape));
  const c = st.config;
  switch (step.kind) {
    case 'env': {
      const pairs = step.pairs.map((p) => ({ key: ex(p.key), value: ex(p.value) }));
      let env = c.Env ?? [];
      for (const p of pairs) env = setEnv(env, p.key, p.value);
      c.Env = env;
      return commitMeta(b, st, `ENV ${pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`);
    }
    case 'label': {
      const pairs = step.pairs.map((p) => ({ key: ex(p.key), value: ex(p.value) }));
      c.Labels = { ...(c.Labels ?? {}) };
      for (const p of pairs) c.Labels[p.key] = p.value;
      return commitMeta(b, st, `LABEL ${pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`);
    }
    case 'maintainer':
      st.author = step.value;
      return commitMeta(b, st, `MAINTAINER ${step.value}`);
    case 'cmd': {
      c.Cmd = commandArgs(st, step.command);
      c.ArgsEscaped = false;
      if (step.command.form === 'shell' || step.command.args.length) st.cmdSet = true;
      return commitMeta(b, st, `CMD ${goQuoteList(c.Cmd)}`);
    }
    case 'entrypoint': {
      c.Entrypoint = commandArgs(st, step.command);
      c.ArgsEscaped = false;
      // An ENTRYPOINT drops the CMD inherited from the base, unless this stage set one.
      if (!st.cmdSet) c.Cmd = null;
      return commitMeta(b, st, `ENTRYPOINT ${goQuoteList(c.Entrypoint)}`);
    }
    case 'healthcheck': {
      const old = c.Healthcheck?.Test;
      if (old && old.length && old[0] !== 'NONE') st.out.stream(`Note: overriding previous HEALTHCHECK: ${goList(old)}\n`);
      c.Healthcheck = healthConfig(step, shellOf(st));
      return commitMeta(b, st, `HEALTHCHECK ${goHealth(c.Healthcheck)}`);
    }
    case 'expose': {
      const words = step.values.flatMap((v) => b.deps.expandWords(v, lookup, b.escape));
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const p of exposedPorts(words)) c.ExposedPorts[p] = {};
      // The classic builder sorts the words for the history line.
      return commitMeta(b, st, `EXPOSE ${[...words].sort().join(' ')}`);
    }
    case 'user': {
      c.User = ex(step.value);
      return commitMeta(b, st, `USER ${c.User}`);
    }
    case 'volume': {
      const vols = step.values.map(ex);
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const v of vols) {
        if (!v) throw new InvalidArgumentError('VOLUME specified can not be an empty string');
        c.Volumes[v] = {};
      }
      return commitMeta(b, st, `VOLUME ${goList(vols)}`);
    }
    case 'stopsignal': {
      const sig = ex(step.value);
      checkSignal(sig);
      c.StopSignal = sig;
      return commitMeta(b, st, `STOPSIGNAL ${sig}`);
    }
    case 'shell':
      c.Shell = [...step.shell];
      return commitMeta(b, st, `SHELL ${goList(c.Shell)}`);
    case 'onbuild':
      c.OnBuild = [...(c.OnBuild ?? []), step.trigger];
      return commitMeta(b, st, `ONBUILD ${step.trigger}`);
    case 'arg':
      return dispatchArg(b, st, step, lookup);
    case 'workdir':
      return dispatchWorkdir(b, st, ex(step.value));
    case 'run':
      return dispatchRun(b, st, step, ex);
    case 'copy':
    case 'add':
      return dispatchCopy(b, st, step, ex, lookup);
    case 'from':
      throw new InvalidArgumentError('FROM is not allowed here');
  }
}

function dispatchArg(b: Build, st: StageState, step: Located<ArgInstruction>, lookup: Lookup): Promise<void> {
  const parts: string[] = [];
  for (const a of step.args) {
    const def = a.default === undefined ? undefined : b.deps.expandWord(a.default, lookup, b.escape);
    b.referenced.add(a.name);
    // The request's value wins; a bare `ARG X` takes the meta ARG's (or platform arg's) value.
    let v = b.given.get(a.name);
    if (v === undefined) v = def ?? (b.meta.has(a.name) ? b.meta.get(a.name) : undefined);
    st.args.set(a.name, v);
    parts.push(def === undefined ? a.name : `${a.name}=${def}`);
  }
  return commitMeta(b, st, `ARG ${parts.join(' ')}`);
}

// ------------------------------------------------------------------ commits and the cache

function keyParts(b: Build, st: StageState, createdBy: string, extra: Partial<CacheKeyParts> = {}): CacheKeyParts {
  return { parent: st.image?.id ?? '', createdBy, config: fullConfig(st.config), author: st.author, platform: PLATFORM, sourceDateEpoch: b.sourceDateEpoch, ...extra };
}

/** The image config a step's commit records: the stage's config pointing at its parent. */
function commitRequest(b: Build, st: StageState, createdBy: string): CommitRequest {
  st.config.Image = st.image?.id ?? '';
  const req: CommitRequest = { config: fullConfig(cloneConfig(st.config)), createdBy };
  if (b.created) req.created = b.created;
  if (b.sourceDateEpoch !== undefined) req.sourceDateEpoch = b.sourceDateEpoch;
  if (st.author) req.author = st.author;
  return req;
}

/** On a hit, the step's image is the cached one (` ---> Using cache`). */
async function probeCache(b: Build, st: StageState, key: string, createdBy: string): Promise<boolean> {
  if (b.job.request.noCache) return false;
  const local = await b.job.host.cache.get(key);
  // With --cache-from, the classic builder takes a local hit only when a source image grew from
  // it (moby's ImageCache: an ancestor of a cache-from image); sources that are not here leave
  // no cache at all.
  const sourced = !b.job.request.cacheFrom?.length || (local !== undefined && b.cacheFrom.some((src) => grewFrom(src, local)));
  const hit = (sourced ? local : undefined) ?? (await fromCacheSources(b, st, createdBy));
  if (!hit) return false;
  st.out.stream(' ---> Using cache\n');
  st.image = hit;
  await b.job.host.cache.put(key, hit.id);
  return true;
}

/** Whether `img`'s history and layers are where `src`'s start: an image `src` was built on. */
function grewFrom(src: BuildImage, img: BuildImage): boolean {
  const history = src.config.history ?? [];
  const own = img.config.history ?? [];
  const diffs = src.config.rootfs.diff_ids;
  const ownDiffs = img.config.rootfs.diff_ids;
  if (own.length > history.length || ownDiffs.length > diffs.length) return false;
  return own.every((h, i) => h.created_by === history[i].created_by && !!h.empty_layer === !!history[i].empty_layer) && ownDiffs.every((d, i) => d === diffs[i]);
}

/**
 * `--cache-from`, as the classic builder's ImageCache: a source image whose history starts
 * with the parent's (same lines, same layers) and goes on with this step's line gives the
 * step: the source itself when that is its last line, else a new image restored from it.
 */
async function fromCacheSources(b: Build, st: StageState, createdBy: string): Promise<BuildImage | undefined> {
  const parentHistory = st.image?.config.history ?? [];
  const parentDiffs = st.image?.config.rootfs.diff_ids ?? [];
  for (const src of b.cacheFrom) {
    const history = src.config.history ?? [];
    const diffs = src.config.rootfs.diff_ids;
    const at = parentHistory.length;
    if (history.length <= at || diffs.length < parentDiffs.length) continue;
    if (!parentHistory.every((h, i) => h.created_by === history[i].created_by && !!h.empty_layer === !!history[i].empty_layer)) continue;
    if (!parentDiffs.every((d, i) => d === diffs[i])) continue;
    const entry = history[at];
    if (entry.created_by !== createdBy) continue;
    let img: BuildImage | undefined;
    if (at === history.length - 1) img = src;
    else if (entry.empty_layer) img = await b.job.host.commitConfig(st.image, commitRequest(b, st, createdBy));
    else if (b.job.host.restoreLayer) {
      const diffIndex = history.slice(0, at).filter((h) => !h.empty_layer).length;
      img = await b.job.host.restoreLayer(src, diffIndex, st.image, commitRequest(b, st, createdBy));
    }
    if (!img) continue;
    b.cacheFrom = [src];
    return img;
  }
  return undefined;
}

/** A metadata-only step: `/bin/sh -c #(nop)  CMD ["sh"]` in history, no layer. */
async function commitMeta(b: Build, st: StageState, comment: string): Promise<void> {
  const createdBy = [...shellOf(st), '#(nop) ', comment].join(' ');
  st.config.Image = st.image?.id ?? '';
  const key = cacheKey(keyParts(b, st, createdBy));
  if (await probeCache(b, st, key, createdBy)) return;
  // The classic builder makes a container for these steps too; its lines are kept so the
  // output reads the same, though wharf commits the config without one.
  const id = newId();
  st.out.stream(` ---> Running in ${shortId(id)}\n`);
  const img = await b.job.host.commitConfig(st.image, commitRequest(b, st, createdBy));
  removed(b, st, id, true);
  st.image = img;
  await b.job.host.cache.put(key, img.id);
}

/** `Removing intermediate container`, when rm/forcerm says the container goes (it always does in wharf). */
function removed(b: Build, st: StageState, id: string, ok: boolean): void {
  const { rm, forceRm } = b.job.request;
  if (forceRm || (ok && rm !== false)) st.out.stream(`Removing intermediate container ${shortId(id)}\n`);
}

/** Runs `body` in a new workspace over the stage's image; the workspace is always released. */
async function withWorkspace<T>(b: Build, st: StageState, announce: boolean, body: (ws: Workspace) => Promise<T>): Promise<T> {
  b.signal.throwIfAborted();
  const ws = await b.job.host.workspace(st.image);
  let ok = false;
  try {
    if (announce) st.out.stream(` ---> Running in ${shortId(ws.id)}\n`);
    b.signal.throwIfAborted();
    const r = await body(ws);
    ok = true;
    return r;
  } finally {
    await ws.release();
    if (announce) removed(b, st, ws.id, ok);
  }
}

async function dispatchWorkdir(b: Build, st: StageState, requested: string): Promise<void> {
  st.config.WorkingDir = normalizeWorkdir(st.config.WorkingDir ?? '', requested);
  const createdBy = [...shellOf(st), `#(nop) WORKDIR ${st.config.WorkingDir}`].join(' ');
  st.config.Image = st.image?.id ?? '';
  const key = cacheKey(keyParts(b, st, createdBy));
  if (await probeCache(b, st, key, createdBy)) return;
  const wd = st.config.WorkingDir;
  const img = await withWorkspace(b, st, true, async (ws) => {
    const root = await ws.root();
    await mkdir(await resolveInRoot(root, wd), { recursive: true });
    return ws.commit(commitRequest(b, st, createdBy));
  });
  st.image = img;
  await b.job.host.cache.put(key, img.id);
}

// ------------------------------------------------------------------ RUN

/** Things a step holds until it ends (image views). */
class Holds {
  readonly #views: ImageView[] = [];
  readonly #dirs: string[] = [];
  async view(b: Build, img: BuildImage): Promise<string> {
    const v = await b.job.host.view(img);
    this.#views.push(v);
    return v.path;
  }
  /** A host file with `content`, executable, for a heredoc script. */
  async file(name: string, content: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-build-heredoc-'));
    this.#dirs.push(dir);
    const path = join(dir, name.replace(/\//g, '_'));
    await writeFile(path, content, { mode: 0o755 });
    return path;
  }
  async release(): Promise<void> {
    await Promise.allSettled(this.#views.splice(0).map((v) => v.release()));
    await Promise.allSettled(this.#dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** The image behind `--from=`: a stage before this one, else an image by reference. */
async function fromImage(b: Build, st: StageState, from: string): Promise<BuildImage> {
  const ref = stageRef(b.parsed.stages, from, st.index);
  if (ref !== undefined) return stageImage(b, ref);
  try {
    return await b.job.host.image(from, { pull: false, progress: (line) => st.out.stream(line.endsWith('\n') ? line : `${line}\n`) });
  } catch (err) {
    if (err instanceof Error) err.message = `invalid from flag value ${from}: ${err.message}`;
    throw err;
  }
}

interface ResolvedMounts {
  mounts: StepMount[];
  /** What the cache key records: the mounts as requested, not host paths. */
  spec: unknown[];
  env: string[];
}

async function resolveMounts(b: Build, st: StageState, step: RunInstruction, ex: (w: string) => string, holds: Holds): Promise<ResolvedMounts> {
  const out: ResolvedMounts = { mounts: [], spec: [], env: [] };
  for (const m of step.mounts) {
    const target = m.target === undefined ? undefined : ex(m.target);
    const source = m.source === undefined ? undefined : ex(m.source);
    const from = m.from === undefined ? undefined : ex(m.from);
    const id = m.id === undefined ? undefined : ex(m.id);
    switch (m.type) {
      case 'bind': {
        if (!target) throw new InvalidArgumentError('mount type=bind requires a target');
        const root = from ? await holds.view(b, await fromImage(b, st, from)) : b.job.context.dir;
        const path = await resolveInRoot(root, source ?? '/');
        out.mounts.push({ type: 'bind', source: path, target, readonly: m.readonly });
        out.spec.push({ type: 'bind', target, source: source ?? '/', from: from ?? '', readonly: m.readonly });
        break;
      }
      case 'cache': {
        if (!target) throw new InvalidArgumentError('mount type=cache requires a target');
        const cacheId = id || target;
        const path = await b.job.host.cacheDir(cacheId);
        out.mounts.push({ type: 'bind', source: path, target, readonly: m.readonly });
        out.spec.push({ type: 'cache', id: cacheId, target, readonly: m.readonly });
        break;
      }
      case 'tmpfs': {
        if (!target) throw new InvalidArgumentError('mount type=tmpfs requires a target');
        const t: StepMount = { type: 'tmpfs', target };
        if (m.size !== undefined) t.sizeBytes = m.size;
        if (m.mode !== undefined) t.mode = m.mode;
        out.mounts.push(t);
        out.spec.push({ type: 'tmpfs', target, size: m.size ?? 0 });
        break;
      }
      case 'secret': {
        const secretId = id || (target ? target.slice(target.lastIndexOf('/') + 1) : '');
        if (!secretId) throw new InvalidArgumentError('mount type=secret requires an id or a target');
        const path = b.job.request.secrets?.[secretId];
        if (path === undefined) {
          if (m.required) throw new InvalidArgumentError(`secret ${secretId}: not found (pass it to the build as id=${secretId},src=<path>)`);
          break;
        }
        if (m.env) {
          out.env.push(`${m.env}=${(await readFile(path, 'utf8')).replace(/\n$/, '')}`);
          if (!m.target) break;
        }
        out.mounts.push({ type: 'bind', source: path, target: target ?? `/run/secrets/${secretId}`, readonly: true });
        // Only the secret's name and place: its content must not decide (or leak into) the key.
        out.spec.push({ type: 'secret', id: secretId, target: target ?? '', env: m.env ?? '' });
        break;
      }
      case 'ssh':
        throw new NotImplementedError('RUN --mount=type=ssh is not supported: the classic build API carries no SSH agent');
    }
  }
  return out;
}

/**
 * RUN's argv, heredocs included as BuildKit runs them: `RUN <<EOF` alone runs the body as the
 * shell's script (or, with a `#!` line, as an executable file of its own); a heredoc that feeds
 * a command (`RUN python3 <<EOF`) is put back after the command line for the shell to read.
 */
function runArgs(st: StageState, step: Located<RunInstruction>): { args: string[]; script?: { name: string; content: string } } {
  const c = step.command;
  if (c.form === 'json') return { args: [...c.args] };
  const marker = /^<<-?(["']?)([^\s"']+)\1$/.exec(c.text.trim());
  let script: Heredoc | undefined;
  if (marker && step.heredocs.length) script = step.heredocs.find((h) => h.name === marker[2]) ?? step.heredocs[0];
  // The parser may also have put the script's body in the command already.
  const body = script ? script.content : step.heredocs.length === 0 && /<</.test(step.raw.original) ? c.text : undefined;
  if (body !== undefined) {
    if (body.startsWith('#!')) {
      const name = script?.name ?? (/<<-?["']?([^\s"']+)/.exec(step.raw.original)?.[1] ?? 'script');
      return { args: [`/dev/pipes/${name}`], script: { name, content: body } };
    }
    return { args: [...shellOf(st), body] };
  }
  // The parser has put the bodies back after the command line already; `heredocs` only lists them.
  return { args: [...shellOf(st), c.text] };
}

async function dispatchRun(b: Build, st: StageState, step: Located<RunInstruction>, ex: (w: string) => string): Promise<void> {
  const { args, script } = runArgs(st, step);
  const { all, history } = argEnv(b, st);
  const saveCmd = history.length ? [`|${history.length}`, ...history, ...args] : args;
  const createdBy = saveCmd.join(' ');
  const network = step.network ?? 'default';
  st.config.Image = st.image?.id ?? '';
  const holds = new Holds();
  try {
    const mounts = await resolveMounts(b, st, step, ex, holds);
    if (script) {
      const path = await holds.file(script.name, script.content);
      mounts.mounts.push({ type: 'bind', source: path, target: `/dev/pipes/${script.name}`, readonly: true });
      mounts.spec.push({ type: 'heredoc', name: script.name, content: script.content });
    }
    const proc: RunProcess = {
      args,
      env: [...(st.config.Env ?? []), ...all, ...mounts.env],
      user: st.config.User ?? '',
      workdir: st.config.WorkingDir || '/',
      network,
      extraHosts: [...(b.job.request.extraHosts ?? [])],
      mounts: mounts.mounts,
    };
    const key = cacheKey(
      keyParts(b, st, createdBy, {
        run: { env: proc.env.filter((e) => !mounts.env.includes(e)), network, user: proc.user, workdir: proc.workdir, mounts: mounts.spec, extraHosts: proc.extraHosts },
      }),
    );
    if (await probeCache(b, st, key, createdBy)) return;
    const img = await withWorkspace(b, st, true, async (ws) => {
      const decoder = new StringDecoder('utf8');
      const code = await ws.run(
        proc,
        (chunk) => {
          const text = decoder.write(chunk);
          if (text) st.out.stream(text);
        },
        b.signal,
      );
      const rest = decoder.end();
      if (rest) st.out.stream(rest);
      if (code !== 0) throw new BuildStepError(`The command '${args.join(' ')}' returned a non-zero code: ${code}`, code);
      return ws.commit(commitRequest(b, st, createdBy));
    });
    st.image = img;
    await b.job.host.cache.put(key, img.id);
  } finally {
    await holds.release();
  }
}

// ------------------------------------------------------------------ COPY and ADD

/** `$VAR` and `${VAR}` in an unquoted heredoc body; quotes in it are text, unlike in a word. */
function expandHeredoc(h: Heredoc, lookup: Lookup): string {
  if (h.quoted) return h.content;
  return h.content.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a?: string, c?: string) =>
    m === '\\$' ? '$' : (lookup((a ?? c)!) ?? ''),
  );
}

async function dispatchCopy(b: Build, st: StageState, step: Located<CopyInstruction>, ex: (w: string) => string, lookup: Lookup): Promise<void> {
  const kind = step.kind === 'add' ? 'ADD' : 'COPY';
  const sources = step.sources.map(ex);
  const dest = ex(step.dest);
  const chown = step.chown === undefined ? undefined : ex(step.chown);
  const chmod = step.chmod === undefined ? undefined : ex(step.chmod);
  const from = step.from === undefined ? undefined : ex(step.from);
  const holds = new Holds();
  try {
    const root = from ? await holds.view(b, await fromImage(b, st, from)) : b.job.context.dir;
    const plan = await b.deps.planCopy({
      root,
      sources,
      exclude: step.exclude.map(ex),
      extract: step.kind === 'add',
      checksum: step.checksum,
      inline: step.heredocs.map((h) => ({ name: h.name, content: expandHeredoc(h, lookup) })),
      ...(step.parents ? { parents: true } : {}),
    });
    try {
      // The classic builder writes no space between a --chown and the sources (`--chown=a:bfile:<hex>`).
      const flags = (chown ? `--chown=${chown}` : '') + (chmod ? `${chown ? ' ' : ''}--chmod=${chmod} ` : '') + (step.parents ? `${chown && !chmod ? ' ' : ''}--parents ` : '');
      const createdBy = [...shellOf(st), `#(nop) ${kind} ${flags}${plan.historyWord} in ${dest} `].join(' ');
      st.config.Image = st.image?.id ?? '';
      const key = cacheKey(keyParts(b, st, createdBy, { copyDigest: plan.digest }));
      if (await probeCache(b, st, key, createdBy)) return;
      const img = await withWorkspace(b, st, false, async (ws) => {
        await b.deps.applyCopy(plan, { root: await ws.root(), dest, workdir: st.config.WorkingDir || '/', chown, chmod, idmap: ws.idmap });
        return ws.commit(commitRequest(b, st, createdBy));
      });
      st.image = img;
      await b.job.host.cache.put(key, img.id);
    } finally {
      await plan.dispose();
    }
  } finally {
    await holds.release();
  }
}
