import { cpus, hostname, release, totalmem, arch as osArch } from 'node:os';
import { readFile, access } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { InfoResponse, VersionResponse, SystemDfResponse } from '../types/index.js';
import { API_VERSION, MIN_API_VERSION } from '../types/index.js';
import type { DaemonConfig } from './config.js';
import { DEFAULT_LOG_DRIVER, LOG_DRIVERS, type ContainerService } from './containers/index.js';
import type { ImageService } from './images.js';
import type { EventBus } from './events.js';
import type { VolumeService } from './volumes.js';
import type { BuildService } from './builds.js';
import { cgroupV2 } from '../runtime/index.js';
import { run } from '../util/index.js';

export const WHARF_VERSION = '0.1.0';

/** Go's GOARCH names, which Docker reports and clients compare against. */
export function goArch(): string {
  const a = osArch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

interface ToolVersion {
  version: string;
  commit: string;
}

/** `runc --version` / `conmon --version`: "<name> version X" and "commit: Y" lines; empty when the tool cannot say. */
async function toolVersion(path: string): Promise<ToolVersion> {
  try {
    const { stdout } = await run(path, ['--version']);
    return { version: /\bversion\s+(\S+)/.exec(stdout)?.[1] ?? '', commit: /^commit:\s*(\S+)/m.exec(stdout)?.[1] ?? '' };
  } catch {
    return { version: '', commit: '' };
  }
}

async function osName(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
    return m ? m[1] : 'Linux';
  } catch {
    return 'Linux';
  }
}

/**
 * info's RegistryConfig as dockerd fills it (registry/config.go): loopback CIDRs always
 * insecure, `host[:port]` entries as index configs of their own, Docker Hub with the mirrors.
 */
export function registryConfig(config: Pick<DaemonConfig, 'registryMirrors' | 'insecureRegistries'>): Record<string, unknown> {
  const cidrs: string[] = [];
  const index: Record<string, { Name: string; Mirrors: string[]; Secure: boolean; Official: boolean }> = {};
  for (const r of [...config.insecureRegistries, '::1/128', '127.0.0.0/8']) {
    if (/\/\d+$/.test(r)) {
      if (!cidrs.includes(r)) cidrs.push(r);
    } else index[r] = { Name: r, Mirrors: [], Secure: false, Official: false };
  }
  index['docker.io'] = { Name: 'docker.io', Mirrors: [...config.registryMirrors], Secure: true, Official: true };
  return { IndexConfigs: index, InsecureRegistryCIDRs: cidrs, Mirrors: [...config.registryMirrors] };
}

export class SystemService {
  readonly #id: string;
  #tools: Promise<{ runtime: ToolVersion; conmon: ToolVersion }> | undefined;
  constructor(
    private readonly config: DaemonConfig,
    private readonly containers: ContainerService,
    private readonly images: ImageService,
    private readonly events: EventBus,
    /** What `system df` reports of volumes and the build cache. */
    private readonly usageSources: { volumes: Pick<VolumeService, 'usage'>; builds: Pick<BuildService, 'usage'> },
    /** The daemon's environment, for the proxies info reports. */
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.#id = createHash('sha256').update(`${hostname()}:${config.dataRoot}`).digest('hex').slice(0, 36);
  }

  /** The runtime's and conmon's own versions, asked once: they do not change under a running daemon. */
  #toolVersions(): Promise<{ runtime: ToolVersion; conmon: ToolVersion }> {
    const runtimePath = this.config.runtimes[this.config.defaultRuntime]?.path ?? this.config.defaultRuntime;
    this.#tools ??= Promise.all([toolVersion(runtimePath), toolVersion(this.config.conmonPath)]).then(([runtime, conmon]) => ({ runtime, conmon }));
    return this.#tools;
  }

  async version(): Promise<VersionResponse> {
    const kernel = release();
    const tools = await this.#toolVersions();
    return {
      Platform: { Name: 'wharf' },
      Components: [
        {
          Name: 'Engine',
          Version: WHARF_VERSION,
          Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: kernel, GitCommit: '', GoVersion: process.version, BuildTime: '', Experimental: 'false' },
        },
        { Name: this.config.defaultRuntime, Version: tools.runtime.version, Details: { GitCommit: tools.runtime.commit } },
        { Name: 'conmon', Version: tools.conmon.version, Details: { GitCommit: tools.conmon.commit } },
      ],
      Version: WHARF_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: process.version,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: kernel,
      BuildTime: '',
    };
  }

  async info(): Promise<InfoResponse> {
    const counts = this.containers.counts();
    const cg = cgroupV2 ? '2' : '1';
    const tools = await this.#toolVersions();
    return {
      ID: this.#id,
      Containers: counts.total,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      // moby's CountImages: every image in the store, intermediate ones too.
      Images: this.images.list({ all: true }).length,
      Driver: 'overlay2',
      DriverStatus: [
        ['Backing Filesystem', 'extfs'],
        ['Supports d_type', 'true'],
      ],
      Plugins: { Volume: ['local'], Network: ['host', 'null'], Authorization: null, Log: LOG_DRIVERS },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: this.config.logLevel === 'debug',
      NFd: 0,
      OomKillDisable: cg === '1',
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: DEFAULT_LOG_DRIVER,
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cg,
      NEventsListener: this.events.listenerCount,
      KernelVersion: release(),
      OperatingSystem: await osName(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: osArch() === 'x64' ? 'x86_64' : osArch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: registryConfig(this.config),
      NCPU: cpus().length,
      MemTotal: totalmem(),
      DockerRootDir: this.config.dataRoot,
      HttpProxy: this.env.HTTP_PROXY ?? this.env.http_proxy ?? '',
      HttpsProxy: this.env.HTTPS_PROXY ?? this.env.https_proxy ?? '',
      NoProxy: this.env.NO_PROXY ?? this.env.no_proxy ?? '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: WHARF_VERSION,
      Runtimes: Object.fromEntries(Object.entries(this.config.runtimes).map(([k, v]) => [k, { path: v.path }])),
      DefaultRuntime: this.config.defaultRuntime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: this.config.liveRestore,
      Isolation: '',
      InitBinary: this.config.initPath,
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: tools.runtime.commit },
      InitCommit: { ID: '' },
      // Containers get a private cgroup namespace only on cgroup v2 (runtime/oci.ts), and Docker says so only then.
      SecurityOptions: ['name=seccomp,profile=builtin', ...(this.config.remap ? ['name=userns'] : []), ...(cgroupV2 ? ['name=cgroupns'] : [])],
      Warnings: null,
    };
  }

  async df(): Promise<SystemDfResponse> {
    const containers = await this.containers.list({ all: true, size: true });
    const usage = new Map<string, number>();
    for (const c of containers) usage.set(c.ImageID, (usage.get(c.ImageID) ?? 0) + 1);
    const images = this.images.list({ all: false, containerCount: (id) => usage.get(id) ?? 0, sharedSize: true });
    const [layersSize, volumes, buildCache] = await Promise.all([this.images.layersSize(), this.usageSources.volumes.usage(), this.usageSources.builds.usage()]);
    return { LayersSize: layersSize, Images: images, Containers: containers, Volumes: volumes, BuildCache: buildCache };
  }
}
