/**
 * dockerd's `--userns-remap`: containers' root is an unprivileged range of host IDs, the
 * subordinate IDs /etc/subuid and /etc/subgid grant a user. This file resolves the option to its
 * ranges, in dockerd's words, and makes `dockremap` for `default` as dockerd does.
 */
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidArgumentError, isErrno, rootPair, run, type IdMapping, type IdRange, type Logger } from '../util/index.js';

export const DEFAULT_REMAP_USER = 'dockremap';
const RANGE_START = 100000;
const RANGE_SIZE = 65536;

/** Where the host's accounts are read; tests point them at files of their own. */
export interface AccountFiles {
  passwd: string;
  group: string;
  subuid: string;
  subgid: string;
}

const HOST_FILES: AccountFiles = { passwd: '/etc/passwd', group: '/etc/group', subuid: '/etc/subuid', subgid: '/etc/subgid' };

export interface RemappedRoot {
  /** `user:group`, as `info` names it. */
  user: string;
  group: string;
  idmap: IdMapping;
}

interface Account {
  name: string;
  id: number;
}

async function lines(path: string): Promise<string[][]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** An /etc/passwd or /etc/group entry by name or number (`passwd` files hold the uid in field 3, `group` the gid). */
async function lookup(path: string, key: string | number): Promise<Account | undefined> {
  for (const f of await lines(path)) {
    const entry = { name: f[0]!, id: Number(f[2]) };
    if (typeof key === 'number' ? entry.id === key : entry.name === key) return entry;
  }
  return undefined;
}

/** A user's subordinate ranges, in the file's order, numbered from 0 inside (dockerd's createIDMap). */
export async function subordinateRanges(path: string, user: Account): Promise<IdRange[]> {
  const out: IdRange[] = [];
  let next = 0;
  for (const f of await lines(path)) {
    if (f[0] !== user.name && f[0] !== String(user.id)) continue;
    const hostId = Number(f[1]);
    const size = Number(f[2]);
    if (!Number.isSafeInteger(hostId) || !Number.isSafeInteger(size) || size <= 0) continue;
    out.push({ containerId: next, hostId, size });
    next += size;
  }
  return out;
}

/** The first start from 100000 up that overlaps no range anyone holds in `path`. */
async function freeRangeStart(path: string): Promise<number> {
  const taken = (await lines(path)).map((f) => ({ start: Number(f[1]), size: Number(f[2]) })).sort((a, b) => a.start - b.start);
  let start = RANGE_START;
  for (const r of taken) if (start < r.start + r.size && r.start < start + RANGE_SIZE) start = r.start + r.size;
  return start;
}

async function must(file: string, args: string[], what: string): Promise<void> {
  const r = await run(file, args);
  if (r.code !== 0) throw new Error(`${what}: ${r.stderr.trim() || r.stdout.trim() || `exit status ${r.code}`}`);
}

/** dockerd's AddNamespaceRangesUser: a system user without a login, and 65536 IDs of each kind that nobody holds. */
async function addRemapUser(name: string, files: AccountFiles): Promise<void> {
  try {
    await must('useradd', ['-r', '-s', '/bin/false', name], `failed to add user ${name}`);
    const user = await lookup(files.passwd, name);
    if (!user) throw new Error(`user ${name} was added but is not in ${files.passwd}`);
    for (const [flag, path] of [['-v', files.subuid], ['-w', files.subgid]] as const) {
      if ((await subordinateRanges(path, user)).length) continue;
      const start = await freeRangeStart(path);
      await must('usermod', [flag, `${start}-${start + RANGE_SIZE - 1}`, name], `unable to add subordinate ID range to user ${name}`);
    }
  } catch (err) {
    throw new InvalidArgumentError(`Error during "${name}" user creation: ${(err as Error).message}`);
  }
}

/**
 * The ranges `spec` names (`default`, `user`, `user:group`, `uid`, `uid:gid`), as dockerd's
 * parseRemappedRoot and setupRemappedRoot resolve them; undefined for root, whom nothing remaps.
 */
