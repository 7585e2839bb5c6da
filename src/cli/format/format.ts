import { tabulate } from './table.js';
import { compile, GO_TYPE, TemplateError, type TemplateFunc } from '../gotemplate/index.js';

/** docker's pre-processing of --format: `table`/`json` keys, outer spaces, `\t` and `\n` escapes. */
export function prepareFormat(format: string): { template: string; table: boolean } {
  let f = format;
  let table = false;
  if (f.startsWith('table')) {
    table = true;
    f = f.slice('table'.length);
  } else if (f.trim() === 'json') {
    f = '{{json .}}';
  }
  f = f.replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return { template: f, table };
}

/** In header rows docker's functions pass the header text through (templates.HeaderFunctions). */
const HEADER_FUNCS: Record<string, TemplateFunc> = Object.fromEntries(
  ['json', 'split', 'join', 'title', 'lower', 'upper', 'truncate', 'pad'].map((n) => [n, (v: unknown) => (typeof v === 'string' ? v : '')]),
);

/** A row object whose fields answer with their column header ("CONTAINER ID" for ID). */
function headerRow(headers: Record<string, string>): object {
  return new Proxy(
    {},
    {
      get: (_o, k) => {
        const h = headers[String(k)] ?? String(k).replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
        // Methods such as .Label "x" are headed by their name.
        return typeof k === 'string' && /^Label$/.test(k) ? () => h : h;
      },
      has: () => true,
    },
  );
}

/**
 * Renders rows with docker's --format rules: `table …` gets a header row and tabwriter
 * alignment, `json` is one JSON object per line, anything else is a Go template per row.
 */
export function render(format: string, rows: readonly unknown[], headers: Record<string, string> = {}): string {
  const { template, table } = prepareFormat(format);
  const t = compile(template, FORMAT_FUNCS);
  const body = rows.map((r) => t.execute(r) + '\n').join('');
  if (!table) return body;
  const head = compile(template, HEADER_FUNCS).execute(headerRow(headers));
  return tabulate(head + '\n' + body);
}

/**
 * render() for rows that come one at a time (events): the same output as render(format, [row])
 * but with the templates compiled once for the whole stream.
 */
export function formatter(format: string, headers: Record<string, string> = {}): (row: unknown) => string {
  const { template, table } = prepareFormat(format);
  const t = compile(template, FORMAT_FUNCS);
  const head = table ? compile(template, HEADER_FUNCS) : undefined;
  return (row) => {
    const line = t.execute(row) + '\n';
    return head ? tabulate(head.execute(headerRow(headers)) + '\n' + line) : line;
  };
}

/** docker's message for a template that doesn't parse or execute. */
export function templateErrorMessage(err: unknown): string | undefined {
  if (!(err instanceof TemplateError)) return undefined;
  return `failed to ${err.phase} template: ${err.message}`;
}

/** Go's json.MarshalIndent(v, "", "    "), which escapes <, > and & like encoding/json. */
export function indentJson(v: unknown): string {
  return JSON.stringify(v, null, 4).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * An object with its keys sorted, as Go marshals a map (docker's `--format json` rows); with
 * `goType`, templates treat it as that Go struct (an unknown field is an error).
 */
export function sortedKeys<T extends object>(o: T, goType?: string): T {
  const row = Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;
  if (goType) Object.defineProperty(row, GO_TYPE, { value: goType, enumerable: false });
  return Object.defineProperty(row, FORMATTER_ROW, { value: true, enumerable: false });
}

const FORMATTER_ROW = Symbol('formatter row');

const escapeHtml = (json: string) => json.replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * docker's `json` function, except that docker's formatter rows (ps, images…) marshal
 * themselves with Go's HTML escaping ("\u003cnone\u003e") and inspect data does not.
 */
const FORMAT_FUNCS: Record<string, TemplateFunc> = {
  json: (v) => {
    const text = JSON.stringify(v === undefined ? null : v);
    return v && typeof v === 'object' && FORMATTER_ROW in v ? escapeHtml(text) : text;
  },
};
