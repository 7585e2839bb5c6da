/** An authentication challenge of a WWW-Authenticate header (RFC 7235). */
export interface Challenge {
  /** Lower case: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names in lower case: `realm`, `service`, `scope`, `error`. */
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/**
 * Every challenge of one or more WWW-Authenticate values: `Bearer realm="https://auth/token",
 * service="registry",scope="repository:x:pull"`, also several in one value
 * (`Basic realm="r", Bearer realm="t"`). Malformed parts are skipped, not thrown.
 */
export function parseChallenges(values: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values === undefined ? [] : Array.isArray(values) ? values : [values]) {
    let s = value;
    let current: Challenge | undefined;
    for (let guard = 0; s.length > 0 && guard < 1000; guard++) {
      s = s.replace(/^[\s,]+/, '');
      const tok = TOKEN.exec(s);
      if (!tok) break;
      const word = tok[0];
      const after = s.slice(word.length);
      const eq = /^\s*=\s*/.exec(after);
      if (eq && current) {
        s = after.slice(eq[0].length);
        let v: string;
        if (s.startsWith('"')) {
          let i = 1;
          v = '';
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            v += s[i++];
          }
          s = s.slice(i + 1);
        } else {
          const m = /^[^\s,]*/.exec(s)!;
          v = m[0];
          s = s.slice(v.length);
        }
        current.params[word.toLowerCase()] = v;
        continue;
      }
      if (eq) {
        // A parameter before any scheme: skip it.
        s = after.slice(eq[0].length).replace(/^"(?:[^"\\]|\\.)*"|^[^\s,]*/, '');
        continue;
      }
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      s = after;
    }
  }
  return out;
}

/** The `rel="next"` target of a Link header (tags/list, _catalog pagination), resolved against `base`. */
export function nextLink(link: string | string[] | undefined, base: URL): URL | undefined {
  for (const value of link === undefined ? [] : Array.isArray(link) ? link : [link]) {
    for (const m of value.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]*)*)/g)) {
      const rels = /;\s*rel\s*=\s*"?([^";,]*)"?/i.exec(m[2]);
      if (rels && rels[1].split(/\s+/).includes('next')) {
        try {
          return new URL(m[1], base);
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}
