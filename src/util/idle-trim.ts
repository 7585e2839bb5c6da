import type { EventEmitter } from 'node:events';
import { lowMemoryNotification, mallocTrim } from './native.js';

/** What a collection that compacts the heap left free in malloc, given back to the system too. */
export function releaseIdleMemory(): void {
  lowMemoryNotification();
  mallocTrim();
}

export interface IdleTrimTimes {
  /** How long after the last new request. */
  idleMs?: number;
  /** How long after start. */
  afterStartMs?: number;
}

/**
 * Gives memory back to the system soon after start, and again once the servers have had no new
 * request for `idleMs`. A burst of work (start-up's module loading and default image, a pull's
 * buffers) leaves garbage that V8's own memory reducer collects only after 8 s of idling, and
 * glibc keeps what was freed, in pieces too scattered for free() to return, until malloc_trim
 * asks. For a new daemon that is 4-5 MB of its 54. The release blocks the daemon's thread for
 * some 30 ms. The one after start does not wait for quiet: clients that poll for a new daemon
 * (`_ping` until it answers) would hold it off, and it comes once. Later ones wait for a quiet
 * spell; a long stream (logs -f, events) does not hold them off: only new requests do.
 */
export function trimWhenIdle(servers: EventEmitter[], times: IdleTrimTimes = {}, release: () => unknown = releaseIdleMemory): void {
  const { idleMs = 5000, afterStartMs = 500 } = times;
  setTimeout(release, afterStartMs).unref();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(release, idleMs).unref();
  };
  for (const s of servers) s.on('request', arm).on('upgrade', arm);
}
