import type { AttachSession } from '../runtime/index.js';
import type { DetachScanner } from './detachkeys.js';
import type { Readable } from 'node:stream';

export interface AttachIO {
  write(stream: 'stdout' | 'stderr', data: Buffer): void;
  stdin?: Readable;
  /** Resolves when the client went away. */
  clientGone: Promise<void>;
}

/**
 * Copy a process's output to a client and the client's input to the process until the output
 * ends, the client goes away, or the client types the detach keys. The process is never affected.
 */
export function pump(
  session: AttachSession,
  want: { stdout: boolean; stderr: boolean },
  io: AttachIO,
  scanner: DetachScanner | undefined,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let open = 2;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      session.close();
      resolve();
    };
    const onEnd = () => {
      if (--open === 0) done();
    };
    session.stdout.on('data', (b: Buffer) => want.stdout && io.write('stdout', b));
    session.stderr.on('data', (b: Buffer) => want.stderr && io.write('stderr', b));
    session.stdout.once('end', onEnd).once('error', onEnd);
    session.stderr.once('end', onEnd).once('error', onEnd);
    void io.clientGone.then(done);
    const stdin = io.stdin;
    const target = session.stdin;
    if (stdin && target && scanner) {
      target.on('error', () => {});
      stdin.on('data', (chunk: Buffer) => {
        const { forward, detach } = scanner.feed(chunk);
        if (forward.length) target.write(forward);
        if (detach) done();
      });
      // A client whose input was empty may have half-closed before the process started.
      if (stdin.readableEnded) target.end();
      else stdin.once('end', () => target.end());
      // A 'data' listener starts only a stream nobody paused; the request reader pauses the
      // socket when an upgrade's body came in a packet of its own.
      stdin.resume();
    }
  });
}
