#!/usr/bin/env node
/**
 * `wharf registry serve|gc`: the OCI distribution registry. The `wharf` CLI hands `registry`
 * argv here before it loads anything else (src/cmd/wharf.ts), so this code costs other
 * commands nothing; `node dist/src/cmd/wharf-registry.js serve ...` runs it directly.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AccessPolicy, collectGarbage, createRegistryServer, FsRegistryStorage, Htpasswd, TokenSigner, type RegistryAuth } from '../registry/index.js';
import { errorMessage, isErrno, parseGoDuration } from '../util/index.js';

export interface RegistryIo {
  stdout: Writable;
  stderr: Writable;
}

const USAGE = `Usage:  wharf registry COMMAND [OPTIONS]

Run an OCI distribution (Docker) registry

Commands:
  serve       Serve the registry API
  gc          Remove blobs (and with --delete-untagged, manifests) nothing refers to

Serve options:
      --addr string         Address to listen on (default "0.0.0.0:5000")
      --root string         Storage directory (default "/var/lib/wharf-registry")
      --htpasswd string     htpasswd file of users (bcrypt, as "htpasswd -B" writes)
      --auth string         "basic" or "token" (Bearer tokens from the registry's own /token
                            endpoint); default: basic when --htpasswd is given, else none
      --access string       JSON file: user -> [{"repo": "<glob>", "actions": ["pull","push","delete"]}];
                            "*" is every signed-in user, "anonymous" requests without credentials
      --service string      Token service name (default "wharf-registry")
      --realm string        Token realm URL (default: <scheme>://<Host header>/token)
      --token-ttl string    Lifetime of a token (default "5m")
      --token-key string    HMAC key file shared by servers on one store (default <root>/auth/token.key)
      --tls-cert string     TLS certificate (PEM); with --tls-key serves HTTPS
      --tls-key string      TLS private key (PEM)
      --read-only           Refuse pushes and deletes

Gc options:
      --root string         Storage directory (default "/var/lib/wharf-registry")
      --delete-untagged     Also remove manifests no tag reaches
      --dry-run             Report what would be removed, remove nothing
      --grace string        Keep content younger than this (default "1h")
`;

const DEFAULT_ROOT = '/var/lib/wharf-registry';

class UsageError extends Error {}

function durationMs(flag: string, value: string): number {
  try {
    const ns = parseGoDuration(value);
    if (ns < 0) throw new SyntaxError('negative');
    return ns / 1e6;
  } catch (err) {
    throw new UsageError(`invalid value "${value}" for --${flag}: ${errorMessage(err)}`);
  }
}

function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new UsageError(`invalid --addr "${addr}": expected host:port`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/** The token key on the store, made once, so every server on the store verifies the others' tokens. */
async function tokenKey(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    const fh = await open(path, 'wx', 0o600);
    const key = randomBytes(32);
    await fh.writeFile(key);
    await fh.sync();
    await fh.close();
    return key;
  } catch (err) {
    // Another server made it first.
    if (isErrno(err, 'EEXIST')) return readFile(path);
    throw err;
  }
}

/**
 * Chunks of a blob are Buffers that die young, but V8 collects them only when its heap fills,
 * and their bytes live outside the heap: a push of a few hundred MB grew the server by some
 * 35 MB of dead buffers. A young-generation collection after every few MB streamed (well under
 * a millisecond each) keeps the server within its memory budget (issue 11: under 60 MB).
 */
function scavengeEvery(bytes: number): ((n: number) => void) | undefined {
  let collect: ((opts: { type: 'minor' }) => void) | undefined;
  try {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as (opts: { type: 'minor' }) => void;
  } catch {
    return undefined;
  }
  let since = 0;
  return (n) => {
    since += n;
    if (since >= bytes) {
      since = 0;
      collect!({ type: 'minor' });
    }
  };
}

