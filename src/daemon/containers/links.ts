/**
 * What a container gets from the containers it names: legacy links (`--link name[:alias]`) and
 * a network namespace joined with `--network container:<name|id>`.
 *
 * Links on the default bridge are resolved once, at create, to the target's ID (so a rename of
 * the target keeps them, as moby's link graph does); each start writes the target's address
 * under the alias, its hostname and its name into /etc/hosts and adds the legacy environment
 * variables (ALIAS_PORT_80_TCP=..., ALIAS_NAME=/me/alias, ALIAS_ENV_*). On a user-defined
 * network Docker makes the alias a name only the linking container resolves; an /etc/hosts
 * entry of its own does the same.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { EndpointSettings } from '../../types/index.js';
import { compareCodeUnits, ConflictError, errorMessage, InvalidArgumentError, NotFoundError, WharfError } from '../../util/index.js';
import type { ContainerContext } from './context.js';
import type { NetworkAttachment } from './ports.js';
import { isActive, type ContainerRecord } from './state.js';
import type { Container } from './store.js';

/** A link as the record keeps it: the target's ID and the alias the linking container uses. */
export type LinkRecord = NonNullable<ContainerRecord['links']>[number];

/** Not default, bridge, host, none or container:<id>: moby's NetworkMode.IsUserDefined. */
export function isUserDefinedMode(mode: string | undefined): boolean {
  const m = mode ?? '';
  return m !== '' && !['default', 'bridge', 'host', 'none'].includes(m) && !m.startsWith('container:');
}

/**
 * One HostConfig.Links entry as moby's ParseLink reads it: `name`, `name:alias`, or the form
 * inspect shows (`/name:/me/alias`), whose alias is the last path element.
 */
export function parseLink(v: string): { name: string; alias: string } {
  if (v === '') throw new InvalidArgumentError('empty string specified for links');
  const parts = v.split(':');
  if (parts.length > 2) throw new InvalidArgumentError(`bad format for links: ${v}`);
  if (parts.length === 1) return { name: v, alias: v };
  if (parts[0].startsWith('/')) return { name: parts[0].slice(1), alias: parts[1].slice(parts[1].lastIndexOf('/') + 1) };
  return { name: parts[0], alias: parts[1] };
}

/**
 * Create's resolution of `--link` on the default bridge: each target must exist (moby answers
 * 400, not 404, so that the client does not report a missing image) and must not share the
 * host's network; one that joins another container's namespace links to that container.
 */
