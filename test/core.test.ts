/**
 * Engine-core behaviour that docker-py's integration suite found different from Docker (issue 13),
 * each observed through the API or the docker CLI against a private wharfd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startDaemon, type TestDaemon } from './harness.js';

let d: TestDaemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d?.stop();
});

/** POSTs an exec start as an Upgrade, writes `input` after the 101, and returns what came back until the daemon closed. */
function hijackedStart(
  execId: string,
  body: object,
  input: Buffer[] = [],
  gapMs = 300,
  bodyApart = false,
): Promise<{ status: string; data: Buffer; closedByDaemon: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(d.socket);
    const json = JSON.stringify(body);
    let buf = Buffer.alloc(0);
    let status = '';
    let headerEnd = -1;
    const timer = setTimeout(() => finish(false), 15_000);
    const finish = (closedByDaemon: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ status, data: headerEnd < 0 ? Buffer.alloc(0) : buf.subarray(headerEnd + 4), closedByDaemon });
    };
    sock.on('error', reject);
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (headerEnd < 0 && (headerEnd = buf.indexOf('\r\n\r\n')) >= 0) {
        status = buf.subarray(0, buf.indexOf('\r\n')).toString();
        void (async () => {
          for (const b of input) {
            await new Promise((r) => setTimeout(r, gapMs));
            if (!sock.destroyed) sock.write(b);
          }
        })();
      }
    });
    sock.on('end', () => finish(true));
    const head = `POST /v1.43/exec/${execId}/start HTTP/1.1\r\nHost: wharf\r\nContent-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n`;
    // Python's http.client (docker-py) sends the body in a write of its own.
    if (!bodyApart) sock.write(head + json);
    else {
      sock.write(head);
      setTimeout(() => sock.write(json), 100);
    }
  });
}

/** The payloads of a multiplexed stream, by stream number. */
function demux(data: Buffer): { stream: number; text: string }[] {
  const out: { stream: number; text: string }[] = [];
  for (let off = 0; off + 8 <= data.length; ) {
    const len = data.readUInt32BE(off + 4);
    out.push({ stream: data[off], text: data.subarray(off + 8, off + 8 + len).toString() });
    off += 8 + len;
  }
  return out;
}

