/**
 * Healthchecks seen as a user sees them: State.Health in inspect, the ps status and filter,
 * health_status and exec events, the --health-* flags, the image's HEALTHCHECK and its NONE,
 * and checks that go on after wharfd was killed and started again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, type TestDaemon } from './harness.js';

let d: TestDaemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d?.stop();
});

interface HealthJson {
  Status: string;
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${d.log().slice(-3000)}`);
    await sleep(100);
  }
}

async function health(name: string): Promise<HealthJson | null> {
  const r = await d.docker(['inspect', '-f', '{{json .State.Health}}', name]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as HealthJson | null;
}

function waitHealth(name: string, ok: (h: HealthJson) => boolean, what: string): Promise<HealthJson> {
  return waitFor(what, async () => {
    const h = await health(name);
    return h && ok(h) ? h : undefined;
  });
}

async function names(cli: 'docker' | 'wharf', filter: string): Promise<string[]> {
  const r = await d[cli](['ps', '-a', '--filter', filter, '--format', '{{.Names}}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

for (const cli of ['docker', 'wharf'] as const) {
  test(`${cli}: a passing check makes the container healthy; ps shows it and filters on it`, async () => {
    const name = `healthy-${cli}`;
    const slow = `starting-${cli}`;
    try {
      const r = await d[cli](['run', '-d', '--name', name, '--health-cmd', 'echo fine', '--health-interval', '200ms', 'busybox', 'sleep', '60']);
      assert.equal(r.code, 0, r.stderr);
      // An hour between checks: this one stays `starting`.
      const s = await d[cli](['run', '-d', '--name', slow, '--health-cmd', 'true', '--health-interval', '1h', 'busybox', 'sleep', '60']);
      assert.equal(s.code, 0, s.stderr);
      const h = await waitHealth(name, (x) => x.Status === 'healthy', 'healthy');
      assert.equal(h.FailingStreak, 0);
      assert.equal(h.Log[0].ExitCode, 0);
      assert.equal(h.Log[0].Output, 'fine\n');
      assert.ok(Date.parse(h.Log[0].End) >= Date.parse(h.Log[0].Start));
      const st = await d[cli](['inspect', '--format', '{{.State.Health.Status}}', name]);
      assert.equal(st.stdout, 'healthy\n');
      const ps = await d[cli](['ps', '--filter', `name=^${name}$`, '--format', '{{.Status}}']);
      assert.match(ps.stdout, /^Up .* \(healthy\)\n$/);
      const ps2 = await d[cli](['ps', '--filter', `name=^${slow}$`, '--format', '{{.Status}}']);
      assert.match(ps2.stdout, /^Up .* \(health: starting\)\n$/);
      assert.ok((await names(cli, 'health=healthy')).includes(name));
      assert.ok(!(await names(cli, 'health=healthy')).includes(slow));
      assert.ok((await names(cli, 'health=starting')).includes(slow));
      assert.ok(!(await names(cli, 'health=none')).includes(name));
      // Five results at most are kept.
      const full = await waitHealth(name, (x) => x.Log.length === 5, 'five log entries');
      await sleep(500);
      assert.equal((await health(name))!.Log.length, 5);
      assert.ok(full.Log.every((e) => e.ExitCode === 0));
    } finally {
      await d.docker(['rm', '-f', name, slow]);
    }
  });

  test(`${cli}: failing checks make it unhealthy after the retries, with events`, async () => {
    const name = `unhealthy-${cli}`;
    const since = String(Math.floor(Date.now() / 1000) - 1);
    try {
      const r = await d[cli](['run', '-d', '--name', name, '--health-cmd', 'echo bad; exit 1', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '60']);
      assert.equal(r.code, 0, r.stderr);
      const h = await waitHealth(name, (x) => x.Status === 'unhealthy', 'unhealthy');
      assert.ok(h.FailingStreak >= 2, JSON.stringify(h));
      assert.equal(h.Log[0].ExitCode, 1);
      assert.equal(h.Log[0].Output, 'bad\n');
      const ps = await d[cli](['ps', '--filter', `name=^${name}$`, '--format', '{{.Status}}']);
      assert.match(ps.stdout, /^Up .* \(unhealthy\)\n$/);
      assert.ok((await names(cli, 'health=unhealthy')).includes(name));
      const ev = await d[cli](['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${name}`, '--format', '{{.Action}}']);
      assert.equal(ev.code, 0, ev.stderr);
      const actions = ev.stdout.split('\n').filter(Boolean);
      assert.ok(actions.includes('health_status: unhealthy'), actions.join('\n'));
      assert.ok(!actions.includes('health_status: healthy'), actions.join('\n'));
      // Each check is an exec, announced as Docker announces it.
      assert.ok(actions.includes('exec_create: /bin/sh -c echo bad; exit 1'), actions.join('\n'));
      assert.ok(actions.includes('exec_start: /bin/sh -c echo bad; exit 1'), actions.join('\n'));
      assert.ok(actions.includes('exec_die'), actions.join('\n'));
      const only = await d[cli](['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${name}`, '--filter', 'event=health_status', '--format', '{{.Status}}']);
      assert.deepEqual(only.stdout.split('\n').filter(Boolean), ['health_status: unhealthy']);
      // A stopped container keeps its log, and Docker shows it unhealthy.
      assert.equal((await d[cli](['stop', '-t', '0', name])).code, 0);
      const after = await health(name);
      assert.equal(after!.Status, 'unhealthy');
      assert.ok(after!.Log.length > 0);
    } finally {
      await d.docker(['rm', '-f', name]);
    }
  });
}

test('docker: failures in the start period do not count; checks run at the start interval meanwhile', async () => {
  const name = 'start-period';
  try {
    const r = await d.docker([
      'run', '-d', '--name', name, '--health-cmd', 'exit 1', '--health-start-period', '1h', '--health-start-interval', '100ms', '--health-interval', '1h', '--health-retries', '1', 'busybox', 'sleep', '60',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const h = await waitHealth(name, (x) => x.Log.length >= 3, 'three checks');
    assert.equal(h.Status, 'starting');
    assert.equal(h.FailingStreak, 0);
  } finally {
    await d.docker(['rm', '-f', name]);
  }
});

test('wharf: a check over its timeout fails with Docker\'s text', async () => {
  const name = 'timeout';
  try {
    const r = await d.wharf(['run', '-d', '--name', name, '--health-cmd', 'echo started; sleep 5', '--health-timeout', '300ms', '--health-interval', '200ms', '--health-retries', '1', 'busybox', 'sleep', '60']);
    assert.equal(r.code, 0, r.stderr);
    const h = await waitHealth(name, (x) => x.Status === 'unhealthy', 'unhealthy');
    assert.equal(h.Log[0].ExitCode, -1);
    assert.equal(h.Log[0].Output, 'Health check exceeded timeout (300ms): started\n');
  } finally {
    await d.docker(['rm', '-f', name]);
  }
});

test('the image HEALTHCHECK runs; --no-healthcheck overrides it with NONE', async () => {
  await d.docker(['create', '--name', 'hc-src', 'busybox']);
  const c = await d.docker(['commit', '-c', 'HEALTHCHECK --interval=200ms CMD ["true"]', 'hc-src', 'hc:img']);
  assert.equal(c.code, 0, c.stderr);
  try {
    assert.equal((await d.docker(['run', '-d', '--name', 'from-image', 'hc:img', 'sleep', '60'])).code, 0);
    assert.equal((await d.wharf(['run', '-d', '--name', 'no-check', '--no-healthcheck', 'hc:img', 'sleep', '60'])).code, 0);
    // Flags without a command keep the image's command.
    assert.equal((await d.docker(['run', '-d', '--name', 'retimed', '--health-retries', '7', 'hc:img', 'sleep', '60'])).code, 0);
    await waitHealth('from-image', (x) => x.Status === 'healthy', 'healthy from the image');
    const cfg = await d.docker(['inspect', '-f', '{{json .Config.Healthcheck}}', 'retimed']);
    assert.deepEqual(JSON.parse(cfg.stdout).Test, ['CMD', 'true']);
    assert.equal(JSON.parse(cfg.stdout).Retries, 7);
    const none = await d.docker(['inspect', '-f', '{{json .Config.Healthcheck.Test}} {{if .State.Health}}has-health{{else}}no-health{{end}}', 'no-check']);
    assert.equal(none.stdout, '["NONE"] no-health\n');
    await sleep(500);
    assert.equal(await health('no-check'), null);
    assert.ok((await names('docker', 'health=none')).includes('no-check'));
    assert.ok(!(await names('docker', 'health=none')).includes('from-image'));
    const ps = await d.docker(['ps', '--filter', 'name=^no-check$', '--format', '{{.Status}}']);
    assert.match(ps.stdout, /^Up [^(]*\n$/);
  } finally {
    await d.docker(['rm', '-f', 'hc-src', 'from-image', 'no-check', 'retimed']);
    await d.docker(['rmi', 'hc:img']);
  }
});

test('bad health options are refused with Docker\'s texts', async () => {
  for (const cli of ['docker', 'wharf'] as const) {
    const conflict = await d[cli](['run', '-d', '--no-healthcheck', '--health-cmd', 'true', 'busybox', 'true']);
    assert.equal(conflict.code, 125);
    assert.match(conflict.stderr, /--no-healthcheck conflicts with --health-\* options/);
    const tiny = await d[cli](['run', '-d', '--health-cmd', 'true', '--health-interval', '10us', 'busybox', 'true']);
    assert.equal(tiny.code, 125);
    assert.match(tiny.stderr, /Interval in Healthcheck cannot be less than 1ms/);
    // create reports a daemon's refusal with 1, as the docker CLI does.
    const created = await d[cli](['create', '--health-cmd', 'true', '--health-timeout', '10us', 'busybox', 'true']);
    assert.equal(created.code, 1);
    assert.match(created.stderr, /Error response from daemon: Timeout in Healthcheck cannot be less than 1ms/);
    const negative = await d[cli](['create', '--health-interval=-1s', 'busybox', 'true']);
    assert.equal(negative.code, 125);
    assert.match(negative.stderr, /--health-interval cannot be negative/);
    const bad = await d[cli](['ps', '--filter', 'health=sick']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'health=sick'/);
  }
  const api = await d.api('POST', '/v1.44/containers/create', { Image: 'busybox', Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } });
  assert.equal(api.status, 400);
  assert.equal(JSON.parse(api.body).message, 'Retries in Healthcheck cannot be negative');
});

test('checks resume after kill -9 of wharfd; the log persisted', async () => {
  const name = 'survives';
  try {
    const r = await d.docker(['run', '-d', '--name', name, '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '120']);
    assert.equal(r.code, 0, r.stderr);
    const before = await waitHealth(name, (x) => x.Status === 'healthy', 'healthy');
    assert.ok(before.Log.length > 0);
    await d.restart('SIGKILL');
    const killedAt = Date.now();
    // Inspect right after the restart shows what was saved; the checks then go on.
    const right = await health(name);
    assert.ok(right && right.Log.length > 0, JSON.stringify(right));
    const h = await waitHealth(name, (x) => x.Status === 'healthy' && x.Log.some((e) => Date.parse(e.Start) > killedAt), 'a check after the restart');
    assert.equal(h.Log.at(-1)!.ExitCode, 0);
    const st = await d.docker(['inspect', '--format', '{{.State.Health.Status}}', name]);
    assert.equal(st.stdout, 'healthy\n');
  } finally {
    await d.docker(['rm', '-f', name]);
  }
});

test('pause stops the checks and shows unhealthy; unpause runs them again', async () => {
  const name = 'paused-health';
  try {
    assert.equal((await d.docker(['run', '-d', '--name', name, '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '60'])).code, 0);
    await waitHealth(name, (x) => x.Status === 'healthy', 'healthy');
    assert.equal((await d.docker(['pause', name])).code, 0);
    const paused = await health(name);
    assert.equal(paused!.Status, 'unhealthy');
    assert.equal((await d.docker(['unpause', name])).code, 0);
    await waitHealth(name, (x) => x.Status === 'healthy', 'healthy after unpause');
  } finally {
    await d.docker(['rm', '-f', name]);
  }
});
