/**
 * What bench/netsetup.ts needs to leave the host as it found it: a snapshot of iptables before
 * the run, removal of the rules and chains that appeared since and are the bench's, and the
 * check that nothing of it is left.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { exec } from '../test/harness.js';

const TABLES = ['filter', 'nat', 'mangle', 'raw'];
/** What this bench's engines put into iptables: only these, and only if new, are removed. */
const OURS = /NETAVARK|CNI-|DOCKER|wtb|docker0|10\.232\./i;
const OUR_CHAIN = /^(NETAVARK|CNI-|DOCKER|WTB)/;
/**
 * A wharf driver's rule (its comment is the driver's tag, with the network and endpoint): never
 * the bench's to remove, even when it names docker0 (every wharf P-OUT does). A wharfd cleans up
 * its own; those of other daemons on the host (tests running meanwhile) must stay. The whole
 * comment must be the tag: netavark's "netavark firewall plugin rules" is the bench's to remove.
 */
const WHARF_RULE = /--comment (?:[a-z][a-z0-9]{0,11}|"[a-z][a-z0-9]{0,11}(?::net=[0-9a-f]{12}(?::ctr=[0-9a-f]{12})?)?")(?: |$)/;
const ours = (l: string) => OURS.test(l) && !WHARF_RULE.test(l);

export function sh(cmd: string): string {
  return spawnSync('bash', ['-c', cmd], { encoding: 'utf8' }).stdout ?? '';
}

/** Pids whose command line contains `needle` (our temp dir or port), never by name alone. */
export function pidsWith(comm: string, needle: string): number[] {
  return sh('ps -e -o pid=,comm=,args=')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === comm && f.slice(2).join(' ').includes(needle))
    .map((f) => Number(f[0]));
}

export interface Snapshot {
  rules: Set<string>;
  chains: Set<string>;
  forwardPolicy: string;
  docker0: boolean;
}

function iptablesSave(table: string): string[] {
  return sh(`iptables-save -t ${table} 2>/dev/null`).split('\n');
}

export function snapshot(): Snapshot {
  const rules = new Set<string>();
  const chains = new Set<string>();
  for (const t of TABLES) {
    for (const l of iptablesSave(t)) {
      if (l.startsWith('-A ')) rules.add(`${t} ${l}`);
      if (l.startsWith(':')) chains.add(`${t} ${l.slice(1).split(' ')[0]}`);
    }
  }
  const forwardPolicy = /^:FORWARD (\w+)/m.exec(iptablesSave('filter').join('\n'))?.[1] ?? 'ACCEPT';
  return { rules, chains, forwardPolicy, docker0: existsSync('/sys/class/net/docker0') };
}

/** Removes the rules and chains that appeared since `before` and are this bench's, and restores FORWARD's policy. */
export async function cleanIptables(before: Snapshot): Promise<void> {
  for (const t of TABLES) {
    const lines = iptablesSave(t);
    const dels = lines.filter((l) => l.startsWith('-A ') && !before.rules.has(`${t} ${l}`) && ours(l)).map((l) => `-D ${l.slice(3)}`);
    const chains = lines
      .filter((l) => l.startsWith(':'))
      .map((l) => l.slice(1).split(' ')[0])
      .filter((c) => OUR_CHAIN.test(c) && !before.chains.has(`${t} ${c}`));
    const ops = [...dels, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`)];
    if (!ops.length) continue;
    const batch = await exec('iptables-restore', ['--noflush'], { input: `*${t}\n${ops.join('\n')}\nCOMMIT\n` });
    if (batch.code === 0) continue;
    // One bad line fails the whole transaction: retry line by line so the rest still goes.
    for (const op of ops) {
      const r = await exec('iptables-restore', ['--noflush'], { input: `*${t}\n${op}\nCOMMIT\n` });
      if (r.code !== 0) console.error(`cleanup: iptables -t ${t} ${op}: ${r.stderr.trim()}`);
    }
  }
  if (/^:FORWARD (\w+)/m.exec(iptablesSave('filter').join('\n'))?.[1] !== before.forwardPolicy) await exec('iptables', ['-P', 'FORWARD', before.forwardPolicy]);
}

/** What a reader needs to see is gone: devices, namespaces, rules, processes. */
export function leftovers(before: Snapshot, base: string, dockerPort: number): string[] {
  const left: string[] = [];
  for (const l of sh('ip -br link').split('\n')) if (/^(wtb|docker0)/.test(l) && !(l.startsWith('docker0') && before.docker0)) left.push(`link: ${l}`);
  for (const l of sh('ip netns list').split('\n')) if (l.startsWith('wtbench-')) left.push(`netns: ${l}`);
  for (const t of TABLES) for (const l of iptablesSave(t)) if ((l.startsWith('-A ') || l.startsWith(':')) && ours(l) && !before.rules.has(`${t} ${l}`) && !before.chains.has(`${t} ${l.slice(1).split(' ')[0]}`)) left.push(`iptables -t ${t}: ${l}`);
  for (const l of sh('ip route').split('\n')) if (l.startsWith('10.232.')) left.push(`route: ${l}`);
  for (const p of [...pidsWith('aardvark-dns', base), ...pidsWith('docker-proxy', String(dockerPort)), ...pidsWith('dockerd', base)]) left.push(`process: ${p}`);
  return left;
}

