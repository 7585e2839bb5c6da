import type { IdMapping, Logger } from '../../util/index.js';
import type { KeyedMutex } from '../mutex.js';
import type { HealthMonitor } from './health.js';
import type { ImagePort, NetworkPort, RootfsPort, RuntimePort, VolumePort } from './ports.js';
import type { Container, ContainerStore } from './store.js';

/** What every room of the container service shares: the store, the lock, the ports. */
export interface ContainerContext {
  store: ContainerStore;
  /** One lock per container ID; which methods take it is written in index.ts. */
  mutex: KeyedMutex;
  /** The OCI runtime the container was created with. */
  runtimeOf(c: Container): RuntimePort;
  /** The runtime named `name`; throws for one that does not exist. */
  runtimeFor(name: string): RuntimePort;
  defaultRuntime: string;
  rootfs: RootfsPort;
  volumes: VolumePort;
  network: NetworkPort;
  images: ImagePort;
  logger: Logger;
  /** The init (tini) bound into containers started with --init. */
  initPath: string;
  /** The daemon's default log options, under each container's own. */
  logOpts: Record<string, string>;
  /** The healthcheck loops of running containers. */
  health: HealthMonitor;
  /** Told, synchronously, of each container the moment it is forgotten. */
  onRemoved(id: string): void;
  /** The daemon's remapped root (userns-remap); containers without `--userns host` run in a user namespace with it. */
  idmap?: IdMapping;
}

/** The ranges a container's user namespace has, when it has one of its own (userns-remap, and not `--userns host`). */
export function containerIdmap(ctx: ContainerContext, c: Container): IdMapping | undefined {
  return c.record.hostConfig.UsernsMode === 'host' ? undefined : ctx.idmap;
}
