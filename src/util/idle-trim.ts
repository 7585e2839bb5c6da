import type { EventEmitter } from 'node:events';
import { mallocTrim } from './native.js';

/**
 * Gives the heap's free memory back to the system once the servers have had no new request for
 * `idleMs`, and once that long after start. glibc keeps what a burst of work freed (start-up's
 * module loading, a pull's buffers) as the process's own, in pieces too scattered for free() to
 * return, until malloc_trim asks; for the idle daemon that was 2.4 MB of its 52. A trim costs a
 * few milliseconds at most (5 ms for a 20 MB fragmented heap here), and a long stream (logs -f,
 * events) does not hold it off: only new requests do.
 */
export function trimWhenIdle(servers: EventEmitter[], idleMs = 5000, trim: () => unknown = mallocTrim): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(trim, idleMs).unref();
  };
  for (const s of servers) s.on('request', arm).on('upgrade', arm);
  arm();
}
