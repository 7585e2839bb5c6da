import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Runtime } from '../runtime/index.js';
import { InvalidArgumentError, type Logger } from '../util/index.js';
import type { DaemonConfig } from './config.js';
import { EventBus } from './events.js';
import { ContainerService, type RootfsPort, type RuntimePort } from './containers/index.js';
import { ExecService } from './exec.js';
import { ImageService } from './images.js';
import { NetworkService } from './networks.js';
import { VolumeService } from './volumes.js';
import { BuildService } from './builds.js';
import { SystemService } from './system.js';

/** The daemon's services, wired together. The API layer talks only to this. */
export class Daemon {
  readonly events = new EventBus();
  readonly networks = new NetworkService();
  readonly volumes = new VolumeService();
  readonly builds = new BuildService();
  readonly images: ImageService;
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly system: SystemService;
  readonly #runtimes = new Map<string, Runtime>();

  constructor(
    readonly config: DaemonConfig,
    readonly logger: Logger,
  ) {
    this.images = new ImageService({
      root: config.dataRoot,
      logger,
      busyboxPath: config.busyboxPath,
      onEvent: (action, id, attrs) => this.events.publish('image', action, id, attrs),
    });
    this.containers = new ContainerService({
      dataRoot: config.dataRoot,
      runtimeFor: (name): RuntimePort => this.runtime(name),
      defaultRuntime: config.defaultRuntime,
      images: this.images,
      rootfs: imageRootfs(this.images),
      network: this.networks,
      volumes: this.volumes,
      events: this.events,
      logger,
      initPath: config.initPath,
      logOpts: config.logOpts,
      onRemoved: (id) => this.execs.forgetContainer(id),
    });
    this.execs = new ExecService(this.containers, logger);
    this.system = new SystemService(config, this.containers, this.images, this.events, { volumes: this.volumes, builds: this.builds });
  }

  /** The OCI runtime named `name` ('runc', 'crun' or one from daemon.json), created on first use. */
  runtime(name: string): Runtime {
    let rt = this.#runtimes.get(name);
    if (rt) return rt;
    const entry = this.config.runtimes[name];
    if (!entry) throw new InvalidArgumentError(`unknown or invalid runtime name: ${name}`);
    rt = new Runtime({
      runtimePath: entry.path,
      runtimeName: name,
      conmonPath: this.config.conmonPath,
      stateDir: join(this.config.execRoot, 'runtime', name),
      logger: this.logger,
    });
    this.#runtimes.set(name, rt);
    return rt;
  }

  async init(): Promise<void> {
    await mkdir(this.config.dataRoot, { recursive: true, mode: 0o711 });
    await mkdir(this.config.execRoot, { recursive: true, mode: 0o700 });
    await this.images.init();
    await this.containers.init();
  }

  /** Stop serving; running containers stay up under their monitors. */
  shutdown(): void {
    this.containers.detachAll();
  }
}

// ------------------------------------------------------------ the container service's ports
// Today's implementation, until the storage snapshotter replaces it.

/** Container file systems as the image service keeps them today. */
function imageRootfs(images: ImageService): RootfsPort {
  return {
    create: (id, imageId) => images.createRootfs(id, imageId),
    mount: (id) => images.mountRootfs(id),
    unmount: (id) => images.unmountRootfs(id),
    open: (id) => images.openRootfs(id),
    remove: (id) => images.removeRootfs(id),
    removeOrphans: (isContainer) => images.removeOrphanedRootfs(isContainer),
    path: (id) => images.rootfsPath(id),
    graphDriverData: (id) => images.graphDriverData(id),
    size: (id) => images.rootfsSize(id),
    changes: (id) => images.changes(id),
    export: (id) => images.exportRootfs(id),
    commit: (id, opts) => images.commit(id, opts),
  };
}
