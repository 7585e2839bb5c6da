/** `--chmod` for COPY and ADD: octal (`755`, `0644`) or symbolic (`u+x,go-w`, `a=rX`), as chmod(1) reads it. */
import { InvalidArgumentError } from '../util/index.js';

/** The permission bits (07777) a file or directory gets, from the bits it had. */
export type ModeFn = (mode: number, isDir: boolean) => number;

export function parseChmod(spec: string): ModeFn {
  if (/^[0-7]{1,4}$/.test(spec)) {
    const m = parseInt(spec, 8);
    return () => m;
  }
  const clauses = spec.split(',');
  const ops: { who: number; op: string; perm: string }[] = [];
  for (const clause of clauses) {
    const m = /^([ugoa]*)([+=-])([rwxXst]*)$/.exec(clause);
    if (!m) throw new InvalidArgumentError(`invalid chmod parameter: ${spec}`);
    let who = 0;
    for (const w of m[1]!) who |= w === 'u' ? 0o4700 : w === 'g' ? 0o2070 : w === 'o' ? 0o1007 : 0o7777;
    ops.push({ who: who || 0o7777, op: m[2]!, perm: m[3]! });
  }
  return (mode, isDir) => {
    let cur = mode & 0o7777;
    for (const { who, op, perm } of ops) {
      let bits = 0;
      for (const p of perm) {
        if (p === 'r') bits |= 0o444;
        else if (p === 'w') bits |= 0o222;
        else if (p === 'x') bits |= 0o111;
        else if (p === 'X' && (isDir || cur & 0o111)) bits |= 0o111;
        else if (p === 's') bits |= 0o6000;
        else if (p === 't') bits |= 0o1000;
      }
      bits &= who;
      if (op === '+') cur |= bits;
      else if (op === '-') cur &= ~bits;
      else cur = (cur & ~(who & 0o7777)) | bits;
    }
    return cur & 0o7777;
  };
}
