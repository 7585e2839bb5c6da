// What the real docker CLI prints for image and system commands, where a sweep against
// dockerd found wharf saying something else (each expectation is dockerd's output).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, exec, type TestDaemon } from './harness.js';

let d: TestDaemon;
let rootTar: string;
before(async () => {
  d = await startDaemon();
  const root = join(d.dir, 'rootfs');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/hello'), 'hi\n');
  rootTar = join(d.dir, 'root.tar');
  await exec('tar', ['-C', root, '-cf', rootTar, '.']);
});
after(async () => {
  await d?.stop();
});

const ok = async (args: string[]) => {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test('a missing image is named with its default tag; an ID as given', async () => {
  for (const args of [['history', 'nosuch'], ['rmi', 'nosuch'], ['tag', 'nosuch', 'x'], ['image', 'inspect', 'nosuch']]) {
    const r = await d.docker(args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error response from daemon: No such image: nosuch:latest$/m, args.join(' '));
  }
  assert.match((await d.docker(['rmi', 'sha256:abcd'])).stderr, /No such image: sha256:abcd$/m);
});

test('images shows N/A containers; system df counts them and the shared size', async () => {
  assert.equal(await ok(['images', '--format', '{{.Containers}}', 'busybox']), 'N/A\n');
  await ok(['create', '--name', 'dfuser', 'busybox', 'true']);
  try {
    assert.match(await ok(['system', 'df', '-v', '--format', '{{range .Images}}{{.Repository}} {{.SharedSize}} {{.Containers}}{{end}}']), /^busybox 0B 1$/m);
    // All of busybox is in use, so none of it is reclaimable (with SharedSize -1 the CLI said 100%).
    assert.match(await ok(['system', 'df', '--format', '{{.Type}}: {{.Reclaimable}}']), /^Images: 0B \(0%\)$/m);
  } finally {
    await d.docker(['rm', '-f', 'dfuser']);
  }
});

test('a layer size counts symlink targets, as Docker measures a layer', async () => {
  const size = Number((await ok(['image', 'inspect', '-f', '{{.Size}}', 'busybox'])).trim());
  const layer = (await ok(['image', 'inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'busybox'])).trim();
  // du's apparent size of every non-directory, hard links once: what Docker's directory.Size adds up.
  const found = await exec('sh', ['-c', `find "${layer}" ! -type d -printf '%i %s\\n' | sort -u | awk '{n+=$2} END {print n}'`]);
  assert.equal(size, Number(found.stdout.trim()));
});

test('import and commit take HEALTHCHECK changes', async () => {
  await ok(['import', '-c', 'HEALTHCHECK --interval=5s --retries=3 CMD true', rootTar, 'hc:1']);
  assert.equal(await ok(['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', 'hc:1']), '{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":3}\n');
  await ok(['create', '--name', 'hcsrc', 'busybox']);
  try {
    await ok(['commit', '-c', 'HEALTHCHECK NONE', 'hcsrc', 'hc:2']);
    assert.equal(await ok(['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', 'hc:2']), '{"Test":["NONE"]}\n');
  } finally {
    await d.docker(['rm', '-f', 'hcsrc']);
    await d.docker(['rmi', 'hc:1', 'hc:2']);
  }
});

test('import errors before any progress are error responses, as Docker sends them', async () => {
  const bad = await d.docker(['import', '-c', 'BOGUS x', rootTar, 'x:1']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error response from daemon: bogus is not a valid change command\n');
  const notTar = join(d.dir, 'not.tar');
  await writeFile(notTar, 'not a tar\n');
  const r = await d.docker(['import', notTar, 'x:1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error response from daemon: /);
});

test('rmi and prune list the layers they delete; prune refuses unknown filters', async () => {
  await ok(['import', rootTar, 'gone:1']);
  const layer = (await ok(['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', 'gone:1'])).trim();
  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'gone:1'])).trim();
  assert.equal(await ok(['rmi', 'gone:1']), `Untagged: gone:1\nDeleted: ${id}\nDeleted: ${layer}\n`);
  for (const args of [['image', 'prune', '-f', '--filter', 'bogus=1'], ['system', 'prune', '-f', '--filter', 'bogus=1']]) {
    const r = await d.docker(args);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "Error response from daemon: invalid filter 'bogus'\n");
  }
  const r = await d.docker(['image', 'prune', '-f', '--filter', 'until=notatime']);
  assert.equal(r.stderr, 'Error response from daemon: failed to parse value as time or duration: "notatime"\n');
});

test('image prune until= compares creation times to the millisecond, not the second', async () => {
  await ok(['import', '-c', 'LABEL fresh=1', rootTar, 'fresh:1']);
  // Created well under a minute ago: not older than until=1m, whatever the fraction of a second.
  assert.equal(await ok(['image', 'prune', '-a', '-f', '--filter', 'until=1m', '--filter', 'label=fresh']), 'Total reclaimed space: 0B\n');
  await ok(['rmi', 'fresh:1']);
});

test('image events carry the image ID as name, as Docker sends them; prune sends one too', async () => {
  const since = (Date.now() / 1000).toFixed(3);
  await ok(['import', rootTar, 'ev:1']);
  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'ev:1'])).trim();
  await ok(['rmi', 'ev:1']);
  await ok(['image', 'prune', '-f']);
  const until = String(Math.floor(Date.now() / 1000) + 1);
  await new Promise((r) => setTimeout(r, 1100));
  const out = await ok(['events', '--since', since, '--until', until, '--filter', 'type=image', '--format', '{{.Action}} {{range $k, $v := .Actor.Attributes}}{{$k}}={{$v}}{{end}}']);
  assert.equal(out, `tag name=ev:1\nimport name=${id}\nuntag name=${id}\ndelete name=${id}\nprune reclaimed=0\n`);
  assert.equal(await ok(['events', '--since', since, '--until', until, '--filter', 'image=ev', '--format', '{{.Action}}']), 'tag\n');
});

test('version names the runtime and conmon with their own versions', async () => {
  const out = await ok(['version', '-f', '{{range .Server.Components}}{{.Name}}={{.Version}} {{end}}']);
  const runc = /runc version (\S+)/.exec((await exec('runc', ['--version'])).stdout)?.[1];
  assert.ok(runc);
  assert.match(out, new RegExp(`^Engine=\\S+ runc=${runc.replace(/[.+]/g, '\\$&')} conmon=\\d`));
});
