/**
 * A serialized mount(2) call: storage and volume produce these, runtime and daemon consume
 * them. Options are the `-o` strings of mount(8) (`ro`, `lowerdir=...`, `bind`, `rbind`...).
 */
export interface Mount {
  type: string;
  source: string;
  /** Absolute path inside the container (runtime) or on the host (rootfs mounts). */
  target: string;
  options: string[];
}
