import type { ProgressMessage } from '../../types/index.js';
import { formatGoDuration } from '../../util/index.js';
import { humanSize } from './human.js';

/*
 * The daemon's JSON progress stream (pull, push, load, import) drawn as docker's CLI draws it
 * (moby's pkg/jsonmessage): on a terminal one line per layer id, rewritten in place with cursor
 * moves and a progress bar when the terminal is wide enough; elsewhere only the lines that are
 * not progress ("abc: Pull complete"), so logs stay readable.
 */

/** A message of the stream with the fields of jsonmessage that ProgressMessage leaves out. */
export interface JsonMessage extends ProgressMessage {
  progressDetail?: { current?: number; total?: number; start?: number; hidecounts?: boolean; units?: string };
  from?: string;
  time?: number;
  timeNano?: number;
}

/** An error the daemon reported inside the stream (the HTTP status was 200 by then). */
export class StreamError extends Error {
  override readonly name = 'StreamError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface RenderOptions {
  /** Draw for a terminal: cursor moves, progress bars. */
  tty: boolean;
  /** The terminal's width; docker shows bars above 110 columns and time left above 50. */
  width?: number;
  /** Milliseconds since the epoch, for the time left; Date.now by default. */
  now?: () => number;
  /** Messages with `aux` (push's digest, build's image ID) go here, not to the output. */
  onAux?: (m: JsonMessage) => void;
}

const ESC = '\x1b[';
const up = (n: number) => (n ? `${ESC}${n}A` : '');
const down = (n: number) => (n ? `${ESC}${n}B` : '');
const CLEAR_LINE = `${ESC}2K`;

/** JSONProgress.String(): `[=====>    ] 1.2MB/3.4MB 5s`, parts dropped as the width shrinks. */
export function progressText(p: NonNullable<JsonMessage['progressDetail']>, width: number, nowMs: number): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return p.units ? `${current} ${p.units}` : humanSize(current, 4).padStart(8);
  const percentage = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  let bar = '';
  if (width > 110) bar = `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] `;
  let numbers = '';
  if (p.hidecounts) numbers = '';
  else if (!p.units) numbers = current > total ? humanSize(current, 4).padStart(8) : `${humanSize(current, 4).padStart(8)}/${humanSize(total, 4)}`;
  else numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
  let left = '';
  if (width > 50 && current > 0 && (p.start ?? 0) > 0 && percentage < 50) {
    // Go's integer Durations: nanoseconds per unit, truncated, then rounded to the second.
    const perEntry = Math.trunc((nowMs * 1e6 - p.start! * 1e9) / current);
    const ns = (total - current) * perEntry;
    left = ` ${formatGoDuration(Math.round(ns / 1e9) * 1e9)}`;
  }
  return bar + numbers + left;
}

/** Go's RFC3339NanoFixed in UTC, the prefix of a message with a time. */
function fixedTime(ns: number): string {
  const iso = new Date(Math.floor(ns / 1e6)).toISOString();
  return `${iso.slice(0, 19)}.${String(Math.floor(ns % 1e9)).padStart(9, '0')}Z`;
}

/**
 * Renders one stream: `write` each message as it arrives. The line of each layer id that showed
 * progress is remembered, so a later message for it rewrites that line; any other message
 * forgets them (a new operation, such as the next tag of `pull -a`, starts below).
 */
export class JsonMessageRenderer {
  readonly #out: { write(s: string): unknown };
  readonly #opts: RenderOptions;
  #ids = new Map<string, number>();

  constructor(out: { write(s: string): unknown }, opts: RenderOptions) {
    this.#out = out;
    this.#opts = opts;
  }

  /** Draws `m`; throws StreamError when it carries the daemon's error. */
  write(m: JsonMessage): void {
    if (m.aux !== undefined && m.aux !== null) {
      this.#opts.onAux?.(m);
      return;
    }
    const tty = this.#opts.tty;
    let diff = 0;
    if (m.id && (m.progressDetail || m.progress)) {
      let line = this.#ids.get(m.id);
      if (line === undefined) {
        line = this.#ids.size;
        this.#ids.set(m.id, line);
        if (tty) this.#out.write('\n');
      }
      diff = this.#ids.size - line;
      if (tty) this.#out.write(up(diff));
    } else {
      this.#ids = new Map();
    }
    try {
      this.#display(m);
    } finally {
      if (m.id && tty) this.#out.write(down(diff));
    }
  }

  #display(m: JsonMessage): void {
    const error = m.errorDetail?.message ?? m.error;
    if (error !== undefined) throw new StreamError(error, m.errorDetail?.code);
    const tty = this.#opts.tty;
    const width = this.#opts.width ?? 200;
    const now = (this.#opts.now ?? Date.now)();
    const progress = m.progressDetail ? progressText(m.progressDetail, width, now) : '';
    let endl = '';
    if (tty && !m.stream && m.progressDetail) {
      endl = '\r';
      this.#out.write(`${CLEAR_LINE}${endl}`);
    } else if (m.progressDetail && progress) {
      // A progress update has nothing to say in a log.
      return;
    }
    let text = '';
    if (m.timeNano) text += `${fixedTime(m.timeNano)} `;
    else if (m.time) text += `${fixedTime(m.time * 1e9)} `;
    if (m.id) text += `${m.id}: `;
    if (m.from) text += `(from ${m.from}) `;
    const status = m.status ?? '';
    if (m.progressDetail && tty) text += `${status} ${progress}${endl}`;
    else if (m.progress) text += `${status} ${m.progress}${endl}`;
    else if (m.stream) text += `${m.stream}${endl}`;
    else text += `${status}${endl}\n`;
    this.#out.write(text);
  }
}

/** The options for drawing on `out`: a terminal (with its width) or not. */
export function renderOptionsFor(out: { isTTY?: boolean; columns?: number }, extra: Partial<RenderOptions> = {}): RenderOptions {
  return { tty: Boolean(out.isTTY), width: out.isTTY ? out.columns || 80 : 200, ...extra };
}

/**
 * Draws a whole stream (newline-delimited JSON, as the API sends it) on `out`; rejects with
 * StreamError when the daemon reports an error in it, as docker stops at the first one.
 */
export async function displayJsonMessages(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, out: { write(s: string): unknown }, opts: RenderOptions): Promise<void> {
  const r = new JsonMessageRenderer(out, opts);
  let rest = '';
  const take = (line: string) => {
    if (!line.trim()) return;
    let m: JsonMessage;
    try {
      m = JSON.parse(line) as JsonMessage;
    } catch (err) {
      throw new Error(`invalid JSON in the daemon's progress stream: ${(err as Error).message}`, { cause: err });
    }
    r.write(m);
  };
  for await (const chunk of input) {
    rest += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      take(line);
    }
  }
  take(rest);
}
