import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Runtime } from '../runtime/index.js';
import { OverlaySnapshotter } from '../storage/index.js';
import { Registries } from '../image/index.js';
import { InvalidArgumentError, type Logger } from '../util/index.js';
import type { DnsPort, NetworkDriver } from '../network/index.js';
import type { DaemonConfig } from './config.js';
import { EventBus } from './events.js';
import { ContainerService, type RuntimePort } from './containers/index.js';
import { ExecService } from './exec.js';
import { ImageService, makeDefaultImageApart } from './images.js';
import { NetworkService } from './networks.js';
import { VolumeService } from './volumes.js';
import { BuildService, type BuildFunction } from './builds.js';
import { DaemonBuildHost, removeLeftoverBuildContainers } from './build-host.js';
import { ContainerFilesystems } from './rootfs.js';
import { SystemService, WHARF_VERSION } from './system.js';
import { makeRemappedRoot } from './userns.js';

/** How long a stopping daemon waits for removals under way (a `run --rm` that just returned). */
const SHUTDOWN_REMOVALS_MS = 10_000;

/** The daemon's services, wired together. The API layer talks only to this. */
export class Daemon {
  readonly events = new EventBus();
  readonly networks: NetworkService;
  readonly volumes: VolumeService;
  readonly builds: BuildService;
  readonly images: ImageService;
  readonly #rootfs: ContainerFilesystems;
  readonly #snapshots: OverlaySnapshotter;
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly system: SystemService;
  readonly #runtimes = new Map<string, Runtime>();
  readonly #registries: Registries;

  constructor(
    readonly config: DaemonConfig,
    readonly logger: Logger,
    /** The bridge datapath (cmd wires the real one); without it, bridge containers get loopback only. */
    opts: {
      networkDriver?: NetworkDriver;
      dns?: DnsPort;
      /** Tests only: a builder in place of the real one. */ builder?: BuildFunction;
      /** Where the registry client reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY (cmd passes the daemon's environment). */
      env?: NodeJS.ProcessEnv;
    } = {},
  ) {
    this.#registries = new Registries({
      mirrors: config.registryMirrors,
      insecure: config.insecureRegistries,
      certsDir: config.certsDir,
      env: opts.env ?? {},
      userAgent: `wharf/${WHARF_VERSION}`,
      logger,
    });
    this.volumes = new VolumeService({
      root: join(config.dataRoot, 'volumes'),
      idmap: config.remap?.idmap,
      logger,
      onEvent: (action, name, attrs) => this.events.publish('volume', action, name, attrs),
    });
    this.networks = new NetworkService({
      root: join(config.dataRoot, 'network'),
      driver: opts.networkDriver,
      dns: opts.dns,
      bridge: config.bridge,
      bip: config.bip,
      ...(config.ipv6 ? { ipv6: { fixedCidr: config.fixedCidrV6 } } : {}),
      hostGatewayIp: config.hostGatewayIp,
      logger,
      onEvent: (action, id, attrs) => this.events.publish('network', action, id, attrs),
    });
    // Layers and container file systems live in <data root>/overlay, images in <data root>/image.
    this.#snapshots = new OverlaySnapshotter(join(config.dataRoot, 'overlay'), { idmap: config.remap?.idmap });
    this.images = new ImageService({
      root: config.dataRoot,
      logger,
      busyboxPath: config.busyboxPath,
      debian: { mirror: config.debianMirror, securityMirror: config.debianSecurityMirror },
      onEvent: (action, id, attrs) => this.events.publish('image', action, id, attrs),
      layers: this.#snapshots,
      containers: { containersUsing: (id) => this.containers.containersUsing(id) },
      layerUsers: { layersInUse: () => this.#rootfs.layersInUse() },
      registries: this.#registries,
      maxConcurrentDownloads: config.maxConcurrentDownloads,
      maxConcurrentUploads: config.maxConcurrentUploads,
    });
    this.#rootfs = new ContainerFilesystems({ root: config.dataRoot, logger, snapshots: this.#snapshots, images: this.images, idmap: config.remap?.idmap });
    this.containers = new ContainerService({
      dataRoot: config.dataRoot,
      runtimeFor: (name): RuntimePort => this.runtime(name),
      defaultRuntime: config.defaultRuntime,
      images: this.images,
      rootfs: this.#rootfs,
      network: this.networks,
      volumes: this.volumes,
      events: this.events,
      logger,
      initPath: config.initPath,
      logOpts: config.logOpts,
      idmap: config.remap?.idmap,
      onRemoved: (id) => this.execs.forgetContainer(id),
      // The exec service is made after the containers it runs in; checks only start later.
      probes: { startProbe: (id, cmd, onOutput) => this.execs.startProbe(id, cmd, onOutput) },
    });
    this.volumes.setUsers((name) => this.containers.volumeUsers(name));
    this.execs = new ExecService(this.containers, logger);
    this.builds = new BuildService({
      dataRoot: config.dataRoot,
      logger,
      host: (cache, request) => new DaemonBuildHost({ images: this.images, containers: this.containers, rootfs: this.#rootfs, cache, logger, idmap: config.remap?.idmap }, request),
      imageById: (id) => (this.images.has(id) ? { id, config: this.images.get(id).config } : undefined),
      builder: opts.builder,
    });
    this.system = new SystemService(config, this.containers, this.images, this.events, { volumes: this.volumes, builds: this.builds }, opts.env ?? {});
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
      cpuRealtime: this.config.cpuRtPeriod || this.config.cpuRtRuntime ? { period: this.config.cpuRtPeriod, runtime: this.config.cpuRtRuntime } : undefined,
    });
    this.#runtimes.set(name, rt);
    return rt;
  }

  async init(): Promise<void> {
    if (this.config.remap) await makeRemappedRoot(this.config.dataRoot, this.config.remap.idmap);
    else await mkdir(this.config.dataRoot, { recursive: true, mode: 0o711 });
    await mkdir(this.config.execRoot, { recursive: true, mode: 0o700 });
    await makeDefaultImageApart({ root: this.config.dataRoot, busyboxPath: this.config.busyboxPath, logLevel: this.config.logLevel, idmap: this.config.remap?.idmap }, this.logger);
    // Layers first; then the containers' file systems, whose layers the image service's collection keeps.
    await this.#snapshots.init();
    await this.#rootfs.init();
    await this.images.init();
    // Before the containers: their recovery detaches runs that ended, which needs the records.
    await this.networks.init();
    await this.volumes.init();
    await this.containers.init();
    await this.volumes.releaseUnheld();
    await removeLeftoverBuildContainers(this.containers, this.logger);
    await this.builds.init();
    await this.networks.releaseOrphans((id) => this.containers.exists(id));
  }

  /** Stop serving; running containers stay up under their monitors. */
  async shutdown(): Promise<void> {
    await this.containers.shutdown(SHUTDOWN_REMOVALS_MS);
    void this.#registries.close().catch((err) => this.logger.warn('could not close registry connections', { error: String(err) }));
  }
}
