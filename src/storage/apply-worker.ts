import { existsSync } from 'node:fs';
import { Readable, finished } from 'node:stream';
import { Worker, type MessagePort } from 'node:worker_threads';
import { LAYER_WORKER_PATH, assembleTar, fromWire, mallocTrim, rebuildTar, syncFiles, toWire, type IdMapping, type WireError } from '../util/index.js';
import { applyLayer, type ApplyResult } from './apply.js';

/**
 * Layers extracted on worker threads. An extraction is a few system calls per file, made
 * synchronously (util/untar.ts says why); on the daemon's own thread they queue behind each
 * other and behind the pull's network, hashing and gunzip, and the API waits meanwhile. A worker
 * per extraction runs them beside all that, on the other cores. The tar's bytes still arrive on
 * the daemon's thread (from the download, gunzipped there on the thread pool) and are handed
 * over in order, at most WINDOW of them ahead of what the worker's extraction has taken.
 */

type ToWorker =
  | { type: 'start'; root: string; idmap?: IdMapping }
  | { type: 'chunk'; data: Uint8Array }
  | { type: 'end' }
  | { type: 'abort'; message: string }
  | { type: 'rebuild'; split: string; dir: string; digest: string }
  | { type: 'read'; bytes: number };
type FromWorker = { type: 'took'; bytes: number } | { type: 'done'; result: ApplyResult } | { type: 'failed'; error: WireError } | { type: 'tar'; data: Uint8Array } | { type: 'rebuilt' };

const WINDOW = 8 * 1024 * 1024;
/** An idle worker is kept this long for the next layer of the same pull or load, then ended. */
const IDLE_MS = 5000;

// No cap of its own: the image store already bounds how many layers extract at once, and a cap
// below that would leave a layer that waits for its bytes holding a worker another one needs.
const idle: { worker: Worker; timer: NodeJS.Timeout }[] = [];
let alive = 0;

function acquire(): Worker {
  const kept = idle.pop();
  if (kept) {
    clearTimeout(kept.timer);
    return kept.worker;
  }
  const w = new Worker(LAYER_WORKER_PATH);
  alive++;
  // A worker only works while a job holds it; an idle one must not keep the daemon alive.
  w.unref();
  // A job's own watch reports a death during it; between jobs the exit below is enough.
  w.on('error', () => {});
  w.once('exit', () => {
    alive--;
    // One that dies while idle must not be handed out again (a job's own watch covers the rest).
    const i = idle.findIndex((e) => e.worker === w);
    if (i >= 0) {
      clearTimeout(idle[i]!.timer);
      idle.splice(i, 1);
    }
    // The last one gone: what the extractions freed in their threads' arenas is returned.
    if (alive === 0) mallocTrim();
  });
  return w;
}

function release(w: Worker): void {
  const entry = {
    worker: w,
    timer: setTimeout(() => {
      idle.splice(idle.indexOf(entry), 1);
      void w.terminate();
    }, IDLE_MS).unref(),
  };
  idle.push(entry);
}

/**
 * applyLayer on a worker thread; in a build without the worker's bundle (plain tsc), here.
 * Settles only once the worker has stopped writing into `root`, so the caller may remove it.
 */
export async function applyLayerOffThread(tar: Readable, root: string, idmap?: IdMapping): Promise<ApplyResult> {
  if (!existsSync(LAYER_WORKER_PATH)) return applyLayer(tar, root, idmap);
  const w = acquire();
  return new Promise<ApplyResult>((resolve, reject) => {
    let sent = 0;
    let taken = 0;
    let sourceError: Error | undefined;
    const send = (m: ToWorker, transfer?: ArrayBuffer[]) => w.postMessage(m, transfer);
    const onData = (b: Buffer) => {
      // A copy of just these bytes: the chunk may be a view into a buffer its producer reuses.
      const data = new Uint8Array(b);
      sent += data.length;
      send({ type: 'chunk', data }, [data.buffer as ArrayBuffer]);
      if (sent - taken > WINDOW) tar.pause();
    };
    const onEnd = () => send({ type: 'end' });
    const onError = (err: Error) => {
      if (sourceError) return;
      sourceError = err;
      send({ type: 'abort', message: err.message });
    };
    // finished() also reports a tar destroyed before it got here (its consumer made a directory
    // first, and the download failed meanwhile), or destroyed without an error: no end comes then.
    const unwatch = finished(tar, { writable: false }, (err) => (err ? onError(err) : onEnd()));
    const finish = () => {
      tar.off('data', onData);
      unwatch();
      // Whatever the source still reports is no one's business now; unheard, it would be uncaught.
      tar.on('error', () => {});
      w.off('message', onMessage).off('error', onDeath).off('exit', onDeath);
    };
    const onMessage = (m: FromWorker) => {
      switch (m.type) {
        case 'took':
          taken += m.bytes;
          if (tar.isPaused() && sent - taken <= WINDOW / 2) tar.resume();
          return;
        case 'done':
          finish();
          release(w);
          return sourceError ? reject(sourceError) : resolve(m.result);
        case 'failed':
          finish();
          release(w);
          tar.destroy();
          return reject(sourceError ?? fromWire(m.error));
      }
    };
    const onDeath = (err: unknown) => {
      finish();
      tar.destroy();
      reject(sourceError ?? new Error(`the layer worker ended mid-extraction into ${root}: ${err instanceof Error ? err.message : `exit code ${String(err)}`}`));
    };
    tar.on('data', onData);
    w.on('message', onMessage).on('error', onDeath).on('exit', onDeath);
    send({ type: 'start', root, idmap });
  });
}

