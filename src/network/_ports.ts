/**
 * Which host ports the driver's endpoints hold, and whether another process holds one. A port is
 * claimed in memory before the probe, so two attaches that race for it cannot both win.
 */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { WharfError } from '../util/index.js';
import type { PortMapping, Protocol } from './driver.js';
import { normalHostIp } from './_firewall.js';

/** A host port that is taken; the message is Docker's (20.10, userland proxy on). */
export class PortInUseError extends WharfError {
  constructor(
    message: string,
    readonly hostIp: string,
    readonly hostPort: number,
    readonly protocol: Protocol,
  ) {
    super(message);
  }
}

interface Claim {
  owner: string;
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
}

export class PortClaims {
  readonly #byPort = new Map<string, Claim[]>();

  /**
   * Claims every port for `owner` or none: returns the first mapping another owner holds
   * (same protocol and port, and the same address or either on every address).
   */
  claim(owner: string, ports: PortMapping[]): PortMapping | undefined {
    const added: Claim[] = [];
    for (const p of ports) {
      const hostIp = normalHostIp(p);
      const key = `${p.protocol}/${p.hostPort}`;
      const list = this.#byPort.get(key) ?? [];
      const clash = list.find((c) => c.owner !== owner && (c.hostIp === hostIp || c.hostIp === '' || hostIp === ''));
      if (clash) {
        for (const c of added) this.#remove(c);
        return p;
      }
      if (list.some((c) => c.owner === owner && c.hostIp === hostIp)) continue;
      const c = { owner, protocol: p.protocol, hostIp, hostPort: p.hostPort };
      list.push(c);
      this.#byPort.set(key, list);
      added.push(c);
    }
    return undefined;
  }

  release(owner: string): void {
    for (const [key, list] of this.#byPort) {
      const rest = list.filter((c) => c.owner !== owner);
      if (rest.length) this.#byPort.set(key, rest);
      else this.#byPort.delete(key);
    }
  }

  clear(): void {
    this.#byPort.clear();
  }

  #remove(c: Claim): void {
    const key = `${c.protocol}/${c.hostPort}`;
    const rest = (this.#byPort.get(key) ?? []).filter((x) => x !== c);
    if (rest.length) this.#byPort.set(key, rest);
    else this.#byPort.delete(key);
  }
}

/**
 * Binds the host port for a moment; resolves to the errno code (EADDRINUSE, EADDRNOTAVAIL, ...)
 * when that fails, undefined when the port is free. SCTP is not probed (Node has no SCTP socket).
 */
export function probeHostPort(p: PortMapping): Promise<string | undefined> {
  const host = normalHostIp(p) || '0.0.0.0';
  // An IPv6 address is probed for IPv6 alone: `::` must not find an IPv4 listener in the way.
  const v6 = host.includes(':');
  return new Promise((resolve) => {
    if (p.protocol === 'tcp') {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'EINVAL'));
      server.listen({ host, port: p.hostPort, exclusive: true, ipv6Only: v6 }, () => server.close(() => resolve(undefined)));
    } else if (p.protocol === 'udp') {
      const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        sock.close();
        resolve(err.code ?? 'EINVAL');
      });
      sock.bind({ address: host, port: p.hostPort, exclusive: true }, () => sock.close(() => resolve(undefined)));
    } else {
      resolve(undefined);
    }
  });
}

// Go's texts for the errnos a bind can meet, as Docker prints them.
const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EACCES: 'permission denied',
  EINVAL: 'invalid argument',
};

export function endpointLabel(name: string, endpointId?: string): string {
  return `driver failed programming external connectivity on endpoint ${name}${endpointId ? ` (${endpointId})` : ''}`;
}

/** host:port as Go's net.JoinHostPort writes it: an IPv6 address in brackets. */
const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** A port one of the driver's endpoints holds: Docker's port allocator's text. */
export function allocatedError(label: string, p: PortMapping): PortInUseError {
  const ip = normalHostIp(p) || '0.0.0.0';
  return new PortInUseError(`${label}: Bind for ${hostPort(ip, p.hostPort)} failed: port is already allocated`, ip, p.hostPort, p.protocol);
}

/** A port another process holds: the text of Docker's userland proxy failing to listen. */
export function bindError(label: string, p: PortMapping, code: string): PortInUseError {
  const ip = normalHostIp(p) || '0.0.0.0';
  const text = ERRNO_TEXT[code] ?? code.toLowerCase();
  return new PortInUseError(`${label}: Error starting userland proxy: listen ${p.protocol}${ip.includes(':') ? 6 : 4} ${hostPort(ip, p.hostPort)}: bind: ${text}`, ip, p.hostPort, p.protocol);
}
