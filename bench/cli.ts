/**
 * The wharf CLI's own start-up, against bare `node -e 0` and against the docker CLI, all three
 * talking to the same private wharfd, rounds alternating so load on the host falls on each alike.
 *
 *   sudo node dist/bench/cli.js [--quick]
 *
 * `wharf X − node` is what wharf adds to node's own start for the command (issue #12: at most
 * 20 ms). `run --rm busybox true` runs a real container, so its figure is `wharf run − docker
 * run`: the container costs both clients the same, and what is left is the client's side.
 * Also times `npx wharf version`, which adds npm's own start to the same launcher.
 */
import { performance } from 'node:perf_hooks';
import { DOCKER, WHARF, exec, startDaemon, type TestDaemon } from '../test/harness.js';
import { median } from './engines.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 8 : 30;

type Cmd = { name: string; file: string; args: string[] };

async function timeOnce(d: TestDaemon, c: Cmd): Promise<number> {
  const t0 = performance.now();
  const r = await exec(c.file, c.args, { env: d.env, timeoutMs: 60_000 });
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`${c.name} failed (${r.code}): ${r.stderr}`);
  return ms;
}

async function main() {
  const d = await startDaemon();
  try {
    await d.docker(['create', '--name', 'bench-inspect', 'busybox', 'true']);
    const node: Cmd = { name: 'node -e 0', file: process.execPath, args: ['-e', '0'] };
    const wharf = (args: string[]): Cmd => ({ name: `wharf ${args.join(' ')}`, file: process.execPath, args: [WHARF, ...args] });
    const docker = (args: string[]): Cmd => ({ name: `docker ${args.join(' ')}`, file: DOCKER, args });
    const commands = [['version'], ['ps'], ['images'], ['inspect', 'bench-inspect'], ['run', '--rm', 'busybox', 'true']];
    const all: Cmd[] = [node, ...commands.flatMap((a) => [wharf(a), docker(a)])];
    const npx: Cmd = { name: 'npx wharf version', file: 'npx', args: ['--no-install', 'wharf', 'version'] };
    const times = new Map<string, number[]>(all.map((c) => [c.name, []]));
    times.set(npx.name, []);
    for (const c of [...all, npx]) await timeOnce(d, c); // warm the page cache and the daemon
    for (let i = 0; i < ROUNDS; i++) {
      for (const c of all) times.get(c.name)!.push(await timeOnce(d, c));
      if (i < 5) times.get(npx.name)!.push(await timeOnce(d, npx));
    }
    const m = (name: string) => median(times.get(name)!);
    const base = m(node.name);
    const rows: string[][] = [['command', 'wharf (ms)', 'docker (ms)', 'wharf/docker', 'wharf − node (ms)']];
    for (const a of commands) {
      const w = m(wharf(a).name);
      const dk = m(docker(a).name);
      rows.push([a.join(' '), w.toFixed(1), dk.toFixed(1), (w / dk).toFixed(2), a[0] === 'run' ? `(− docker: ${(w - dk).toFixed(1)})` : (w - base).toFixed(1)]);
    }
    rows.push(['npx wharf version', m(npx.name).toFixed(1), '', '', (m(npx.name) - base).toFixed(1)]);
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
    console.log(`\nnode -e 0: ${base.toFixed(1)} ms (median of ${ROUNDS}); medians of ${ROUNDS} rounds (npx: 5), the same wharfd for both clients`);
  } finally {
    await d.stop();
  }
}

await main();