async function runningContainer(name: string, cmd = ['sleep', '1000']): Promise<string> {
  const r = await d.docker(['run', '-d', '--name', name, 'busybox', ...cmd]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function execCreate(container: string, body: object): Promise<string> {
  const r = await d.api('POST', `/containers/${container}/exec`, body);
  assert.equal(r.status, 201, r.body);
  return (JSON.parse(r.body) as { Id: string }).Id;
}

test('kill with SIGKILL: inspect right after shows it stopped with 137, and rm right after succeeds', async () => {
  for (let i = 0; i < 3; i++) {
    const name = `core-kill-${i}`;
    await runningContainer(name);
    assert.equal((await d.api('POST', `/containers/${name}/kill`)).status, 204);
    const st = JSON.parse((await d.api('GET', `/containers/${name}/json`)).body).State;
    assert.deepEqual([st.Running, st.ExitCode, st.Status], [false, 137, 'exited']);
    const rm = await d.api('DELETE', `/containers/${name}`);
    assert.equal(rm.status, 204, rm.body);
  }
});

test('rm of a container its restart policy is restarting: 409 without force, removed with it', async () => {
  const name = 'core-restarting';
  assert.equal((await d.docker(['run', '-d', '--name', name, '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1'])).code, 0);
  let status = '';
  for (let i = 0; i < 200 && status !== 'restarting'; i++) {
    status = JSON.parse((await d.api('GET', `/containers/${name}/json`)).body).State.Status;
    if (status !== 'restarting') await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(status, 'restarting');
  const r = await d.api('DELETE', `/containers/${name}`);
  // Between two restarts the container may be running: Docker refuses both the same way.
  assert.equal(r.status, 409, r.body);
  assert.match(JSON.parse(r.body).message, /^cannot remove container "\/core-restarting": container is (restarting|running): stop the container before removing or force remove$/);
  assert.equal((await d.api('DELETE', `/containers/${name}?force=1`)).status, 204);
  assert.equal((await d.api('GET', `/containers/${name}/json`)).status, 404);
});

test('Env entries without = are kept in Config.Env as given, and the container still runs', async () => {
  const r = await d.api('POST', '/containers/create?name=core-env', { Image: 'busybox', Cmd: ['env'], Env: ['Foo', 'Other=one', 'Blank='] });
  assert.equal(r.status, 201, r.body);
  const env = JSON.parse((await d.api('GET', '/containers/core-env/json')).body).Config.Env as string[];
  assert.deepEqual(env.filter((e) => /^(Foo|Other|Blank)/.test(e)).sort(), ['Blank=', 'Foo', 'Other=one']);
  assert.equal((await d.docker(['start', '-a', 'core-env'])).code, 0);
  const out = (await d.docker(['logs', 'core-env'])).stdout;
  assert.match(out, /^Other=one$/m);
  assert.doesNotMatch(out, /^Foo/m);
});

test('commit of a container that was created but never started works with pause=true', async () => {
  assert.equal((await d.api('POST', '/containers/create?name=core-fresh', { Image: 'busybox', Cmd: ['true'] })).status, 201);
  const r = await d.api('POST', '/commit?container=core-fresh&pause=1&repo=core-fresh-img');
  assert.equal(r.status, 201, r.body);
  assert.match(JSON.parse(r.body).Id, /^sha256:[0-9a-f]{64}$/);
});

test('exec with Tty and no stdin gets a TTY: one stream with \\r\\n, framed when the start asks for no Tty', async () => {
  await runningContainer('core-tty');
  const cmd = ['sh', '-c', 'test -t 1 && echo tty; echo err >&2'];
  let id = await execCreate('core-tty', { Cmd: cmd, Tty: true, AttachStdout: true, AttachStderr: true });
  let r = await hijackedStart(id, { Tty: true });
  assert.match(r.status, / 101 /);
  assert.equal(r.data.toString(), 'tty\r\nerr\r\n');
  // docker-py's exec_start(socket=True) sends Tty false: the same one stream, in stdout frames.
  id = await execCreate('core-tty', { Cmd: cmd, Tty: true, AttachStdout: true, AttachStderr: true });
  r = await hijackedStart(id, { Tty: false });
  assert.deepEqual(demux(r.data).map((f) => f.stream), demux(r.data).map(() => 1));
  assert.equal(demux(r.data).map((f) => f.text).join(''), 'tty\r\nerr\r\n');
});

test('detach keys given at exec create (ctrl-p alone, in docker-py\'s spelling) detach a TTY exec', async () => {
  await runningContainer('core-detach');
  const id = await execCreate('core-detach', { Cmd: ['cat'], AttachStdin: true, AttachStdout: true, Tty: true, detachKeys: 'ctrl-p' });
  assert.equal(JSON.parse((await d.api('GET', `/exec/${id}/json`)).body).DetachKeys, 'ctrl-p');
  const r = await hijackedStart(id, { Tty: true }, [Buffer.from('hi\n'), Buffer.from([0x10])]);
  assert.equal(r.closedByDaemon, true, 'the daemon ended the session');
  assert.match(r.data.toString(), /hi/);
  // Detaching leaves the process running, as with Docker.
  assert.equal(JSON.parse((await d.api('GET', `/exec/${id}/json`)).body).Running, true);
});

test('stdin reaches an exec whose start body came in a packet of its own, with and without a TTY', async () => {
  await runningContainer('core-apart');
  for (const tty of [true, false]) {
    const id = await execCreate('core-apart', { Cmd: ['head', '-n1'], AttachStdin: true, AttachStdout: true, Tty: tty });
    const r = await hijackedStart(id, { Tty: tty }, [Buffer.from('apart\n')], 300, true);
    assert.equal(r.closedByDaemon, true, `tty=${tty}: head read its line and exited`);
    const text = tty ? r.data.toString() : demux(r.data).map((f) => f.text).join('');
    assert.match(text, /apart/, `tty=${tty}`);
  }
});

test('exec of a command that does not exist: exit code 127, as current Docker records it', async () => {
  await runningContainer('core-nocmd');
  const id = await execCreate('core-nocmd', { Cmd: ['no-such-command'], AttachStdout: true, AttachStderr: true });
  await hijackedStart(id, { Tty: false });
  assert.equal(JSON.parse((await d.api('GET', `/exec/${id}/json`)).body).ExitCode, 127);
  const r = await d.docker(['exec', 'core-nocmd', 'no-such-command']);
  assert.equal(r.code, 127);
});

test('a request body over the limit gets a 413 answer before the connection closes', async () => {
  const big = 'x'.repeat(64 * 1024 * 1024);
  const r = await d.api('POST', '/containers/create', { Image: 'busybox', Env: [`BIG=${big}`] });
  assert.equal(r.status, 413);
  assert.match(JSON.parse(r.body).message, /request body too large/);
  // The daemon is none the worse.
  assert.equal((await d.api('GET', '/_ping')).status, 200);
});

test('swarm endpoints answer as a dockerd outside any swarm: 503 with its texts', async () => {
  const notManager = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
  for (const path of ['/swarm', '/nodes', '/services']) {
    const r = await d.api('GET', `/v1.47${path}`);
    assert.equal(r.status, 503, path);
    assert.equal(JSON.parse(r.body).message, notManager, path);
  }
  const leave = await d.api('POST', '/v1.47/swarm/leave?force=1');
  assert.equal(leave.status, 503);
  assert.equal(JSON.parse(leave.body).message, 'This node is not part of a swarm');
  const nodes = await d.docker(['node', 'ls']);
  assert.equal(nodes.code, 1);
  assert.equal(nodes.stderr, `Error response from daemon: ${notManager}\n`);
});
