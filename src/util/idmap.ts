import { InvalidArgumentError } from './errors.js';

/** `size` IDs from `containerId` inside a user namespace are `hostId` onwards outside it (one uid_map line). */
export interface IdRange {
  containerId: number;
  hostId: number;
  size: number;
}

/**
 * The user and group ID ranges of a remapped root (dockerd's userns-remap): what a container's
 * files are owned by on the host, and what its tars and processes call them inside.
 */
export interface IdMapping {
  uids: IdRange[];
  gids: IdRange[];
}

export interface Ids {
  uid: number;
  gid: number;
}

type Side = 'containerId' | 'hostId';

/** `ids` carried from one side of the ranges to the other; an ID outside them is an error, as in dockerd. */
function carry(map: IdMapping, ids: Ids, from: Side, to: Side): Ids {
  const one = (ranges: IdRange[], id: number): number => {
    for (const r of ranges) if (id >= r[from] && id < r[from] + r.size) return id - r[from] + r[to];
    throw new InvalidArgumentError(from === 'containerId' ? `container ID ${id} cannot be mapped to a host ID` : `host ID ${id} cannot be mapped to a container ID`);
  };
  return { uid: one(map.uids, ids.uid), gid: one(map.gids, ids.gid) };
}

/** A container's IDs as the host's files have them. */
export function toHostIds(map: IdMapping, ids: Ids): Ids {
  return carry(map, ids, 'containerId', 'hostId');
}

/** The host's owner of a file as the container sees it. */
export function toContainerIds(map: IdMapping, ids: Ids): Ids {
  return carry(map, ids, 'hostId', 'containerId');
}

/** The host IDs of the container's root: the owner of its file systems, volumes and files. */
export function rootPair(map: IdMapping): Ids {
  return toHostIds(map, { uid: 0, gid: 0 });
}

/** The ranges as /proc/<pid>/uid_map takes them: one `inside outside count` line each. */
export function idMapText(ranges: IdRange[]): string {
  return ranges.map((r) => `${r.containerId} ${r.hostId} ${r.size}\n`).join('');
}
