/*
 * A live view of a classic build on a terminal, in the look of BuildKit's: a header with the
 * elapsed time and steps done, each finished step on one line, the running step's last lines of
 * output. It is read from the classic builder's own stream (`Step N/M : …`, ` ---> Using cache`,
 * ` ---> <id>`), so the daemon needs no other protocol.
 */

export interface Terminal {
  write(s: string): unknown;
  columns?: number;
}

export interface BuildViewOptions {
  columns?: number;
  /** Milliseconds; tests pass a fake clock. */
  now?: () => number;
  /** Redraw period; 0 draws only when asked (tests call render()). */
  intervalMs?: number;
  /** How many of the running step's last output lines are shown. */
  tailLines?: number;
}

interface Step {
  title: string;
  start: number;
  end?: number;
  cached: boolean;
  error: boolean;
  output: string[];
}

const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
const DONE = /^ ---> ([0-9a-f]{12,64})$/;
const HIDDEN = /^( ---> Running in [0-9a-f]+|Removing intermediate container [0-9a-f]+| ---> Using cache)$/;
const FOOTER = /^Successfully (built|tagged) /;

export class BuildView {
  readonly #out: Terminal;
  readonly #now: () => number;
  readonly #columns: number;
  readonly #tail: number;
  readonly #start: number;
  #timer?: ReturnType<typeof setInterval>;
  #steps: Step[] = [];
  #total = 0;
  /** Lines before the first step (pull progress, the context's size) and after the last (the summary). */
  #preamble: string[] = [];
  #footer: string[] = [];
  #partial = '';
  #drawn = 0;
  #finished = false;
  #contextLine?: string;

  constructor(out: Terminal, opts: BuildViewOptions = {}) {
    this.#out = out;
    this.#now = opts.now ?? Date.now;
    // A pseudo-terminal nobody sized reports 0 columns: treat it as the usual 80.
    this.#columns = Math.max(20, opts.columns || out.columns || 80);
    this.#tail = opts.tailLines ?? 6;
    this.#start = this.#now();
    const every = opts.intervalMs ?? 100;
    if (every > 0) {
      this.#timer = setInterval(() => this.render(), every);
      this.#timer.unref?.();
    }
  }

  /** The upload's size, shown as the first finished line. */
  context(line: string): void {
    this.#contextLine = line.replace(/^Sending build context to Docker daemon\s+/, 'transferring context: ');
  }

  /** Text of the classic stream, in any chunks. */
  write(text: string): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const l of lines) this.#line(l.replace(/\r$/, ''));
  }

  #line(l: string): void {
    const current = this.#steps[this.#steps.length - 1];
    const step = STEP.exec(l);
    if (step) {
      this.#closeCurrent();
      this.#total = Number(step[2]);
      this.#steps.push({ title: `[${step[1]}/${step[2]}] ${step[3]}`, start: this.#now(), cached: false, error: false, output: [] });
      return;
    }
    if (FOOTER.test(l)) {
      this.#closeCurrent();
      this.#footer.push(l);
      return;
    }
    if (current && !current.end) {
      if (l === ' ---> Using cache') current.cached = true;
      else if (DONE.test(l)) current.end = this.#now();
      else if (!HIDDEN.test(l)) current.output.push(l);
      return;
    }
    if (HIDDEN.test(l) || DONE.test(l)) return;
    if (current) current.output.push(l);
    else this.#preamble.push(l);
  }

  #closeCurrent(): void {
    const c = this.#steps[this.#steps.length - 1];
    if (c && c.end === undefined) c.end = this.#now();
  }

  /** The frame as lines, each at most the terminal's width. */
  frame(): string[] {
    const now = this.#now();
    const done = this.#steps.filter((s) => s.end !== undefined).length;
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    const head = `[+] Building ${secs(now - this.#start)} (${done}/${Math.max(this.#total, this.#steps.length)})${this.#finished ? ' FINISHED' : ''}`;
    const lines = [head];
    const row = (label: string, time: string) => this.#fit(` => ${label}`, time);
    if (this.#contextLine) lines.push(row(this.#contextLine, '0.0s'));
    for (const p of this.#preamble.slice(-this.#tail)) if (!this.#steps.length && !this.#finished) lines.push(this.#cut(` => => # ${p}`));
    for (const s of this.#steps) {
      const label = `${s.error ? 'ERROR ' : s.cached ? 'CACHED ' : ''}${s.title}`;
      lines.push(row(label, secs((s.end ?? now) - s.start)));
      if (s.end === undefined && !this.#finished) for (const o of s.output.slice(-this.#tail)) lines.push(this.#cut(` => => # ${o}`));
    }
    return lines;
  }

  /** A label and a right-aligned time on one line of the terminal's width. */
  #fit(label: string, time: string): string {
    const room = this.#columns - time.length - 1;
    const l = label.length > room ? `${label.slice(0, Math.max(0, room - 3))}...` : label;
    return `${l.padEnd(room)} ${time}`;
  }

  #cut(s: string): string {
    return s.length > this.#columns ? s.slice(0, this.#columns) : s;
  }

  /** Redraws in place: up over the last frame, each line cleared to its end. */
  render(): void {
    const lines = this.frame();
    let s = this.#drawn ? `\x1b[${this.#drawn}A\r` : '';
    for (const l of lines) s += `${l}\x1b[K\n`;
    // A frame shorter than the last (a step's output folded away) clears what is left below.
    if (lines.length < this.#drawn) s += '\x1b[J';
    this.#out.write(s);
    this.#drawn = lines.length;
  }

  /** Stops redrawing without a last frame (the request failed before any output). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The last frame, every step folded, then docker's summary lines. */
  finish(): void {
    this.stop();
    if (this.#partial) this.write('\n');
    this.#closeCurrent();
    this.#finished = true;
    this.render();
    this.#out.write(this.#footer.map((l) => `${l}\n`).join(''));
  }

  /** The last frame with the failing step marked, then its whole output and the error, as BuildKit shows them. */
  fail(message: string): void {
    this.stop();
    if (this.#partial) this.write('\n');
    const failing = this.#steps[this.#steps.length - 1];
    if (failing && failing.end === undefined) {
      failing.error = true;
      failing.end = this.#now();
    }
    this.#finished = true;
    this.render();
    if (failing?.error) {
      const body = failing.output.map((l) => `${l}\n`).join('');
      this.#out.write(`------\n > ${failing.title}:\n${body}------\n`);
    }
    void message;
  }
}
