import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, isErrno, resolveInRoot } from '../util/index.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

async function readEtc(rootfs: string, name: string): Promise<string[][]> {
  try {
    const text = await readFile(await resolveInRoot(rootfs, `/etc/${name}`), 'utf8');
    return text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return [];
    throw err;
  }
}

const NUMERIC = /^\d+$/;

/**
 * Resolve Docker's `--user` forms (`name`, `uid`, `name:group`, `uid:gid`) against the container's
 * own /etc/passwd and /etc/group, and add the supplementary groups the user belongs to, as runc would.
 */
export async function resolveUser(rootfs: string, spec: string, groupAdd: string[] = []): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = await readEtc(rootfs, 'passwd');
  const groups = await readEtc(rootfs, 'group');
  let uid = 0;
  let gid = 0;
  let name = 'root';
  let home = '/root';
  if (userPart !== '') {
    const entry = passwd.find((p) => p[0] === userPart) ?? (NUMERIC.test(userPart) ? passwd.find((p) => p[2] === userPart) : undefined);
    if (entry) {
      name = entry[0];
      uid = Number(entry[2]);
      gid = Number(entry[3]);
      home = entry[5] || '/';
    } else if (NUMERIC.test(userPart)) {
      uid = Number(userPart);
      name = '';
      home = '/';
    } else {
      throw new InvalidArgumentError(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
  } else {
    const root = passwd.find((p) => p[2] === '0');
    if (root) home = root[5] || '/root';
  }
  if (groupPart !== undefined && groupPart !== '') gid = lookupGroup(groups, groupPart);
  const additional = new Set<number>();
  if (name !== '') {
    for (const g of groups) {
      if ((g[3] ?? '').split(',').includes(name)) additional.add(Number(g[2]));
    }
  }
  for (const g of groupAdd) additional.add(lookupGroup(groups, g));
  // Docker puts the primary group in the supplementary list too: getgroups() is never empty and
  // `id` prints `groups=0(root)`, which scripts and tests compare against.
  additional.add(gid);
  return { uid, gid, additionalGids: [...additional].sort((a, b) => a - b), home };
}

function lookupGroup(groups: string[][], g: string): number {
  const entry = groups.find((e) => e[0] === g);
  if (entry) return Number(entry[2]);
  if (NUMERIC.test(g)) return Number(g);
  throw new InvalidArgumentError(`unable to find group ${g}: no matching entries in group file`);
}
