/**
 * The bridge driver's cost per container: createNamespace, attach (without and with published
 * ports), detach and removeNamespace, each the median of N runs, and the processes each spawns.
 *
 *   sudo node dist/bench/netdriver.js [N]        (default 20)
 *
 * Runs on the host's network namespace with a tag of its own (`wtbn` + 4 hex digits) and a free
 * 10.231.x.0/24, and removes everything it made at the end, also on failure.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run } from '../src/util/index.js';
import { BridgeDriver, type BridgeNetwork, type Endpoint } from '../src/network/index.js';

const N = Number(process.argv[2] ?? 20);
const tag = `wtbn${randomBytes(2).toString('hex')}`;
const hex64 = () => randomBytes(32).toString('hex');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const routes = (await run('sh', ['-c', 'ip route; ip addr'])).stdout;
  const third = Array.from({ length: 200 }, (_, i) => 30 + i).find((t) => !routes.includes(`10.231.${t}.`));
  const dir = await mkdtemp(join(tmpdir(), 'wt-netbench-'));
  const net: BridgeNetwork = { id: hex64(), bridge: `${tag}br`, subnet: `10.231.${third}.0/24`, gateway: `10.231.${third}.1`, internal: false, icc: true, masquerade: true, mtu: 0 };
  const ep = (cid: string, i: number, ports: boolean): Endpoint => ({
    containerId: cid, network: net, ifname: 'eth0', ip: `10.231.${third}.${10 + i}`, prefixLen: 24, mac: '', defaultRoute: true,
    ports: ports ? [{ protocol: 'tcp', hostIp: '', hostPort: 41000 + i, containerPort: 80 }, { protocol: 'udp', hostIp: '', hostPort: 41000 + i, containerPort: 53 }] : [],
  });

  // The counting pass runs every program through a wrapper that notes its name.
  const log = join(dir, 'spawns.log');
  const commands: Record<string, string> = {};
  for (const [k, prog] of Object.entries({ ip: 'ip', iptablesRestore: 'iptables-restore', iptablesSave: 'iptables-save', unshare: 'unshare', nsenter: 'nsenter' })) {
    const w = join(dir, `w-${prog}`);
    await writeFile(w, `#!/bin/sh\necho ${prog} >> ${log}\nexec ${prog} "$@"\n`);
    await chmod(w, 0o755);
    commands[k] = w;
  }
  const counted = new BridgeDriver({ netnsDir: join(dir, 'netns'), tag, commands });
  const driver = new BridgeDriver({ netnsDir: join(dir, 'netns'), tag });
  const spawns: Record<string, string> = {};
  const count = async (what: string, fn: () => Promise<unknown>) => {
    await writeFile(log, '');
    await fn();
    const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    spawns[what] = `${lines.length} (${lines.join(', ')})`;
  };
  const times: Record<string, number[]> = {};
  const time = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    (times[what] ??= []).push(performance.now() - t0);
    return r;
  };

  try {
    await count('ensureNetwork (new)', () => counted.ensureNetwork(net));
    await count('ensureNetwork (again, same process)', () => counted.ensureNetwork(net));
    const c0 = hex64();
    let nsPath = '';
    await count('createNamespace', async () => (nsPath = await counted.createNamespace(c0)));
    await count('attach (no ports)', () => counted.attach(nsPath, ep(c0, 0, false)));
    await count('detach (no ports)', () => counted.detach(nsPath, ep(c0, 0, false)));
    await count('attach (2 ports)', () => counted.attach(nsPath, ep(c0, 0, true)));
    await count('detach (2 ports)', () => counted.detach(nsPath, ep(c0, 0, true)));
    await count('removeNamespace', () => counted.removeNamespace(c0));

    for (let i = 0; i < N; i++) {
      const cid = hex64();
      const p = await time('createNamespace', () => driver.createNamespace(cid));
      const ports = i % 2 === 1;
      await time(ports ? 'attach (2 ports)' : 'attach (no ports)', () => driver.attach(p, ep(cid, i, ports)));
      await time(ports ? 'detach (2 ports)' : 'detach (no ports)', () => driver.detach(p, ep(cid, i, ports)));
      await time('removeNamespace', () => driver.removeNamespace(cid));
      // The whole start+stop path of a container whose namespace goes with it: no veth delete.
      const cid2 = hex64();
      await time('create+attach (2 ports)', async () => driver.attach(await driver.createNamespace(cid2), ep(cid2, i, true)));
      await time('removeNamespace, then detach', async () => {
        await driver.removeNamespace(cid2);
        await driver.detach(undefined, ep(cid2, i, true));
      });
    }
    // What the machine gives right now, to read the figures against: one process, and one
    // iptables-restore that changes nothing.
    for (let i = 0; i < N; i++) {
      await time('baseline: spawn true', () => run('true', []));
      await time('baseline: empty iptables-restore', () => run('iptables-restore', ['-w', '--noflush'], { input: '*filter\nCOMMIT\n' }));
    }
    console.log(`bridge driver, median of ${N} (ms), host iptables rules: ${(await run('iptables-save', [])).stdout.split('\n').filter((l) => l.startsWith('-A')).length}`);
    for (const [what, xs] of Object.entries(times)) console.log(`  ${what.padEnd(32)} ${median(xs).toFixed(1).padStart(6)}   (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}, n=${xs.length})`);
    console.log('processes spawned:');
    for (const [what, s] of Object.entries(spawns)) console.log(`  ${what.padEnd(36)} ${s}`);
  } finally {
    await driver.cleanup({ networks: [], endpoints: [] });
    await driver.removeNetwork(net);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
