import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type {
  ContainerInspect,
  ContainerPruneResponse,
  ContainerSummary,
  ContainerTopResponse,
  ContainerWaitResponse,
  ExecInspect,
  FilesystemChange,
  IdResponse,
} from '../api/types/index.js';
import { demux } from '../client/index.js';
import { ago, goTime, humanSize, render } from './format.js';
import { addCreateOptions, createContainer, createRequest, runContainer, startFailureCode } from './run.js';
import { Exit, clientOf, pipeStreams, sendSize, type Env } from './session.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function filtersJson(list: string[] = []): string | undefined {
  if (!list.length) return undefined;
  const f: Record<string, string[]> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i < 0) throw new Exit(1, `bad format of filter (expected name=value)`);
    (f[kv.slice(0, i)] ??= []).push(kv.slice(i + 1));
  }
  return JSON.stringify(f);
}

/** Runs `fn` for each name, printing errors like docker and failing at the end if any failed. */
async function eachName(env: Env, names: string[], fn: (n: string) => Promise<void>): Promise<void> {
  let failed = false;
  for (const n of names) {
    try {
      await fn(n);
    } catch (err) {
      failed = true;
      env.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
    }
  }
  if (failed) throw new Exit(1);
}

function psRow(c: ContainerSummary, noTrunc: boolean) {
  let cmd = c.Command;
  if (!noTrunc && [...cmd].length > 20) cmd = [...cmd].slice(0, 19).join('') + '…';
  const ports = (c.Ports ?? []).map((p) => (p.PublicPort ? `${p.IP ?? '0.0.0.0'}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`)).join(', ');
  const labels = c.Labels ?? {};
  return {
    ID: noTrunc ? c.Id : c.Id.slice(0, 12),
    Image: c.Image,
    Command: `"${cmd}"`,
    CreatedAt: goTime(c.Created),
    RunningFor: ago(c.Created),
    Ports: ports,
    State: c.State,
    Status: c.Status,
    Size: c.SizeRw !== undefined ? `${humanSize(c.SizeRw)} (virtual ${humanSize(c.SizeRootFs ?? 0)})` : '0B',
    Names: c.Names.map((n) => n.replace(/^\//, '')).join(','),
    Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','),
    Mounts: (c.Mounts ?? []).map((m) => m.Name ?? m.Source).join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
    LocalVolumes: '0',
    Label: (k: string) => labels[k] ?? '',
  };
}

const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
};

async function inspectContainer(env: Env, name: string): Promise<ContainerInspect> {
  return env.client.json<ContainerInspect>('GET', `/containers/${encodeURIComponent(name)}/json`);
}

export function printJsonOrFormat(env: Env, items: unknown[], format?: string): void {
  if (!format || format === 'json') {
    env.stdout.write(JSON.stringify(items, null, 4) + '\n');
    return;
  }
  env.stdout.write(render(format, items as object[], {}));
}

