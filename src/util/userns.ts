import { writeFile } from 'node:fs/promises';
import { WharfError, errorMessage, isErrno } from './errors.js';
import { idMapText, type IdMapping } from './idmap.js';
import { umount } from './native.js';
import { run, spawnPiped } from './spawn.js';

/** Who owns a new network namespace: a new user namespace with these ranges, kept on `file`, or the one at `path`. */
export type NamespaceOwner = { idmap: IdMapping; file: string } | { path: string };

/** How long the holder may take to come up; it only unshares and prints a line. */
const HOLDER_TIMEOUT_MS = 10_000;

async function bind(from: string, to: string): Promise<void> {
  await writeFile(to, '', { flag: 'a' });
  const r = await run('mount', ['--bind', from, to]);
  if (r.code !== 0) throw new Error(`mount --bind ${from} ${to}: ${r.stderr.trim() || `exit status ${r.code}`}`);
}

function unbind(path: string): void {
  try {
    umount(path, true);
  } catch (err) {
    if (!isErrno(err, 'EINVAL') && !isErrno(err, 'ENOENT')) throw err;
  }
}

/**
 * A new network namespace owned by a user namespace other than the host's, bind-mounted on
 * `netns`. A container with a user namespace of its own can mount sysfs, and configure its
 * network, only in a network namespace that its user namespace owns; the runtime would make one,
 * but wharf makes the namespace before the runtime (to wire it meanwhile), so it is made here
 * inside that user namespace. A holder process unshares both (or enters `owner.path` first); the
 * daemon writes the new namespace's ID maps and binds the namespaces from outside, where it may
 * mount (unshare's own --user=FILE cannot bind a user namespace here: EPERM).
 */
export async function makeOwnedNetns(netns: string, owner: NamespaceOwner): Promise<void> {
  const holder = ['unshare', '--net', '--', 'sh', '-c', 'echo up; read x'];
  const [file, args] = 'idmap' in owner ? ['unshare', ['--user', ...holder.slice(1)]] : ['nsenter', [`--user=${owner.path}`, '--', ...holder]];
  const child = spawnPiped(file, args, { fds: ['in', 'out', 'out'] });
  const [stdin, stdout, stderr] = child.pipes;
  let errText = '';
  stderr.setEncoding('utf8').on('data', (s: string) => (errText += s.slice(0, 2048)));
  stdin.on('error', () => {});
  const bound: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out')), HOLDER_TIMEOUT_MS);
      stdout.once('data', () => (clearTimeout(timer), resolve()));
      stdout.once('end', () => (clearTimeout(timer), reject(new Error(errText.trim() || 'the holder exited early'))));
    });
    const ns = `/proc/${child.pid}/ns`;
    if ('idmap' in owner) {
      // Written from outside by root, so no setgroups=deny is needed and every range is allowed.
      await writeFile(`/proc/${child.pid}/uid_map`, idMapText(owner.idmap.uids));
      await writeFile(`/proc/${child.pid}/gid_map`, idMapText(owner.idmap.gids));
      await bind(`${ns}/user`, owner.file);
      bound.push(owner.file);
    }
    await bind(`${ns}/net`, netns);
    bound.push(netns);
  } catch (err) {
    child.kill('SIGKILL');
    for (const p of bound.reverse()) unbind(p);
    throw new WharfError(`cannot create a user-owned network namespace: ${errorMessage(err)}`, { cause: err });
  } finally {
    stdin.end('\n');
    await child.exited;
  }
}

/** Undoes a bind of makeOwnedNetns (the user namespace's file); idempotent. */
export function releaseNamespaceFile(path: string): void {
  unbind(path);
}
