import { rm, stat, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { jsonLines, type Client, type Query } from '../../../client/index.js';
import type { ProgressMessage } from '../../../types/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { Exit } from '../../errors.js';
import { BuildView } from '../../format/buildview.js';
import { humanSize } from '../../format/index.js';
import { collect, intArg, parseRamBytes } from '../../opts.js';
import type { IO, Session } from '../../session.js';
import { parseUlimit } from '../container/createopts.js';
import { prepareContext } from './buildcontext.js';

export interface BuildOptions {
  tag?: string[];
  file?: string;
  buildArg?: string[];
  target?: string;
  cache?: boolean; // --no-cache
  pull?: boolean;
  label?: string[];
  network?: string;
  addHost?: string[];
  quiet?: boolean;
  iidfile?: string;
  platform?: string;
  cacheFrom?: string[];
  rm?: boolean;
  forceRm?: boolean;
  memory?: number;
  memorySwap?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuPeriod?: number;
  cpuQuota?: number;
  shmSize?: number;
  ulimit?: string[];
  secret?: string[];
  progress?: string;
  cgroupParent?: string;
  isolation?: string;
  securityOpt?: string[];
  squash?: boolean;
  compress?: boolean;
}

/** What the command needs from outside besides the client: the environment, the working directory. */
export interface BuildEnv {
  env: Record<string, string | undefined>;
  cwd?: string;
}

/** `--build-arg KEY` takes the client's value of KEY, or null (the daemon's) when unset, as docker's ValidateEnv does. */
export function buildArgs(list: string[] = [], env: Record<string, string | undefined> = {}): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i >= 0) out[kv.slice(0, i)] = kv.slice(i + 1);
    else out[kv] = env[kv] ?? null;
  }
  return out;
}

/** `--label k` alone is an empty value (docker's ConvertKVStringsToMap). */
function labels(list: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    out[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1);
  }
  return out;
}

/** `--secret id=ID,src=PATH` (buildx's syntax; `source`, `type=file` accepted) → {id: absolute path}. */
export function parseSecrets(list: string[] = [], cwd = process.cwd()): Record<string, string> | undefined {
  if (!list.length) return undefined;
  const out: Record<string, string> = {};
  for (const spec of list) {
    let id: string | undefined;
    let src: string | undefined;
    for (const field of spec.split(',')) {
      const i = field.indexOf('=');
      const [k, v] = i < 0 ? [field, ''] : [field.slice(0, i).toLowerCase(), field.slice(i + 1)];
      if (k === 'id') id = v;
      else if (k === 'src' || k === 'source') src = v;
      else if (k === 'type') {
        if (v !== 'file') throw new Exit(1, `could not parse secrets: [${list.join(' ')}]: unsupported secret type ${JSON.stringify(v)}`);
      } else throw new Exit(1, `could not parse secrets: [${list.join(' ')}]: unexpected key '${k}' in '${field}'`);
    }
    if (!src) throw new Exit(1, `could not parse secrets: [${list.join(' ')}]: secret ${id ? JSON.stringify(id) : spec} has no src`);
    id ??= basename(src);
    out[id] = resolve(cwd, src);
  }
  return out;
}

/**
 * The POST /build query as docker's client builds it (imageBuildOptionsToQuery): defaults left
 * out, `rm=0` only to opt out, JSON for maps and lists, `version=1` for the classic builder.
 */
export function buildQuery(o: BuildOptions, env: Record<string, string | undefined>, dockerfile: string | undefined, remote: string | undefined, cwd?: string): Query {
  const json = (v: object | undefined) => (v && Object.keys(v).length ? JSON.stringify(v) : undefined);
  const num = (n: number | undefined) => (n ? String(n) : undefined);
  const args = buildArgs(o.buildArg, env);
  return {
    t: o.tag?.length ? o.tag : undefined,
    securityopt: o.securityOpt?.length ? o.securityOpt : undefined,
    extrahosts: o.addHost?.length ? o.addHost : undefined,
    q: o.quiet ? '1' : undefined,
    remote,
    nocache: o.cache === false ? '1' : undefined,
    rm: o.rm === false ? '0' : undefined,
    forcerm: o.forceRm ? '1' : undefined,
    pull: o.pull ? '1' : undefined,
    squash: o.squash ? '1' : undefined,
    isolation: o.isolation && o.isolation !== 'default' ? o.isolation : undefined,
    cpusetcpus: o.cpusetCpus || undefined,
    networkmode: o.network && o.network !== 'default' ? o.network : undefined,
    cpusetmems: o.cpusetMems || undefined,
    cpushares: num(o.cpuShares),
    cpuquota: num(o.cpuQuota),
    cpuperiod: num(o.cpuPeriod),
    memory: num(o.memory),
    memswap: num(o.memorySwap),
    cgroupparent: o.cgroupParent || undefined,
    shmsize: num(o.shmSize),
    dockerfile: dockerfile || undefined,
    target: o.target || undefined,
    ulimits: o.ulimit?.length ? JSON.stringify(o.ulimit.map(parseUlimit)) : undefined,
    buildargs: json(args),
    labels: json(labels(o.label)),
    cachefrom: o.cacheFrom?.length ? JSON.stringify(o.cacheFrom) : undefined,
    platform: o.platform || undefined,
    version: '1',
    secrets: json(parseSecrets(o.secret, cwd)),
  };
}

