import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_HOST = 'unix:///run/wharf/wharf.sock';
const DEFAULT_TCP_PORT = 2375;
const DEFAULT_TLS_PORT = 2376;

/** What the user said about the connection (flags first, then DOCKER_* variables). */
export interface ConnectOptions {
  host?: string;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** Where the daemon is and how to talk to it, resolved from ConnectOptions. */
export type Endpoint =
  | { kind: 'unix'; host: string; socketPath: string }
  | { kind: 'tcp'; host: string; hostname: string; port: number; tls?: TlsMaterial };

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  verify: boolean;
}

/** The variables docker's CLI reads; cmd/wharf.ts passes process.env in. */
export interface ConnectEnv {
  DOCKER_HOST?: string;
  DOCKER_TLS_VERIFY?: string;
  DOCKER_TLS?: string;
  DOCKER_CERT_PATH?: string;
  HOME?: string;
}

/** Applies docker's precedence: -H over DOCKER_HOST over the default; --tlsverify or DOCKER_TLS_VERIFY turn on verified TLS. */
export function resolveEndpoint(opts: ConnectOptions, env: ConnectEnv = {}, read: (p: string) => Buffer = readFileSync): Endpoint {
  const host = (opts.host || env.DOCKER_HOST || DEFAULT_HOST).trim();
  const verify = opts.tlsverify ?? Boolean(env.DOCKER_TLS_VERIFY);
  const useTls = verify || Boolean(opts.tls) || Boolean(env.DOCKER_TLS);
  const certDir = env.DOCKER_CERT_PATH || (env.HOME ? join(env.HOME, '.docker') : undefined);
  const pick = (flag: string | undefined, file: string) => flag ?? (certDir ? join(certDir, file) : undefined);
  const tryRead = (p: string | undefined, required: boolean): Buffer | undefined => {
    if (!p) return undefined;
    try {
      return read(p);
    } catch (err) {
      if (required) throw new Error(`could not read TLS file ${p}: ${(err as Error).message}`, { cause: err });
      return undefined;
    }
  };
  if (host.startsWith('unix://')) return { kind: 'unix', host, socketPath: host.slice('unix://'.length) };
  if (host.startsWith('/')) return { kind: 'unix', host: `unix://${host}`, socketPath: host };
  const m = /^(tcp|http|https):\/\/(\[[^\]]+\]|[^:/]*)(?::(\d+))?\/?$/.exec(host);
  if (!m) throw new Error(`unable to parse docker host \`${host}\``);
  const tls = useTls || m[1] === 'https';
  const hostname = (m[2] || 'localhost').replace(/^\[(.*)\]$/, '$1');
  const port = m[3] ? Number(m[3]) : tls ? DEFAULT_TLS_PORT : DEFAULT_TCP_PORT;
  const material: TlsMaterial | undefined = tls
    ? {
        verify,
        // Flags given explicitly must exist; the defaults under the cert dir are optional unless verifying.
        ca: tryRead(pick(opts.tlscacert, 'ca.pem'), Boolean(opts.tlscacert) || verify),
        cert: tryRead(pick(opts.tlscert, 'cert.pem'), Boolean(opts.tlscert)),
        key: tryRead(pick(opts.tlskey, 'key.pem'), Boolean(opts.tlskey)),
      }
    : undefined;
  return { kind: 'tcp', host: `tcp://${m[2]}:${port}`, hostname, port, tls: material };
}