/**
 * Small layers are rebuilt on the daemon's thread: for them a worker's start (30-50 ms) costs
 * more than the reads and the hash it takes off the thread. What the daemon's thread pays is
 * per file (its reads wait on the thread pool), so both the tar's size and its headers count:
 * saving an image of a 2 MB file and 200 small ones took 36 ms in place and 49 ms through a
 * worker, one of 3000 files of 4 KiB (a warm cache) 310 ms in place and 190 ms through a worker.
 */
const REBUILD_IN_PLACE_MAX = 16 * 1024 * 1024;
/** Tar bytes beyond the content (headers and padding, some 768 per entry): some 700 entries. */
const REBUILD_IN_PLACE_OVERHEAD_MAX = 512 * 1024;

/**
 * assembleTar on a worker thread, with synchronous reads there: on the daemon's thread each file
 * is a few jobs on the thread pool, where a push's gzip keeps them waiting, and the hash of the
 * whole tar is the daemon's CPU. At most WINDOW bytes come ahead of what the reader has read.
 * `size`: the tar's bytes and the content's (the layer's size); a small layer is rebuilt in place.
 */
export function rebuildTarOffThread(split: string, dir: string, digest: string, size: { tar: number; content: number }): Readable {
  const small = size.tar <= REBUILD_IN_PLACE_MAX && size.tar - size.content <= REBUILD_IN_PLACE_OVERHEAD_MAX;
  if (small || !existsSync(LAYER_WORKER_PATH)) return assembleTar(split, dir, digest);
  const w = acquire();
  let unread = 0;
  let over = false;
  const finish = () => {
    over = true;
    w.off('message', onMessage).off('error', onDeath).off('exit', onDeath);
  };
  const out = new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      if (unread && !over) w.postMessage({ type: 'read', bytes: unread } satisfies ToWorker);
      unread = 0;
    },
    destroy(err, cb) {
      // The worker goes back to the pool once it has stopped; told to, it stops at its next chunk.
      if (!over) w.postMessage({ type: 'abort', message: 'the reader went away' } satisfies ToWorker);
      cb(err);
    },
  });
  const onMessage = (m: FromWorker) => {
    switch (m.type) {
      case 'tar':
        // Acknowledged once the stream asks for more (read above), so the reader paces the worker.
        unread += m.data.byteLength;
        out.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
        return;
      case 'rebuilt':
        finish();
        release(w);
        out.push(null);
        return;
      case 'failed':
        finish();
        release(w);
        out.destroy(fromWire(m.error));
        return;
    }
  };
  const onDeath = (err: unknown) => {
    finish();
    out.destroy(new Error(`the layer worker ended while it rebuilt the tar of ${dir}: ${err instanceof Error ? err.message : `exit code ${String(err)}`}`));
  };
  w.on('message', onMessage).on('error', onDeath).on('exit', onDeath);
  w.postMessage({ type: 'rebuild', split, dir, digest } satisfies ToWorker);
  return out;
}

/** The worker's side of a rebuild: chunks out while the reader keeps up. */
async function serveRebuild(port: MessagePort, m: { split: string; dir: string; digest: string }, flow: { ahead: number; wake?: () => void; aborted?: string }): Promise<void> {
  try {
    for await (const b of rebuildTar(m.split, m.dir, m.digest, syncFiles(m.dir))) {
      if (flow.aborted) throw new Error(flow.aborted);
      // Its own copy to hand over: a chunk may share its memory with others (Buffer's pool).
      const data = new Uint8Array(b);
      flow.ahead += data.byteLength;
      port.postMessage({ type: 'tar', data } satisfies FromWorker, [data.buffer as ArrayBuffer]);
      while (flow.ahead > WINDOW && !flow.aborted) await new Promise<void>((resolve) => (flow.wake = resolve));
    }
    port.postMessage({ type: 'rebuilt' } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ type: 'failed', error: toWire(err) } satisfies FromWorker);
  }
}

/** The worker's side (cmd/wharf-layer.ts): one extraction or rebuild at a time, as the daemon sends them. */
export function serveLayerJobs(port: MessagePort): void {
  let job: { tar: Readable; queue: Uint8Array[]; ended: boolean; wanting: boolean } | undefined;
  let flow: { ahead: number; wake?: () => void; aborted?: string } | undefined;
  // Feeds the extraction one chunk per read and says what it took, so the sender's window moves.
  const feed = () => {
    const j = job!;
    const data = j.queue.shift();
    if (data) {
      j.wanting = false;
      j.tar.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      port.postMessage({ type: 'took', bytes: data.byteLength } satisfies FromWorker);
    } else if (j.ended) j.tar.push(null);
    else j.wanting = true;
  };
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'start': {
        flow = undefined;
        const tar = new Readable({ read: () => feed() });
        job = { tar, queue: [], ended: false, wanting: false };
        applyLayer(tar, m.root, m.idmap).then(
          (result) => port.postMessage({ type: 'done', result } satisfies FromWorker),
          (err: unknown) => port.postMessage({ type: 'failed', error: toWire(err) } satisfies FromWorker),
        );
        return;
      }
      case 'chunk':
        job!.queue.push(m.data);
        if (job!.wanting) feed();
        return;
      case 'end':
        job!.ended = true;
        if (job!.wanting) feed();
        return;
      case 'abort':
        if (flow) {
          flow.aborted = m.message;
          flow.wake?.();
        }
        job?.tar.destroy(new Error(m.message));
        return;
      case 'rebuild':
        flow = { ahead: 0 };
        job = undefined;
        void serveRebuild(port, m, flow);
        return;
      case 'read':
        if (!flow) return;
        flow.ahead -= m.bytes;
        if (flow.ahead <= WINDOW) flow.wake?.();
        return;
    }
  });
}
