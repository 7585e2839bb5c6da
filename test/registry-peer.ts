/**
 * Starts Debian's reference registry (`docker-registry`, distribution 2.8) on loopback for a
 * test: its own storage in a temp directory, optionally htpasswd Basic auth, TLS with a
 * self-signed certificate (and a certs.d directory trusting it), or token auth against a token
 * server the test runs. stop() kills it by pid and removes its directory; call it from after().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RegistryPeerOptions {
  /** htpasswd Basic auth with one user (bcrypt, as `htpasswd -Bbn` writes it). */
  htpasswd?: { user: string; pass: string };
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1, localhost and registry.test. */
  tls?: boolean;
  /**
   * Bearer token auth: the registry sends clients to `realm` and accepts JWTs signed by a
   * certificate in `rootCertBundle` (PEM file), with `iss` = issuer and `aud` = service.
   */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** Listen on this port (to restart a peer where a client expects it); a free one otherwise. */
  port?: number;
  /** Keep the storage of an earlier peer (its `dir`); stop() then leaves the directory alone. */
  dir?: string;
}

export interface RegistryPeer {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`: the domain of references pushed to it. */
  host: string;
  port: number;
  /** The peer's temp directory (storage under data/, config, log, certificates). */
  dir: string;
  /** With tls: the certificate (PEM) clients must trust. */
  caCert?: string;
  /** With tls: a certs.d directory with `127.0.0.1:PORT/ca.crt` and `localhost:PORT/ca.crt`. */
  certsDir?: string;
  /** The registry's log so far (for assertion messages). */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=wharf test registry',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:registry.test'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { cert, key };
}

function htpasswdFile(dir: string, user: string, pass: string): string {
  const r = spawnSync('htpasswd', ['-Bbn', user, pass], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
  const file = join(dir, 'htpasswd');
  writeFileSync(file, r.stdout);
  return file;
}

/** Resolves once the registry answers /v2/ (any status), rejects when it exits or 15 s pass. */
function waitReady(proc: ChildProcess, url: string, ca: string | undefined, logFile: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  return new Promise((resolve, reject) => {
    let exited = false;
    const onExit = (code: number | null) => {
      exited = true;
      reject(new Error(`docker-registry exited (${code}) before serving: ${readLog(logFile)}`));
    };
    proc.once('exit', onExit);
    const attempt = () => {
      if (exited) return;
      if (Date.now() > deadline) {
        proc.off('exit', onExit);
        reject(new Error(`docker-registry did not answer ${url}/v2/ within 15 s: ${readLog(logFile)}`));
        return;
      }
      const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(`${url}/v2/`, { method: 'GET', ca, timeout: 2000 }, (res) => {
        res.resume();
        proc.off('exit', onExit);
        resolve();
      });
      req.on('error', () => setTimeout(attempt, 50));
      req.on('timeout', () => req.destroy());
      req.end();
    };
    attempt();
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

export async function startRegistryPeer(opts: RegistryPeerOptions = {}): Promise<RegistryPeer> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'wharf-registry-peer-'));
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const port = opts.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;

  const httpCfg: Record<string, unknown> = { addr: host, secret: 'wharf-test-peer', headers: { 'X-Content-Type-Options': ['nosniff'] } };
  let caCert: string | undefined;
  let certsDir: string | undefined;
  if (opts.tls) {
    const { cert, key } = selfSignedCert(dir);
    httpCfg.tls = { certificate: cert, key };
    caCert = readFileSync(cert, 'utf8');
    certsDir = join(dir, 'certs.d');
    for (const name of [host, `localhost:${port}`, `registry.test:${port}`]) {
      mkdirSync(join(certsDir, name), { recursive: true });
      writeFileSync(join(certsDir, name, 'ca.crt'), caCert);
    }
  }
  let auth: Record<string, unknown> | undefined;
  if (opts.htpasswd) auth = { htpasswd: { realm: 'basic-realm', path: htpasswdFile(dir, opts.htpasswd.user, opts.htpasswd.pass) } };
  if (opts.token) auth = { token: { realm: opts.token.realm, service: opts.token.service, issuer: opts.token.issuer, rootcertbundle: opts.token.rootCertBundle } };

  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: data }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: httpCfg,
  };
  if (auth) config.auth = auth;
  // YAML is a superset of JSON, so the registry reads this as its config.yml.
  const cfgFile = join(dir, 'config.yml');
  writeFileSync(cfgFile, JSON.stringify(config, null, 2));

  const logFile = join(dir, 'registry.log');
  const fd = openSync(logFile, 'a');
  const proc = spawn(REGISTRY_BIN, ['serve', cfgFile], { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  closeSync(fd);
  const url = `${opts.tls ? 'https' : 'http'}://${host}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(proc, url, caCert, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, host, port, dir, caCert, certsDir, log: () => readLog(logFile), stop };
}
