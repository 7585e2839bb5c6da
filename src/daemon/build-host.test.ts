import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BuildRequest } from '../types/index.js';
import { silentLogger } from '../util/index.js';
import { DaemonBuildHost, type BuildHostDeps } from './build-host.js';

/** Containers that take `createMs` to make, recording what was done to them. */
function fakeContainers(createMs: number) {
  const calls: string[] = [];
  const containers = {
    create: async () => {
      await new Promise((r) => setTimeout(r, createMs));
      calls.push('create');
      return { Id: 'c1', Warnings: [] };
    },
    start: async () => void calls.push('start'),
    wait: async () => 0,
    kill: async () => void calls.push('kill'),
    remove: async (id: string, opts: { force?: boolean }) => void calls.push(`remove ${id} force=${opts.force}`),
    logs: () => ({ entries: (async function* () {})() }),
  };
  return { calls, containers };
}

const proc = { args: ['sh', '-c', 'true'], env: [], user: '', workdir: '/', network: 'none', extraHosts: [], mounts: [] };
const base = { id: 'sha256:' + 'a'.repeat(64), config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' as const, diff_ids: [] } } };

function host(containers: unknown): DaemonBuildHost {
  const deps = { containers, images: {}, rootfs: {}, cache: {}, logger: silentLogger } as unknown as BuildHostDeps;
  return new DaemonBuildHost(deps, {} as BuildRequest);
}

test('a RUN aborted while its container is being made removes that container and never starts it', async () => {
  const { calls, containers } = fakeContainers(50);
  const ws = await host(containers).workspace(base);
  const ctl = new AbortController();
  const running = ws.run(proc, () => {}, ctl.signal);
  ctl.abort(new Error('client went away'));
  await assert.rejects(running, /client went away/);
  assert.deepEqual(calls, ['create', 'remove c1 force=true']);
});

test('a workspace released while its RUN container is being made removes that container', async () => {
  const { calls, containers } = fakeContainers(50);
  const ws = await host(containers).workspace(base);
  const running = ws.run(proc, () => {}, new AbortController().signal);
  await ws.release();
  await assert.rejects(running, /released/);
  assert.deepEqual(calls, ['create', 'remove c1 force=true']);
});