export function containerCommands(program: Command, env: Env, commands: Command[]): void {
  const c = clientOf(env);
  const add = (cmd: Command) => {
    commands.push(cmd);
    return cmd;
  };

  add(
    addCreateOptions(
      program
        .command('run')
        .description('Create and run a new container from an image')
        .argument('<image>')
        .argument('[command...]')
        .option('-d, --detach', 'Run container in background and print container ID')
        .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
        .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
        .option('--sig-proxy [bool]', 'Proxy received signals to the process', (v) => v !== 'false', true)
        .passThroughOptions(),
    ).action(async (image: string, command: string[], o: Record<string, unknown>) => {
      throw new Exit(await runContainer(env, image, command, o));
    }),
  );

  add(
    addCreateOptions(program.command('create').description('Create a new container').argument('<image>').argument('[command...]').option('--rm', 'Remove when it exits').passThroughOptions()).action(
      async (image: string, command: string[], o: Record<string, unknown>) => {
        try {
          env.stdout.write(`${await createContainer(env, createRequest(image, command, { ...o, detach: true }), o.name as string | undefined)}\n`);
        } catch (err) {
          // As docker's CLI: a daemon error on create exits 1 (flag errors exit 125).
          throw new Exit(1, `Error response from daemon: ${(err as Error).message}`);
        }
      },
    ),
  );

  add(
    program
      .command('ps')
      .description('List containers')
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('-q, --quiet', 'Only display container IDs')
      .option('-n, --last <int>', 'Show n last created containers (includes all states)')
      .option('-l, --latest', 'Show the latest created container (includes all states)')
      .option('-s, --size', 'Display total file sizes')
      .option('--no-trunc', "Don't truncate output")
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template')
      .action(async (o) => {
        const limit = o.latest ? 1 : o.last !== undefined ? Number(o.last) : undefined;
        const list = await c.json<ContainerSummary[]>('GET', '/containers/json', { query: { all: Boolean(o.all), limit, size: Boolean(o.size), filters: filtersJson(o.filter) } });
        const noTrunc = o.trunc === false;
        const rows = list.map((x) => psRow(x, noTrunc));
        let format: string = o.format ?? (o.quiet ? '{{.ID}}' : `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${o.size ? '\t{{.Size}}' : ''}`);
        if (o.quiet && !o.format) format = '{{.ID}}';
        if (format === 'json') env.stdout.write(rows.map((r) => JSON.stringify({ ...r, Label: undefined }) + '\n').join(''));
        else env.stdout.write(render(format, rows, PS_HEADERS));
      }),
  );

  add(
    program
      .command('start')
      .description('Start one or more stopped containers')
      .argument('<containers...>')
      .option('-a, --attach', "Attach STDOUT/STDERR and forward signals")
      .option('-i, --interactive', "Attach container's STDIN")
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .action(async (names: string[], o) => {
        if (!o.attach && !o.interactive) {
          await eachName(env, names, async (n) => {
            await c.call('POST', `/containers/${encodeURIComponent(n)}/start`);
            env.stdout.write(`${n}\n`);
          });
          return;
        }
        const info = await inspectContainer(env, names[0]);
        const tty = info.Config.Tty ?? false;
        const stdin = Boolean(o.interactive) && (info.Config.OpenStdin ?? false);
        const conn = await c.hijack(`/containers/${info.Id}/attach`, { query: { stream: true, stdin, stdout: true, stderr: true, detachKeys: o.detachKeys } });
        const waiting = c.json<ContainerWaitResponse>('POST', `/containers/${info.Id}/wait`, { query: { condition: 'next-exit' } });
        waiting.catch(() => {});
        const onResize = (h: number, w: number) => void c.call('POST', `/containers/${info.Id}/resize`, { query: { h, w } }).catch(() => {});
        const piping = pipeStreams(env, conn, { tty, stdin, onResize });
        try {
          await c.call('POST', `/containers/${info.Id}/start`);
        } catch (err) {
          conn.destroy();
          await piping;
          throw new Exit(startFailureCode((err as Error).message), `Error response from daemon: ${(err as Error).message}`);
        }
        if (tty) sendSize(env, onResize);
        await piping;
        const after = await inspectContainer(env, info.Id).catch(() => undefined);
        if (after?.State.Running) return;
        throw new Exit((await waiting).StatusCode);
      }),
  );

  const simple = (name: string, description: string, path: (n: string, o: Record<string, unknown>) => [string, Record<string, string | number | undefined>]) =>
    add(
      program
        .command(name)
        .description(description)
        .argument('<containers...>')
        .action(async (names: string[], o: Record<string, unknown>) => {
          await eachName(env, names, async (n) => {
            const [p, query] = path(encodeURIComponent(n), o);
            await c.call('POST', p, { query });
            env.stdout.write(`${n}\n`);
          });
        }),
    );
  simple('stop', 'Stop one or more running containers', (n, o) => [`/containers/${n}/stop`, { t: o.time as string | undefined, signal: o.signal as string | undefined }])
    .option('-t, --time <int>', 'Seconds to wait before killing the container')
    .option('-s, --signal <string>', 'Signal to send to the container');
  simple('restart', 'Restart one or more containers', (n, o) => [`/containers/${n}/restart`, { t: o.time as string | undefined, signal: o.signal as string | undefined }])
    .option('-t, --time <int>', 'Seconds to wait before killing the container')
    .option('-s, --signal <string>', 'Signal to send to the container');
  simple('kill', 'Kill one or more running containers', (n, o) => [`/containers/${n}/kill`, { signal: o.signal as string | undefined }]).option(
    '-s, --signal <string>',
    'Signal to send to the container',
  );
  simple('pause', 'Pause all processes within one or more containers', (n) => [`/containers/${n}/pause`, {}]);
  simple('unpause', 'Unpause all processes within one or more containers', (n) => [`/containers/${n}/unpause`, {}]);

  add(
    program
      .command('rm')
      .description('Remove one or more containers')
      .argument('<containers...>')
      .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
      .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
      .action(async (names: string[], o) => {
        await eachName(env, names, async (n) => {
          await c.call('DELETE', `/containers/${encodeURIComponent(n)}`, { query: { force: Boolean(o.force), v: Boolean(o.volumes) } });
          env.stdout.write(`${n}\n`);
        });
      }),
  );

  add(
    program
      .command('wait')
      .description('Block until one or more containers stop, then print their exit codes')
      .argument('<containers...>')
      .action(async (names: string[]) => {
        await eachName(env, names, async (n) => {
          const r = await c.json<ContainerWaitResponse>('POST', `/containers/${encodeURIComponent(n)}/wait`);
          env.stdout.write(`${r.StatusCode}\n`);
        });
      }),
  );

  add(
    program
      .command('rename')
      .description('Rename a container')
      .argument('<container>')
      .argument('<new-name>')
      .action(async (n: string, name: string) => c.call('POST', `/containers/${encodeURIComponent(n)}/rename`, { query: { name } })),
  );

  add(
    program
      .command('logs')
      .description('Fetch the logs of a container')
      .argument('<container>')
      .option('-f, --follow', 'Follow log output')
      .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
      .option('-t, --timestamps', 'Show timestamps')
      .option('--since <string>', 'Show logs since timestamp or relative')
      .option('--until <string>', 'Show logs before a timestamp or relative')
      .option('--details', 'Show extra details provided to logs')
      .action(async (n: string, o) => {
        const info = await inspectContainer(env, n);
        const res = await c.stream('GET', `/containers/${info.Id}/logs`, {
          query: { stdout: true, stderr: true, follow: Boolean(o.follow), tail: o.tail, timestamps: Boolean(o.timestamps), since: relTime(o.since), until: relTime(o.until) },
        });
        if (info.Config.Tty) await pipeline(res, env.stdout, { end: false });
        else await demux(res, { stdout: (b) => env.stdout.write(b), stderr: (b) => env.stderr.write(b) });
      }),
  );

  add(
    program
      .command('exec')
      .description('Execute a command in a running container')
      .argument('<container>')
      .argument('<command...>')
      .option('-d, --detach', 'Detached mode: run command in the background')
      .option('-i, --interactive', 'Keep STDIN open even if not attached')
      .option('-t, --tty', 'Allocate a pseudo-TTY')
      .option('-u, --user <string>', 'Username or UID')
      .option('-w, --workdir <string>', 'Working directory inside the container')
      .option('-e, --env <list>', 'Set environment variables', collect)
      .option('--privileged', 'Give extended privileges to the command')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .passThroughOptions()
      .action(async (n: string, command: string[], o) => {
        const tty = Boolean(o.tty);
        const stdin = Boolean(o.interactive) && !o.detach;
        const created = await c.json<IdResponse>('POST', `/containers/${encodeURIComponent(n)}/exec`, {
          body: {
            Cmd: command,
            Tty: tty,
            AttachStdin: stdin,
            AttachStdout: !o.detach,
            AttachStderr: !o.detach,
            User: o.user,
            WorkingDir: o.workdir,
            Env: o.env,
            Privileged: Boolean(o.privileged),
            DetachKeys: o.detachKeys,
            ConsoleSize: tty && env.stdout.isTTY ? [env.stdout.rows, env.stdout.columns] : undefined,
          },
        });
        if (o.detach) {
          await c.call('POST', `/exec/${created.Id}/start`, { body: { Detach: true, Tty: tty } });
          return;
        }
        const conn = await c.hijack(`/exec/${created.Id}/start`, { body: { Detach: false, Tty: tty } });
        const onResize = (h: number, w: number) => void c.call('POST', `/exec/${created.Id}/resize`, { query: { h, w } }).catch(() => {});
        const piping = pipeStreams(env, conn, { tty, stdin, onResize });
        if (tty) sendSize(env, onResize);
        await piping;
        const r = await c.json<ExecInspect>('GET', `/exec/${created.Id}/json`);
        throw new Exit(r.ExitCode ?? 0);
      }),
  );

  add(
    program
      .command('attach')
      .description('Attach local standard input, output, and error streams to a running container')
      .argument('<container>')
      .option('--no-stdin', 'Do not attach STDIN')
      .option('--sig-proxy [bool]', 'Proxy all received signals to the process', (v) => v !== 'false', true)
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .action(async (n: string, o) => {
        const info = await inspectContainer(env, n);
        if (!info.State.Running) throw new Exit(1, 'You cannot attach to a stopped container, start it first');
        const stdin = o.stdin !== false && (info.Config.OpenStdin ?? false);
        const conn = await c.hijack(`/containers/${info.Id}/attach`, { query: { stream: true, stdin, stdout: true, stderr: true, detachKeys: o.detachKeys } });
        const onResize = (h: number, w: number) => void c.call('POST', `/containers/${info.Id}/resize`, { query: { h, w } }).catch(() => {});
        const piping = pipeStreams(env, conn, { tty: info.Config.Tty ?? false, stdin, onResize });
        if (info.Config.Tty) sendSize(env, onResize);
        await piping;
        const after = await inspectContainer(env, info.Id).catch(() => undefined);
        if (after && !after.State.Running) throw new Exit(after.State.ExitCode);
      }),
  );

  add(
    program
      .command('top')
      .description('Display the running processes of a container')
      .argument('<container>')
      .argument('[ps-options...]')
      .action(async (n: string, args: string[]) => {
        const r = await c.json<ContainerTopResponse>('GET', `/containers/${encodeURIComponent(n)}/top`, { query: { ps_args: args.length ? args.join(' ') : undefined } });
        env.stdout.write(render('table ' + r.Titles.map((_t, i) => `{{index . ${i}}}`).join('\t'), r.Processes, {}).replace(/^.*\n/, r.Titles.join('\t') + '\n'));
      }),
  );

  add(
    program
      .command('port')
      .description('List port mappings or a specific mapping for the container')
      .argument('<container>')
      .argument('[port]')
      .action(async (n: string, port?: string) => {
        const info = await inspectContainer(env, n);
        const ports = info.NetworkSettings?.Ports ?? {};
        for (const [k, binds] of Object.entries(ports)) {
          if (port && k !== port && k !== `${port}/tcp`) continue;
          for (const b of binds ?? []) env.stdout.write(port ? `${b.HostIp || '0.0.0.0'}:${b.HostPort}\n` : `${k} -> ${b.HostIp || '0.0.0.0'}:${b.HostPort}\n`);
        }
      }),
  );

  add(
    program
      .command('diff')
      .description("Inspect changes to files or directories on a container's filesystem")
      .argument('<container>')
      .action(async (n: string) => {
        const changes = (await c.json<FilesystemChange[] | null>('GET', `/containers/${encodeURIComponent(n)}/changes`)) ?? [];
        for (const ch of changes) env.stdout.write(`${'CAD'[ch.Kind]} ${ch.Path}\n`);
      }),
  );

  add(
    program
      .command('commit')
      .description("Create a new image from a container's changes")
      .argument('<container>')
      .argument('[repository]')
      .option('-a, --author <string>', 'Author')
      .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <string>', 'Commit message')
      .option('-p, --pause [bool]', 'Pause container during commit', (v) => v !== 'false', true)
      .action(async (n: string, repository: string | undefined, o) => {
        let repo: string | undefined;
        let tag: string | undefined;
        if (repository) {
          const i = repository.lastIndexOf(':');
          if (i > repository.lastIndexOf('/')) [repo, tag] = [repository.slice(0, i), repository.slice(i + 1)];
          else repo = repository;
        }
        const r = await c.json<IdResponse>('POST', '/commit', {
          query: { container: n, repo, tag, author: o.author, comment: o.message, pause: o.pause !== false, changes: o.change },
        });
        env.stdout.write(`${r.Id}\n`);
      }),
  );

  add(
    program
      .command('export')
      .description("Export a container's filesystem as a tar archive")
      .argument('<container>')
      .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
      .action(async (n: string, o) => {
        if (!o.output && env.stdout.isTTY) throw new Exit(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
        const res = await c.stream('GET', `/containers/${encodeURIComponent(n)}/export`);
        await pipeline(res, o.output ? createWriteStream(o.output) : env.stdout, { end: Boolean(o.output) });
      }),
  );

  add(
    program
      .command('container-prune')
      .description('Remove all stopped containers')
      .option('-f, --force', 'Do not prompt for confirmation')
      .option('--filter <filter>', 'Provide filter values', collect)
      .action(async (o) => {
        if (!o.force && !(await confirm(env, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] '))) return;
        const r = await c.json<ContainerPruneResponse>('POST', '/containers/prune', { query: { filters: filtersJson(o.filter) } });
        if (r.ContainersDeleted?.length) env.stdout.write(`Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n`);
        env.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
      }),
  );
}

export async function confirm(env: Env, question: string): Promise<boolean> {
  env.stdout.write(question);
  const answer = await new Promise<string>((resolve) => {
    env.stdin.once('data', (d: Buffer) => resolve(d.toString()));
    env.stdin.once('end', () => resolve(''));
    env.stdin.resume();
  });
  env.stdin.pause();
  return /^y(es)?$/i.test(answer.trim());
}

/** `10m` / `2h` back from now as Unix seconds; anything else goes to the daemon as is. */
function relTime(v?: string): string | undefined {
  if (!v) return undefined;
  const m = /^(\d+)(s|m|h)$/.exec(v);
  if (!m) return v;
  const secs = Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  return String(Math.floor(Date.now() / 1000) - secs);
}