export function resolveLinks(ctx: ContainerContext, links: string[] | null | undefined, mode: string | undefined): LinkRecord[] | undefined {
  if (!links?.length || isUserDefinedMode(mode)) return undefined;
  const out: LinkRecord[] = [];
  for (const l of links) {
    const { name, alias } = parseLink(l);
    let child = lookup(ctx, name);
    for (let hops = 0; (child.record.hostConfig.NetworkMode ?? '').startsWith('container:') && hops < 16; hops++) {
      child = lookup(ctx, child.record.hostConfig.NetworkMode!.slice('container:'.length));
    }
    if (child.record.hostConfig.NetworkMode === 'host') {
      throw new InvalidArgumentError("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
    }
    out.push({ id: child.record.id, alias });
  }
  return out;
}

function lookup(ctx: ContainerContext, name: string): Container {
  try {
    return ctx.store.get(name);
  } catch (err) {
    if (err instanceof NotFoundError) throw new InvalidArgumentError(`could not get container for ${name}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** HostConfig.Links as inspect shows them: `/target:/me/alias`, with the target's name of now. */
export function inspectLinks(ctx: ContainerContext, r: ContainerRecord): string[] | null {
  if (!r.links) return isUserDefinedMode(r.hostConfig.NetworkMode) ? null : (r.hostConfig.Links ?? null);
  const out: string[] = [];
  for (const l of r.links) {
    const child = tryGet(ctx, l.id);
    if (child) out.push(`/${child.record.name}:/${r.name}/${l.alias}`);
  }
  return out.length ? out : null;
}

function tryGet(ctx: ContainerContext, ref: string): Container | undefined {
  try {
    return ctx.store.get(ref);
  } catch {
    return undefined;
  }
}

function attachmentOf(ctx: ContainerContext, c: Container): NetworkAttachment | undefined {
  return c.network ?? (isActive(c.state) ? ctx.network.current?.(c.record.id) : undefined);
}

/**
 * What a start adds for the container's links: `/etc/hosts` entries (in ExtraHosts' `names:ip`
 * form) and, on the default bridge, the legacy environment variables. A target removed since
 * is dropped, as moby's link graph drops it; one that does not run fails the start.
 */
export function linkedHosts(ctx: ContainerContext, c: Container, own: NetworkAttachment): { hosts: string[]; env: string[] } {
  const r = c.record;
  const hosts: string[] = [];
  const env: string[] = [];
  if (r.links?.length && own.endpoints.bridge) {
    for (const l of r.links) {
      const child = tryGet(ctx, l.id);
      if (!child) continue;
      const linkName = `/${r.name}/${l.alias}`;
      if (!isActive(child.state)) throw new WharfError(`Cannot link to a non running container: /${child.record.name} AS ${linkName}`);
      const ep = attachmentOf(ctx, child)?.endpoints.bridge;
      if (!ep) throw new WharfError(`Cannot link to /${child.record.name}, as it does not belong to the default network`);
      // The alias, the target's hostname, and its name when that differs from the alias: moby's addLegacyLinks.
      let names = `${l.alias} ${child.record.config.Hostname || child.record.id.slice(0, 12)}`;
      if (l.alias !== child.record.name) names += ` ${child.record.name}`;
      if (ep.IPAddress) hosts.push(`${names}:${ep.IPAddress}`);
      env.push(...linkEnv(linkName, ep.IPAddress ?? '', child.record.config.Env ?? [], Object.keys(child.record.config.ExposedPorts ?? {})));
    }
    return { hosts, env };
  }
  if (!isUserDefinedMode(r.hostConfig.NetworkMode)) return { hosts, env };
  const eps = r.networkingConfig?.EndpointsConfig ?? {};
  for (const [netName, cfg] of Object.entries(eps) as [string, EndpointSettings | undefined][]) {
    for (const l of [...(cfg?.Links ?? [])]) {
      const { name, alias } = parseLink(l);
      const child = tryGet(ctx, name);
      const ip = child && isActive(child.state) ? attachmentOf(ctx, child)?.endpoints[netName]?.IPAddress : undefined;
      if (ip) hosts.push(`${alias}:${ip}`);
    }
  }
  return { hosts, env };
}

/**
 * A target that starts again may have a new address: the containers that link to it get it in
 * their /etc/hosts, as moby's UpdateHostsEntry does. The file is rewritten in place, since the
 * running container has it bind-mounted (a rename would leave it the old one).
 */
export async function updateLinkingContainers(ctx: ContainerContext, child: Container, own: NetworkAttachment): Promise<void> {
  const ip = own.endpoints.bridge?.IPAddress;
  if (!ip) return;
  for (const p of ctx.store.all()) {
    if (p === child || !isActive(p.state)) continue;
    const aliases = (p.record.links ?? []).filter((l) => l.id === child.record.id).map((l) => l.alias);
    if (!aliases.length) continue;
    try {
      const text = await readFile(p.files.hostsPath, 'utf8');
      const next = retargetHosts(text, aliases, ip);
      if (next !== text) await writeFile(p.files.hostsPath, next);
    } catch (err) {
      ctx.logger.warn('updating the hosts file of a linking container failed', { id: p.record.id, error: errorMessage(err) });
    }
  }
}

/** The hosts text with each line whose first name is one of `aliases` now pointing at `ip`. */
export function retargetHosts(text: string, aliases: string[], ip: string): string {
  return text
    .split('\n')
    .map((line) => {
      const tab = line.indexOf('\t');
      if (tab < 0) return line;
      const first = line.slice(tab + 1).split(' ')[0];
      return aliases.includes(first) ? `${ip}${line.slice(tab)}` : line;
    })
    .join('\n');
}

/**
 * The legacy link variables, as moby's links.ToEnv writes them: per exposed port (TCP first,
 * then by number) ALIAS_PORT_<n>_<PROTO>{,_ADDR,_PORT,_PROTO}, the first port as ALIAS_PORT,
 * runs of consecutive ports as _START/_END, then ALIAS_NAME and ALIAS_ENV_* (HOME and PATH left out).
 */
export function linkEnv(linkName: string, childIp: string, childEnv: string[], exposed: string[]): string[] {
  const alias = linkName.slice(linkName.lastIndexOf('/') + 1).toUpperCase().replaceAll('-', '_');
  const ports = exposed
    .map((k) => {
      const [num, proto = 'tcp'] = k.split('/');
      return { num: Number(num), proto: proto.toLowerCase() };
    })
    .filter((p) => Number.isInteger(p.num))
    .sort((a, b) => (a.proto === b.proto ? a.num - b.num : a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : compareCodeUnits(a.proto, b.proto)));
  const env: string[] = [];
  let start = ports[0];
  let end = ports[0];
  ports.forEach((p, i) => {
    if (i === 0) env.push(`${alias}_PORT=${p.proto}://${childIp}:${p.num}`);
    const prefix = `${alias}_PORT_${p.num}_${p.proto.toUpperCase()}`;
    env.push(`${prefix}=${p.proto}://${childIp}:${p.num}`, `${prefix}_ADDR=${childIp}`, `${prefix}_PORT=${p.num}`, `${prefix}_PROTO=${p.proto}`);
    if (p.num === end.num + 1 && p.proto === end.proto) {
      end = p;
      if (i < ports.length - 1) return;
    }
    if (end !== start) {
      const rp = `${alias}_PORT_${start.num}_${start.proto.toUpperCase()}`;
      env.push(`${rp}_START=${start.proto}://${childIp}:${start.num}`, `${rp}_PORT_START=${start.num}`, `${rp}_END=${end.proto}://${childIp}:${end.num}`, `${rp}_PORT_END=${end.num}`);
    }
    start = p;
    end = p;
  });
  env.push(`${alias}_NAME=${linkName}`);
  for (const kv of childEnv) {
    const eq = kv.indexOf('=');
    if (eq < 0) continue;
    const name = kv.slice(0, eq);
    if (name === 'HOME' || name === 'PATH') continue;
    env.push(`${alias}_ENV_${name}=${kv.slice(eq + 1)}`);
  }
  return env;
}

/**
 * The container whose network namespace `--network container:<ref>` joins, checked at start as
 * moby's getNetworkedContainer checks it, and the namespace itself: the one the network service
 * made, the host's, or for a target without one of ours (`--network none`) its process's.
 */
export function joinedNetwork(ctx: ContainerContext, c: Container): { target: Container; namespace: NetworkAttachment['namespace'] } {
  const ref = (c.record.hostConfig.NetworkMode ?? '').slice('container:'.length);
  const target = ctx.store.get(ref);
  if (target.record.id === c.record.id) throw new WharfError('cannot join own network namespace');
  if (target.state.status === 'restarting') {
    throw new WharfError(`cannot join network namespace of container: Container ${target.record.id} is restarting, wait until the container is running`);
  }
  if (!isActive(target.state)) {
    throw new ConflictError(`cannot join network namespace of a non running container: container ${target.record.name} is ${target.state.status}`);
  }
  const ns = attachmentOf(ctx, target)?.namespace;
  if (ns?.mode === 'host' || target.record.hostConfig.NetworkMode === 'host') return { target, namespace: { mode: 'host' } };
  if (ns?.mode === 'path') return { target, namespace: ns };
  return { target, namespace: { mode: 'path', path: `/proc/${target.state.pid}/ns/net` } };
}