export async function resolveRemappedRoot(spec: string, logger: Logger, files: AccountFiles = HOST_FILES, create = addRemapUser): Promise<RemappedRoot | undefined> {
  const parts = spec.split(':');
  if (parts.length > 2 || !parts[0]) throw new InvalidArgumentError(`Invalid user/group specification in --userns-remap: "${spec}"`);
  const [userPart, groupPart] = parts as [string, string | undefined];
  let user: Account | undefined;
  let group: Account | undefined;
  if (/^\d+$/.test(userPart)) {
    user = await lookup(files.passwd, Number(userPart));
    if (!user) throw new InvalidArgumentError(`Uid ${userPart} has no entry in /etc/passwd`);
    if (groupPart === undefined) {
      group = await lookup(files.group, Number(userPart));
      if (!group) throw new InvalidArgumentError(`Gid ${userPart} has no entry in /etc/group`);
    }
  } else {
    const name = userPart === 'default' ? DEFAULT_REMAP_USER : userPart;
    user = await lookup(files.passwd, name);
    if (!user && userPart !== 'default') throw new InvalidArgumentError(`Error during uid lookup for "${name}": no such user`);
    if (!user) {
      await create(name, files);
      user = await lookup(files.passwd, name);
      if (!user) throw new InvalidArgumentError(`Error during "${name}" user creation: not in ${files.passwd} afterwards`);
    }
    if (groupPart === undefined) {
      group = await lookup(files.group, name);
      if (!group) throw new InvalidArgumentError(`Error during gid lookup for "${name}": no such group`);
    }
  }
  if (groupPart !== undefined) {
    group = await lookup(files.group, /^\d+$/.test(groupPart) ? Number(groupPart) : groupPart);
    if (!group) throw new InvalidArgumentError(/^\d+$/.test(groupPart) ? `Gid ${groupPart} has no entry in /etc/group` : `Error during groupname lookup for "${groupPart}": no such group`);
  }
  if (user.name === 'root') {
    logger.warn('User namespaces: root cannot be remapped with itself; user namespaces are OFF');
    return undefined;
  }
  // As dockerd: both kinds of ranges are the user's (the group only names the pair in `info`).
  const uids = await subordinateRanges(files.subuid, user);
  if (!uids.length) throw new InvalidArgumentError(`error creating ID mappings: no subuid ranges found for user "${user.name}"`);
  const gids = await subordinateRanges(files.subgid, user);
  if (!gids.length) throw new InvalidArgumentError(`error creating ID mappings: no subgid ranges found for user "${user.name}"`);
  logger.info('User namespaces: ID ranges will be mapped to subuid/subgid ranges', { user: user.name });
  return { user: user.name, group: group!.name, idmap: { uids, gids } };
}

/** Whether `uid:gid` may pass through a directory of this mode and owner (dockerd's canAccess). */
function canTraverse(st: { mode: number; uid: number; gid: number }, uid: number, gid: number): boolean {
  return (st.mode & 0o001) !== 0 || (st.uid === uid && (st.mode & 0o100) !== 0) || (st.gid === gid && (st.mode & 0o010) !== 0);
}

/**
 * The remapped data root `<root>/<uid>.<gid>` as dockerd lays it out: the root above passable by
 * all (0711), this one by the remapped root's group (0710 root:gid), so that the runtime, as the
 * container's root, reaches the container's file system below it. A directory above that would
 * stop it is refused now, with dockerd's text, rather than at every start.
 */
export async function makeRemappedRoot(dataRoot: string, idmap: IdMapping): Promise<void> {
  const parent = dirname(dataRoot);
  const root = rootPair(idmap);
  // Checked before anything is made: the data root's own parent is made passable below.
  for (let d = dirname(parent); d !== '/'; d = dirname(d)) {
    const st = await stat(d).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    });
    if (st && !canTraverse(st, root.uid, root.gid)) {
      throw new InvalidArgumentError(`a subdirectory in your graphroot path (${dataRoot}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories`);
    }
  }
  await mkdir(parent, { recursive: true, mode: 0o711 });
  await chmod(parent, 0o711);
  await mkdir(dataRoot, { recursive: true, mode: 0o710 });
  await chown(dataRoot, 0, root.gid);
  await chmod(dataRoot, 0o710);
}

/** A directory the container's root must pass through (its own directory, its file system's): 0710, the remapped group's. */
export async function passableByRemappedRoot(dir: string, idmap: IdMapping): Promise<void> {
  await chown(dir, 0, rootPair(idmap).gid);
  await chmod(dir, 0o710);
}
