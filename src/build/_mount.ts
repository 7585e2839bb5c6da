/**
 * `RUN --mount=...` values, read as BuildKit's instructions/commands_runmount.go reads them.
 * The parser reads them with an identity expander (values stay unexpanded, options are checked);
 * the builder may read `raw.flags` again with its own expander once ARG and ENV values are known.
 */
import type { RunMount } from './instructions.js';
import { SyntaxProblem, withSuggestion } from './_syntax.js';

const mountTypes = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
const sharingModes = ['shared', 'private', 'locked'];

/** One CSV record as Go's encoding/csv reads it: `"a,b"` quotes a field, `""` is a quote in one. */
function csvFields(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new SyntaxProblem('failed to parse csv mounts: extraneous or missing " in quoted-field');
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i++];
      }
      if (i < s.length && s[i] !== ',') throw new SyntaxProblem('failed to parse csv mounts: extraneous or missing " in quoted-field');
    } else {
      while (i < s.length && s[i] !== ',') {
        if (s[i] === '"') throw new SyntaxProblem('failed to parse csv mounts: bare " in non-quoted-field');
        field += s[i++];
      }
    }
    out.push(field);
    if (i >= s.length) return out;
    i++;
  }
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** docker/go-units RAMInBytes: `64m`, `1.5GiB`, `100` (binary multiples). */
function ramInBytes(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/u.exec(v);
  if (!m) return undefined;
  const mult = { k: 1, m: 2, g: 3, t: 4, p: 5 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 0;
  return Math.floor(Number(m[1]) * 1024 ** mult);
}

function parseUint(v: string, base: 8 | 10): number | undefined {
  const re = base === 8 ? /^[0-7]+$/u : /^[0-9]+$/u;
  if (!re.test(v)) return undefined;
  const n = parseInt(v, base);
  return n <= 0xffffffff ? n : undefined;
}

/** Reads one `--mount` value. Throws SyntaxProblem with BuildKit's texts. */
export function parseRunMount(spec: string, expand: (value: string) => string): RunMount {
  const m: RunMount = { type: 'bind', readonly: false };
  let roAuto = true;
  let sharing: string | undefined;
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        m.readonly = true;
        roAuto = false;
      } else if (key === 'readwrite' || key === 'rw') {
        m.readonly = false;
        roAuto = false;
      } else if (key === 'required') {
        if (m.type !== 'secret' && m.type !== 'ssh') throw new SyntaxProblem(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = true;
      } else {
        throw new SyntaxProblem(`invalid field '${field}' must be a key=value pair`);
      }
      continue;
    }
    const value = expand(field.slice(eq + 1));
    const boolOf = (): boolean => {
      const b = parseBool(value);
      if (b === undefined) throw new SyntaxProblem(`invalid value for ${key}: ${value}`);
      return b;
    };
    switch (key) {
      case 'type': {
        const t = value.toLowerCase();
        if (!(mountTypes as readonly string[]).includes(t)) throw new SyntaxProblem(withSuggestion(`unsupported mount type ${JSON.stringify(value)}`, value, [...mountTypes], true));
        m.type = t as RunMount['type'];
        break;
      }
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro':
        m.readonly = boolOf();
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        m.readonly = !boolOf();
        roAuto = false;
        break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new SyntaxProblem(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = boolOf();
        break;
      case 'size': {
        if (m.type !== 'tmpfs') throw new SyntaxProblem(`unexpected key '${key}' for mount type '${m.type}'`);
        const n = ramInBytes(value);
        if (n === undefined) throw new SyntaxProblem(`invalid value for ${key}: ${value}`);
        m.size = n;
        break;
      }
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        const v = value.toLowerCase();
        if (!sharingModes.includes(v)) throw new SyntaxProblem(withSuggestion(`unsupported sharing value ${JSON.stringify(value)}`, value, sharingModes, true));
        sharing = v;
        m.sharing = v;
        break;
      }
      case 'mode': {
        const n = parseUint(value, 8);
        if (n === undefined) throw new SyntaxProblem(`invalid value ${value} for mode`);
        m.mode = n;
        break;
      }
      case 'uid':
      case 'gid': {
        const n = parseUint(value, 10);
        if (n === undefined) throw new SyntaxProblem(`invalid value ${value} for ${key}`);
        m[key] = n;
        break;
      }
      case 'env':
        m.env = value;
        break;
      default:
        throw new SyntaxProblem(
          withSuggestion(`unexpected key '${key}' in '${field}'`, key, ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env'], true),
        );
    }
  }
  if (m.type !== 'secret' && m.type !== 'ssh' && m.type !== 'cache') {
    for (const k of ['mode', 'uid', 'gid'] as const) {
      if (m[k] !== undefined) throw new SyntaxProblem(`${k} not allowed for ${JSON.stringify(m.type)} type mounts`);
    }
  }
  // Bind, secret and ssh mounts are read-only unless asked; cache and tmpfs are writable.
  if (roAuto) m.readonly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== undefined && m.from !== '') throw new SyntaxProblem('secret mount should not have a from');
    if (sharing) throw new SyntaxProblem('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw new SyntaxProblem('invalid secret mount. one of source, target required');
    if (m.source && m.id) throw new SyntaxProblem("both source and id can't be set");
  }
  if (sharing && m.type !== 'cache') throw new SyntaxProblem(`invalid cache sharing set for ${m.type} mount`);
  return m;
}