async function serve(args: string[], io: RegistryIo): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      addr: { type: 'string', default: '0.0.0.0:5000' },
      root: { type: 'string', default: DEFAULT_ROOT },
      htpasswd: { type: 'string' },
      auth: { type: 'string' },
      access: { type: 'string' },
      service: { type: 'string', default: 'wharf-registry' },
      realm: { type: 'string' },
      'token-ttl': { type: 'string', default: '5m' },
      'token-key': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'read-only': { type: 'boolean', default: false },
    },
  });
  const { host, port } = parseAddr(v.addr!);
  const mode = (v.auth ?? (v.htpasswd ? 'basic' : 'none')) as 'none' | 'basic' | 'token';
  if (!['none', 'basic', 'token'].includes(mode)) throw new UsageError(`invalid --auth "${mode}": expected basic, token or none`);
  if (mode !== 'none' && !v.htpasswd) throw new UsageError(`--auth ${mode} needs --htpasswd`);
  if (Boolean(v['tls-cert']) !== Boolean(v['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together');
  const storage = new FsRegistryStorage(v.root!, { onBytes: scavengeEvery(2 * 1024 * 1024) });
  await storage.init();
  let auth: RegistryAuth | undefined;
  if (mode !== 'none') {
    const users = await Htpasswd.load(v.htpasswd!);
    const policy = v.access ? await AccessPolicy.load(v.access) : new AccessPolicy();
    if (mode === 'basic') auth = { mode, users, policy, ...(v.realm ? { realm: v.realm } : {}) };
    else {
      const key = await tokenKey(v['token-key'] ?? join(v.root!, 'auth/token.key'));
      const ttlSeconds = Math.max(1, Math.round(durationMs('token-ttl', v['token-ttl']!) / 1000));
      auth = { mode, users, policy, signer: new TokenSigner(key, v.service!), ttlSeconds, ...(v.realm ? { realm: v.realm } : {}) };
    }
  }
  const tls = v['tls-cert'] ? { cert: await readFile(v['tls-cert']), key: await readFile(v['tls-key']!) } : undefined;
  const server = createRegistryServer({ storage, auth, readOnly: v['read-only'], log: (line) => io.stderr.write(`wharf registry: ${line}\n`) }, tls);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const done = new Promise<number>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      io.stderr.write(`wharf registry: ${sig}, closing\n`);
      // Requests in flight finish (an upload, a blob being served); idle keep-alive connections go now.
      server.close(() => resolve(0));
      server.closeIdleConnections();
      setTimeout(() => {
        server.closeAllConnections();
        resolve(0);
      }, 10_000).unref();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  io.stdout.write(`wharf registry: listening on ${tls ? 'https' : 'http'}://${shown} (root ${v.root}, auth ${mode}${v['read-only'] ? ', read-only' : ''})\n`);
  return done;
}

async function gc(args: string[], io: RegistryIo): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      root: { type: 'string', default: DEFAULT_ROOT },
      'delete-untagged': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      grace: { type: 'string', default: '1h' },
      'upload-max-age': { type: 'string', default: '24h' },
    },
  });
  const storage = new FsRegistryStorage(v.root!);
  await storage.init();
  const r = await collectGarbage(storage, {
    deleteUntagged: v['delete-untagged'],
    dryRun: v['dry-run'],
    graceMs: durationMs('grace', v.grace!),
    uploadMaxAgeMs: durationMs('upload-max-age', v['upload-max-age']!),
    log: (line) => io.stdout.write(line + '\n'),
  });
  const verb = v['dry-run'] ? 'eligible for deletion' : 'deleted';
  io.stdout.write(`${r.markedBlobs} blobs marked, ${r.deletedBlobs.length} blobs and ${r.deletedManifests.length} manifests ${verb}, ${r.removedUploads} abandoned uploads\n`);
  return 0;
}

/** `argv` after `registry`. */
export async function registryMain(argv: string[], io: RegistryIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help' || rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(USAGE);
      return cmd === undefined ? 1 : 0;
    }
    if (cmd === 'serve') return await serve(rest, io);
    if (cmd === 'gc') return await gc(rest, io);
    throw new UsageError(`unknown command "${cmd}" for "wharf registry"`);
  } catch (err) {
    const usage = err instanceof UsageError || (err as NodeJS.ErrnoException)?.code?.startsWith('ERR_PARSE_ARGS');
    io.stderr.write(`wharf registry: ${errorMessage(err)}\n${usage ? "See 'wharf registry --help'.\n" : ''}`);
    return usage ? 125 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void registryMain(process.argv.slice(2)).then((code) => process.exit(code));
}
