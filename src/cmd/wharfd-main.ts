/** The daemon: its flags, its listeners, its start and its stop. `wharfd.cts` chooses how it is loaded. */
import { createServer as createTlsServer } from 'node:https';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:net';
import { Command, Option } from 'commander';
import { createApiHandler, createApiServer } from '../api/index.js';
import { BridgeDriver, NameServer, bridgeTag } from '../network/index.js';
import { checkHostGatewayIp, checkRealtime, Daemon, DEFAULT_CONFIG, hostDefaultRuntime, readDaemonJson, resolveRemappedRoot, WHARF_VERSION, type DaemonConfig } from '../daemon/index.js';
import { createLogger, errorMessage, isErrno, rootPair, trimWhenIdle, type Logger, type LogLevel } from '../util/index.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

async function parseArgs(argv: string[]): Promise<DaemonConfig> {
  const program = new Command('wharfd')
    .description('A Docker-compatible container engine (daemon)')
    .version(`wharf version ${WHARF_VERSION}`, '-v, --version', 'Print version information and quit')
    .option('-H, --host <socket>', 'Daemon socket(s) to connect to', collect, [])
    .option('--data-root <dir>', 'Root directory of persistent wharf state', DEFAULT_CONFIG.dataRoot)
    .option('--exec-root <dir>', 'Root directory for execution state files', DEFAULT_CONFIG.execRoot)
    .option('-p, --pidfile <file>', 'Path to use for daemon PID file')
    .option('--config-file <file>', 'Daemon configuration file', '/etc/wharf/daemon.json')
    .addOption(new Option('-l, --log-level <level>', 'Set the logging level').choices(['debug', 'info', 'warn', 'error', 'fatal']))
    .option('-D, --debug', 'Enable debug mode')
    .option('--tls', 'Use TLS; implied by --tlsverify')
    .option('--tlsverify', 'Use TLS and verify the remote')
    .option('--tlscacert <file>', 'Trust certs signed only by this CA')
    .option('--tlscert <file>', 'Path to TLS certificate file')
    .option('--tlskey <file>', 'Path to TLS key file')
    .option('--insecure-tcp', 'Allow plain TCP without TLS: anyone who can reach the port gets root on this host')
    .option('--default-runtime <name>', 'Default OCI runtime for containers')
    .option('--live-restore', 'Keep containers alive during daemon downtime (always on in wharf)')
    .option('--group <group>', 'Group for the unix socket', DEFAULT_CONFIG.group)
    .option('--log-opt <opt>', 'Default log driver options for containers (max-size, max-file)', collect, [])
    .option('-b, --bridge <name>', "The default network's bridge device; 'none' for no default network", DEFAULT_CONFIG.bridge)
    .option('--bip <cidr>', "The default network's gateway address and prefix, as 172.30.0.1/16")
    .option('--ipv6', 'Enable IPv6 networking on the default bridge network')
    .option('--fixed-cidr-v6 <cidr>', "The default network's IPv6 subnet (with --ipv6); a /64 of the daemon's own ULA prefix when unset")
    .option('--host-gateway-ip <ip>', 'IP address that the special \'host-gateway\' string in --add-host resolves to; the default bridge\'s gateway when unset')
    .option('--userns-remap <user/group>', 'User/Group setting for user namespaces')
    .option('--cpu-rt-period <int>', 'Limit the CPU real-time period in microseconds for the parent cgroup for all containers (not supported with cgroups v2)')
    .option('--cpu-rt-runtime <int>', 'Limit the CPU real-time runtime in microseconds for the parent cgroup for all containers (not supported with cgroups v2)')
    .allowExcessArguments(false);
  program.parse(argv);
  const o = program.opts();
  const explicitConfig = program.getOptionValueSource('configFile') === 'cli';
  const fileCfg = await readDaemonJson(o.configFile, explicitConfig);
  const cfg: DaemonConfig = { ...DEFAULT_CONFIG, ...fileCfg };
  const fromCli = (name: string) => program.getOptionValueSource(name) === 'cli';
  if (o.host.length) cfg.hosts = o.host;
  if (fromCli('dataRoot')) cfg.dataRoot = o.dataRoot;
  if (fromCli('execRoot')) cfg.execRoot = o.execRoot;
  cfg.pidfile = o.pidfile ?? fileCfg.pidfile ?? `${cfg.execRoot}/wharfd.pid`;
  if (o.logLevel) cfg.logLevel = o.logLevel as LogLevel;
  if (o.debug) cfg.logLevel = 'debug';
  if (o.tls) cfg.tls = true;
  if (o.tlsverify) cfg.tlsVerify = true;
  if (o.tlscacert) cfg.tlsCaCert = o.tlscacert;
  if (o.tlscert) cfg.tlsCert = o.tlscert;
  if (o.tlskey) cfg.tlsKey = o.tlskey;
  if (o.insecureTcp) cfg.insecureTcp = true;
  if (o.defaultRuntime) cfg.defaultRuntime = o.defaultRuntime;
  else if (!fileCfg.defaultRuntime) cfg.defaultRuntime = hostDefaultRuntime(cfg.runtimes);
  if (fromCli('group')) cfg.group = o.group;
  if (fromCli('bridge')) cfg.bridge = o.bridge;
  if (o.bip) cfg.bip = o.bip;
  if (o.ipv6) cfg.ipv6 = true;
  if (o.fixedCidrV6) cfg.fixedCidrV6 = o.fixedCidrV6;
  if (o.hostGatewayIp) cfg.hostGatewayIp = checkHostGatewayIp(o.hostGatewayIp);
  if (o.usernsRemap !== undefined) cfg.usernsRemap = o.usernsRemap || undefined;
  if (o.cpuRtPeriod !== undefined) cfg.cpuRtPeriod = checkRealtime('cpu-rt-period', o.cpuRtPeriod);
  if (o.cpuRtRuntime !== undefined) cfg.cpuRtRuntime = checkRealtime('cpu-rt-runtime', o.cpuRtRuntime);
  for (const opt of o.logOpt as string[]) {
    const eq = opt.indexOf('=');
    if (eq < 0) throw new Error(`invalid log opt ${opt}: expected key=value`);
    cfg.logOpts = { ...cfg.logOpts, [opt.slice(0, eq)]: opt.slice(eq + 1) };
  }
  if (process.env.WHARF_RUNC) cfg.runtimes = { ...cfg.runtimes, runc: { path: process.env.WHARF_RUNC } };
  if (!/^[A-Za-z][\w.-]{0,14}$/.test(cfg.bridge)) throw new Error(`invalid bridge name "${cfg.bridge}": at most 15 letters, digits, '.', '-' or '_', starting with a letter`);
  bridgeTag(cfg.bridge, cfg.dataRoot);
  return cfg;
}

