/**
 * Output of stages built in parallel, kept readable: the earliest stage still running streams
 * live, the later ones are buffered and flushed, in Dockerfile order, when their turn comes.
 */
import type { BuildOutput } from './builder.js';

type Item = { text: string } | { aux: Record<string, unknown> };

export class OrderedOutput {
  #live = 0;
  readonly #buffers: Item[][];
  readonly #done: boolean[];

  constructor(
    private readonly sink: BuildOutput,
    readonly count: number,
  ) {
    this.#buffers = Array.from({ length: count }, () => []);
    this.#done = Array.from({ length: count }, () => false);
  }

  /** The output of channel `i` (0-based, in the order the text should read). */
  channel(i: number): BuildOutput {
    return {
      stream: (text) => this.#write(i, { text }),
      aux: (value) => this.#write(i, { aux: value }),
    };
  }

  /** Channel `i` has said all it will; the next one becomes live once those before it are done. */
  finish(i: number): void {
    this.#done[i] = true;
    while (this.#live < this.count && this.#done[this.#live]) {
      this.#live++;
      if (this.#live < this.count) this.#flush(this.#live);
    }
  }

  /** After a failure: whatever is still buffered, in order, so the user sees every stage's last words. */
  flushAll(): void {
    for (let i = this.#live; i < this.count; i++) this.#flush(i);
    this.#live = this.count;
  }

  #flush(i: number): void {
    const items = this.#buffers[i];
    this.#buffers[i] = [];
    for (const item of items) this.#emit(item);
  }

  #write(i: number, item: Item): void {
    if (i === this.#live || this.#live >= this.count) this.#emit(item);
    else this.#buffers[i].push(item);
  }

  #emit(item: Item): void {
    if ('text' in item) this.sink.stream(item.text);
    else this.sink.aux(item.aux);
  }
}
