import { InvalidArgumentError } from '../util/index.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** Parse Docker's detach key notation (`ctrl-p,ctrl-q`, `a,ctrl-@`) into the bytes to watch for. */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) {
      out.push(k.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/.exec(k);
    if (!m) throw new InvalidArgumentError(`Invalid detach keys (${spec}) provided`);
    const c = m[1];
    if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 0x60);
    else if (c === '@') out.push(0);
    else if (c === '[') out.push(27);
    else if (c === '\\') out.push(28);
    else if (c === ']') out.push(29);
    else if (c === '^') out.push(30);
    else if (c === '_') out.push(31);
    else throw new InvalidArgumentError(`Invalid detach keys (${spec}) provided`);
  }
  return Buffer.from(out);
}

/**
 * Watches a stdin byte stream for the detach sequence. Bytes that might begin the sequence are
 * held back until it is clear they do not, so a partial sequence is never sent to the container.
 */
export class DetachScanner {
  #matched = 0;
  constructor(readonly keys: Buffer) {}

  /** Returns the bytes to forward and whether the sequence was completed. */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.#matched]) {
        this.#matched++;
        if (this.#matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      for (let i = 0; i < this.#matched; i++) out.push(this.keys[i]);
      this.#matched = 0;
      if (byte === this.keys[0]) this.#matched = 1;
      else out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