/** Refuse to start a second daemon on the same pidfile, as dockerd does. */
async function claimPidfile(path: string): Promise<void> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new Error(`pid file found, ensure wharfd is not running or delete ${path}`);
      } catch (err) {
        if (!isErrno(err, 'ESRCH')) throw err;
      }
    }
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${process.pid}`);
}

function groupId(name: string): number | undefined {
  try {
    const out = execFileSync('getent', ['group', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return Number(out.split(':')[2]);
  } catch {
    return undefined;
  }
}

async function listen(cfg: DaemonConfig, daemon: Daemon, logger: Logger): Promise<{ servers: Server[]; sockets: string[] }> {
  const servers: Server[] = [];
  const sockets: string[] = [];
  for (const host of cfg.hosts) {
    if (host.startsWith('unix://') || host.startsWith('/')) {
      const path = host.startsWith('unix://') ? host.slice('unix://'.length) : host;
      await mkdir(dirname(path), { recursive: true });
      await rm(path, { force: true });
      const server = createApiServer(daemon, logger);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
      await chmod(path, 0o660);
      const gid = groupId(cfg.group);
      if (gid !== undefined) await chown(path, 0, gid);
      logger.info('API listen on ' + path);
      servers.push(server);
      sockets.push(path);
    } else if (host.startsWith('tcp://')) {
      const url = new URL(host);
      const port = Number(url.port || (cfg.tls || cfg.tlsVerify ? 2376 : 2375));
      const hostname = url.hostname.replace(/^\[|\]$/g, '') || '0.0.0.0';
      let server: Server;
      if (cfg.tls || cfg.tlsVerify) {
        if (!cfg.tlsCert || !cfg.tlsKey) throw new Error('TLS requires --tlscert and --tlskey');
        if (cfg.tlsVerify && !cfg.tlsCaCert) throw new Error('--tlsverify requires --tlscacert to verify clients');
        const handler = createApiHandler(daemon, logger);
        const tls = createTlsServer(
          {
            cert: await readFile(cfg.tlsCert),
            key: await readFile(cfg.tlsKey),
            ca: cfg.tlsCaCert ? await readFile(cfg.tlsCaCert) : undefined,
            requestCert: cfg.tlsVerify,
            rejectUnauthorized: cfg.tlsVerify,
            allowHalfOpen: true,
          } as never,
          handler.request,
        );
        tls.on('upgrade', handler.upgrade);
        server = tls;
      } else if (cfg.insecureTcp) {
        logger.warn('Binding to plain TCP without TLS: anyone who can reach this port has root on this host. Use --tlsverify.');
        server = createApiServer(daemon, logger);
      } else {
        throw new Error(`refusing to listen on ${host} without TLS: pass --tlsverify with --tlscacert/--tlscert/--tlskey, or --insecure-tcp to accept the risk`);
      }
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, hostname, resolve));
      logger.info(`API listen on ${hostname}:${port}`);
      servers.push(server);
    } else {
      throw new Error(`invalid host ${host}: use unix:///path or tcp://host:port`);
    }
  }
  return { servers, sockets };
}

