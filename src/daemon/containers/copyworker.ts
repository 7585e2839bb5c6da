/**
 * `docker cp` into a running container (its extract; a stat and an archive are done in the
 * daemon, see rootedView and archiveInRoot), done by a worker process (cmd/wharf-cp.ts) that first
 * chroots into the container's root as its processes see it (`/proc/<pid>/root`, with every
 * mount of the container's namespace: volumes, binds, tmpfs, its hosts files). From then on the
 * kernel resolves each path, `..` and symlink inside that root, so no swap of a directory for a
 * symlink by the container's processes can lead the copy outside it, and the container keeps
 * running (dockerd pauses nothing either). A stopped container has no processes to race with;
 * its copies stay in the daemon (fsops.ts).
 *
 * The protocol, over the worker's stdio: argv[2] is the job as JSON. The tar comes on stdin, and
 * the worker answers one JSON line on stdout at the end (`{"ok": true}` or `{"error": {code, message}}`).
 */
import type { Readable, Writable } from 'node:stream';
import { COPY_WORKER_PATH, enterRoot, fromWire, spawnPiped, toWire, type IdMapping, type RootView, type WireError } from '../../util/index.js';
import { extractIn, extractPoint } from '../archive.js';

export interface CopyJob {
  root: string;
  path: string;
  where: string;
  noOverwriteDirNonDir: boolean;
  owner?: { uid: number; gid: number };
  idmap?: IdMapping;
}

type Reply = { ok: true } | { error: WireError };

/** How much of the worker's stderr is kept for an error message. */
const STDERR_MAX = 4096;

/** The worker's side: enter the root, do the job, answer. Returns the process's exit code. */
export async function runCopyJob(job: CopyJob, stdin: Readable, stdout: Writable): Promise<number> {
  const reply = (r: Reply) => new Promise<void>((resolve) => stdout.write(JSON.stringify(r) + '\n', () => resolve()));
  try {
    enterRoot(job.root);
    const view: RootView = { root: '/' };
    // Read-only mounts and root need no check here: the kernel refuses the writes (EROFS); the
    // daemon gave Docker's message before it started the worker.
    const dir = await extractPoint(view, job.path, job.where, { readonlyRootfs: false, readonlyMounts: [] });
    await extractIn(view, dir, stdin, { noOverwriteDirNonDir: job.noOverwriteDirNonDir, owner: job.owner, idmap: job.idmap, readonlyRootfs: false, readonlyMounts: [] });
    await reply({ ok: true });
    return 0;
  } catch (err) {
    await reply({ error: toWire(err) });
    return 1;
  }
}

/** The daemon's side: a worker for `job`, whose stdin takes the tar. */
export interface CopyWorker {
  /** The answer, once the extract is done. */
  answer: Promise<true>;
  stdin: Writable;
  /** Resolves when the worker has exited; rejects when it failed after its answer. */
  exited: Promise<void>;
  kill(): void;
}

export function startCopyWorker(job: CopyJob): CopyWorker {
  const child = spawnPiped(process.execPath, [COPY_WORKER_PATH, JSON.stringify(job)], { fds: ['in', 'out', 'out'] });
  const [stdin, stdout, stderrPipe] = child.pipes;
  let stderr = '';
  stderrPipe.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < STDERR_MAX) stderr += s;
  });
  stderrPipe.on('error', () => {});
  stdin.on('error', () => {});
  // The exit can be reported before the last of the worker's output is read: its error text
  // is whole once stderr closed, and its answer is missing only once stdout ended.
  const stderrDone = new Promise<void>((resolve) => stderrPipe.once('close', () => resolve()));
  const closed = Promise.all([child.exited, stderrDone]).then(([x]) => x.code);
  const failed = (what: string) => new Error(`the copy worker ${what}${stderr ? `: ${stderr.trim()}` : ''}`);
  const answer = new Promise<true>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) return;
      stdout.off('data', onData);
      stdout.off('end', onEnd);
      // Nothing follows the answer; anything that does is dropped, so the pipe ends and closes.
      stdout.resume();
      let r: Reply;
      try {
        r = JSON.parse(buf.subarray(0, nl).toString('utf8')) as Reply;
      } catch {
        reject(failed('answered garbage'));
        return;
      }
      if ('ok' in r) resolve(r.ok);
      else reject(fromWire(r.error));
    };
    const onEnd = () => void stderrDone.then(() => reject(failed('exited without an answer')));
    stdout.on('data', onData);
    stdout.once('end', onEnd);
  });
  // An answer that is an error is the caller's to see; this one only reports a later failure.
  answer.catch(() => {});
  let answered = false;
  void answer.then(() => (answered = true), () => {});
  const exited = closed.then((code) => {
    if (code !== 0 && answered) throw failed(`exited with ${code}`);
  });
  exited.catch(() => {});
  return { answer, stdin, exited, kill: () => child.kill('SIGKILL') };
}