type Mode = 'quiet' | 'plain' | 'tty';

function outputMode(o: BuildOptions, io: IO): Mode {
  if (o.quiet) return 'quiet';
  const p = o.progress ?? 'auto';
  if (p === 'plain') return 'plain';
  if (p === 'tty') return 'tty';
  return io.stdout.isTTY ? 'tty' : 'plain';
}

/** Counts what goes through, and says it once the upload ends, as docker's classic build does. */
function counted(body: Readable, onEnd: (n: number) => void): Readable {
  let n = 0;
  const t = new PassThrough();
  body.on('data', (c: Buffer) => (n += c.length));
  body.once('end', () => onEnd(n));
  body.once('error', (err) => t.destroy(err));
  return body.pipe(t);
}

/**
 * `build`: sends the context to POST /build and shows the classic builder's stream, plainly or
 * as a live view on a terminal; resolves with docker's exit code (the error's code, 1 if none).
 */
export async function build(client: Pick<Client, 'imageBuild'>, spec: string, o: BuildOptions, io: IO, benv: BuildEnv = { env: {} }): Promise<number> {
  if (o.progress !== undefined && !['auto', 'plain', 'tty'].includes(o.progress)) {
    throw new Exit(125, `invalid argument "${o.progress}" for "--progress" flag: invalid progress mode, use auto, plain or tty`);
  }
  if (o.iidfile) await rm(o.iidfile, { force: true }).catch((err: Error) => {
    throw new Exit(1, `removing image ID file: ${err.message}`);
  });
  const secrets = parseSecrets(o.secret, benv.cwd);
  for (const [id, path] of Object.entries(secrets ?? {})) {
    await stat(path).catch(() => {
      throw new Exit(1, `failed to stat secret ${JSON.stringify(id)}: open ${path}: no such file or directory`);
    });
  }
  const ctx = await prepareContext(spec, { file: o.file, stdin: io.stdin, cwd: benv.cwd });
  const mode = outputMode(o, io);
  const view = mode === 'tty' ? new BuildView(io.stdout, { columns: io.stdout.columns }) : undefined;
  let body = ctx.body;
  if (body && mode !== 'quiet') {
    body = counted(body, (n) => {
      const line = `Sending build context to Docker daemon  ${humanSize(n, 4)}`;
      if (view) view.context(line);
      else io.stdout.write(`${line}\n`);
    });
  }
  // The daemon recognises a gzipped context by its magic, as it does for `-`.
  if (body && o.compress) body = body.pipe(createGzip());
  const query = buildQuery(o, benv.env, ctx.dockerfile, ctx.remote, benv.cwd);
  let res;
  try {
    res = await client.imageBuild(body, query);
  } catch (err) {
    view?.stop();
    throw err;
  }
  let imageId = '';
  let quietOut = '';
  let failure: { message: string; code: number } | undefined;
  try {
    for await (const m of jsonLines<ProgressMessage & { aux?: { ID?: string } }>(res)) {
      const msg = m.error ?? m.errorDetail?.message;
      if (msg) {
        failure = { message: m.errorDetail?.message ?? msg, code: m.errorDetail?.code || 1 };
        break;
      }
      if (m.aux && typeof m.aux.ID === 'string') imageId = m.aux.ID;
      let text = m.stream;
      if (text === undefined && m.status) text = `${m.id ? `${m.id}: ` : ''}${m.status}${m.progress && mode === 'tty' ? ` ${m.progress}` : ''}\n`;
      if (text === undefined) continue;
      if (mode === 'quiet') quietOut += text;
      else if (view) view.write(text);
      else io.stdout.write(text);
    }
  } finally {
    if (failure) view?.fail(failure.message);
    else view?.finish();
  }
  if (failure) {
    if (mode === 'quiet') io.stderr.write(quietOut);
    throw new Exit(failure.code, failure.message);
  }
  if (mode === 'quiet') {
    imageId = quietOut;
    io.stdout.write(quietOut);
  }
  if (o.iidfile) {
    if (!imageId) throw new Exit(1, `server did not provide an image ID. Cannot write ${o.iidfile}`);
    await writeFile(o.iidfile, imageId, { mode: 0o666 });
  }
  return 0;
}