/** --userns-remap resolved, and the data root moved below the original one, as dockerd does. */
async function remapRoot(cfg: DaemonConfig, logger: Logger): Promise<void> {
  if (!cfg.usernsRemap) return;
  cfg.remap = await resolveRemappedRoot(cfg.usernsRemap, logger);
  if (!cfg.remap) return;
  const root = rootPair(cfg.remap.idmap);
  cfg.dataRoot = join(cfg.dataRoot, `${root.uid}.${root.gid}`);
}

async function main(): Promise<void> {
  let cfg: DaemonConfig;
  try {
    cfg = await parseArgs(process.argv);
  } catch (err) {
    process.stderr.write(`wharfd: ${errorMessage(err)}\n`);
    process.exit(1);
  }
  const logger = createLogger(cfg.logLevel);
  if (process.getuid && process.getuid() !== 0) {
    logger.error('wharfd needs to be started with root privileges');
    process.exit(1);
  }
  await claimPidfile(cfg.pidfile);
  try {
    await remapRoot(cfg, logger);
  } catch (err) {
    logger.error(`failed to start daemon: ${errorMessage(err)}`);
    await rm(cfg.pidfile, { force: true });
    process.exit(1);
  }
  // The driver's tag marks every device and rule it makes, so daemons with their own bridges share a host.
  const networkDriver = new BridgeDriver({ netnsDir: join(cfg.execRoot, 'netns'), tag: bridgeTag(cfg.bridge, cfg.dataRoot), logger });
  // Names on user networks: aardvark-dns, which outlives wharfd as the containers do.
  const nameServer = new NameServer({ configDir: join(cfg.execRoot, 'network', 'dns'), logger });
  const daemon = new Daemon(cfg, logger, { networkDriver, dns: nameServer, env: process.env });
  let servers: Server[] = [];
  let sockets: string[] = [];
  try {
    await nameServer.init();
    await daemon.init();
    ({ servers, sockets } = await listen(cfg, daemon, logger));
  } catch (err) {
    logger.error(`failed to start daemon: ${errorMessage(err)}`);
    for (const s of servers) s.close();
    await rm(cfg.pidfile, { force: true });
    process.exit(1);
  }
  logger.info('Daemon has completed initialization', { version: WHARF_VERSION, dataRoot: cfg.dataRoot });
  trimWhenIdle(servers);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`Processing signal '${signal}'`);
    for (const s of servers) {
      s.close();
      (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }
    await daemon.shutdown();
    for (const p of sockets) await rm(p, { force: true });
    await rm(cfg.pidfile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('terminated'));
  process.on('SIGINT', () => void stop('interrupt'));
  process.on('SIGPIPE', () => {});
  // One request's broken stream must not take down the daemon that every client depends on.
  process.on('uncaughtException', (err) => logger.error('uncaught exception', { error: errorMessage(err), stack: err.stack ?? '' }));
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { error: errorMessage(err) }));
}

void main();