const ramArg = (v: string) => {
  try {
    return parseRamBytes(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

/** docker's validateTag, in short: a reference docker would parse, lowercase repository. */
function tagArg(v: string, prev: string[] = []): string[] {
  const re = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
  if (!re.test(v)) {
    const name = v.split(/[:@]/)[0];
    throw new InvalidArgumentError(name !== name.toLowerCase() ? `invalid reference format: repository name (library/${name}) must be lowercase` : 'invalid reference format');
  }
  return [...prev, v];
}

/** `--add-host host:ip` (or `host=ip`), checked as docker's ValidateExtraHost does. */
function hostArg(v: string, prev: string[] = []): string[] {
  const m = /^([^:=]+)[:=](.+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`bad format for add-host: ${JSON.stringify(v)}`);
  return [...prev, `${m[1]}:${m[2].replace(/^\[(.*)\]$/, '$1')}`];
}

export function buildCommand(s: Session): Command {
  const cmd = newCommand('build', 'Build an image from a Dockerfile', '[OPTIONS] PATH | URL | -');
  return cmd
    .argument('[context]')
    .option('--add-host <list>', 'Add a custom host-to-IP mapping ("host:ip")', hostArg)
    .option('--build-arg <list>', 'Set build-time variables', collect)
    .option('--cache-from <strings>', 'Images to consider as cache sources', (v: string, prev: string[] = []) => [...prev, ...v.split(',')])
    .option('--cgroup-parent <string>', 'Set the parent cgroup for the "RUN" instructions during build')
    .option('--compress', 'Compress the build context using gzip')
    .option('--cpu-period <int>', 'Limit the CPU CFS (Completely Fair Scheduler) period', intArg)
    .option('--cpu-quota <int>', 'Limit the CPU CFS (Completely Fair Scheduler) quota', intArg)
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', intArg)
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('-f, --file <string>', 'Name of the Dockerfile (Default is "PATH/Dockerfile")')
    .option('--force-rm', 'Always remove intermediate containers')
    .option('--iidfile <string>', 'Write the image ID to the file')
    .option('--isolation <string>', 'Container isolation technology')
    .option('--label <list>', 'Set metadata for an image', collect)
    .option('-m, --memory <bytes>', 'Memory limit', ramArg)
    .option('--memory-swap <bytes>', 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', (v: string) => (v === '-1' ? -1 : ramArg(v)))
    .option('--network <string>', 'Set the networking mode for the RUN instructions during build (default "default")')
    .option('--no-cache', 'Do not use cache when building the image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--progress <string>', 'Set type of progress output (auto, plain, tty) (default "auto")')
    .option('--pull', 'Always attempt to pull a newer version of the image')
    .option('-q, --quiet', 'Suppress the build output and print image ID on success')
    .option('--rm', 'Remove intermediate containers after a successful build (default true)')
    // Only so that docker's `--rm=false` has a spelling commander knows.
    .addOption(new Option('--no-rm').hideHelp())
    .option('--secret <stringArray>', 'Secret to expose to the build (format: "id=mysecret,src=/local/secret")', collect)
    .option('--security-opt <strings>', 'Security options', collect)
    .option('--shm-size <bytes>', 'Size of "/dev/shm"', ramArg)
    .option('--squash', 'Squash newly built layers into a single new layer')
    .option('-t, --tag <list>', 'Name and optionally a tag in the "name:tag" format', tagArg)
    .option('--target <string>', 'Set the target build stage to build.')
    .option('--ulimit <ulimit>', 'Ulimit options', collect)
    .action(async (context: string | undefined) => {
      requireArgs(s, cmd, context === undefined ? [] : [context, ...cmd.args.slice(1)], 1, 1);
      const o = givenFlags<BuildOptions>(cmd);
      o.platform ??= s.env.DOCKER_DEFAULT_PLATFORM || undefined;
      exitWith(await build(s.client, context!, o, s.io, { env: s.env }));
    });
}
