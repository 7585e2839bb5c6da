/**
 * `build` end to end (issue #10): the CLIs' options, the Dockerfile syntax, each instruction,
 * .dockerignore, multi-stage, the cache and the layers of the result.
 *
 * Runs against a private wharfd, through both `wharf build` and the docker CLI's classic builder
 * (DOCKER_BUILDKIT=0). WHARF_BUILD_TESTS_ENGINE=docker runs the same assertions against a private
 * dockerd instead (see build-engine.ts): that is how these expectations were checked. Tests
 * marked `bk` use BuildKit-only features: on dockerd they go through Debian's 20.10 CLI with
 * DOCKER_BUILDKIT=1; `wharfOnly(...)` leaves a test out of the dockerd run and says why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { readFile, writeFile, utimes, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tarOfEntries } from '../src/util/index.js';
import { ENGINE, assertClean, built, config, context, dangling, fixture, imageId, inspect, must, sh, startBuildEngine, wharfOnly, type BuildEngine } from './build-engine.js';

const T = { timeout: 240_000 };
let E: BuildEngine;
let server: Server;
let port = 0;
const served: Record<string, string> = { '/ok': 'hello-from-host\n', '/remote.txt': 'downloaded body\n' };

before(async () => {
  server = createServer((req, res) => {
    const body = served[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Last-Modified': 'Mon, 02 Jan 2006 15:04:05 GMT' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  port = (server.address() as { port: number }).port;
  E = await startBuildEngine('wharfbuild');
});
after(async () => {
  server?.close();
  await E?.stop();
});

const steps = (out: string) => out.split('\n').filter((l) => /^Step \d+\/\d+ : /.test(l));
const cached = (out: string) => out.split('\n').filter((l) => l.trim() === '---> Using cache').length;
// busybox's wget crashes in this image's static build; nc speaks enough HTTP.
const fetchCmd = (host: string, path: string) => `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc ${host} ${port} > /tmp/raw && sed '1,/^.$/d' /tmp/raw`;
const builtId = (out: string) => /Successfully built ([0-9a-f]{12})\n/.exec(out)?.[1];

// ---------------------------------------------------------------------------------------------
// The clients and their options

test('classic output: Step i/N lines, Successfully built <the image id>, Successfully tagged, -t several', T, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nENV A=1\nRUN echo hi > /hi\nCMD ["cat", "/hi"]\n' });
  for (const client of E.clients) {
    const r = await built(E.build(client, ['-t', `${client}-out:1`, '-t', `${client}-out2`, ctx]));
    assert.deepEqual(steps(r.stdout), ['Step 1/4 : FROM busybox', 'Step 2/4 : ENV A=1', 'Step 3/4 : RUN echo hi > /hi', 'Step 4/4 : CMD ["cat", "/hi"]'], r.stdout);
    const id = await imageId(E, `${client}-out:1`);
    assert.equal(builtId(r.stdout), id.slice('sha256:'.length, 'sha256:'.length + 12), r.stdout);
    assert.match(r.stdout, new RegExp(`Successfully tagged ${client}-out:1\\n`));
    assert.match(r.stdout, new RegExp(`Successfully tagged ${client}-out2:latest\\n`));
    assert.equal(await imageId(E, `${client}-out2`), id);
    assert.equal(await must(E, ['run', '--rm', `${client}-out:1`]), 'hi\n');
  }
});

test('-q prints only the image id; --iidfile writes it', T, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nLABEL q=1\n' });
  for (const client of E.clients) {
    const iid = join(E.tmp, `${client}.iid`);
    const r = await built(E.build(client, ['-q', '-t', `${client}-q`, ctx]));
    const id = await imageId(E, `${client}-q`);
    assert.equal(r.stdout, `${id}\n`);
    await built(E.build(client, ['--iidfile', iid, ctx]));
    assert.equal(await readFile(iid, 'utf8'), id);
  }
});

test('-f: another name in the context, a file outside the context, and -f - (stdin)', T, async () => {
  const ctx = await context(E, { 'a.txt': 'from-context\n', 'build/Other.df': 'FROM busybox\nCOPY a.txt /a\nLABEL which=other\n' });
  const outside = await context(E, { 'Outside.df': 'FROM busybox\nCOPY a.txt /a\nLABEL which=outside\n' });
  for (const client of E.clients) {
    await built(E.build(client, ['-f', join(ctx, 'build/Other.df'), '-t', `${client}-f1`, ctx]));
    assert.equal((await config(E, `${client}-f1`)).Labels.which, 'other');
    await built(E.build(client, ['-f', join(outside, 'Outside.df'), '-t', `${client}-f2`, ctx]));
    assert.equal((await config(E, `${client}-f2`)).Labels.which, 'outside');
    assert.equal(await sh(E, `${client}-f2`, 'cat /a'), 'from-context\n');
    await built(E.build(client, ['-f', '-', '-t', `${client}-f3`, ctx], { input: 'FROM busybox\nCOPY a.txt /a\nLABEL which=stdin\n' }));
    assert.equal((await config(E, `${client}-f3`)).Labels.which, 'stdin');
    assert.equal(await sh(E, `${client}-f3`, 'cat /a'), 'from-context\n');
  }
});

test('context `-`: a Dockerfile alone on stdin, and a tar on stdin', T, async () => {
  const tar = await tarOfEntries([
    { name: 'Dockerfile', body: 'FROM busybox\nCOPY in-tar.txt /t\n' },
    { name: 'in-tar.txt', body: 'tarred\n' },
  ]);
  for (const client of E.clients) {
    await built(E.build(client, ['-t', `${client}-stdin`, '-'], { input: 'FROM busybox\nRUN echo plain > /p\n' }));
    assert.equal(await sh(E, `${client}-stdin`, 'cat /p'), 'plain\n');
    await built(E.build(client, ['-t', `${client}-tar`, '-'], { input: tar }));
    assert.equal(await sh(E, `${client}-tar`, 'cat /t'), 'tarred\n');
  }
});

test('--build-arg, --target, --label, --no-cache, --platform linux/amd64, --pull (FROM scratch)', T, async () => {
  const ctx = await context(E, {
    Dockerfile: 'FROM busybox AS one\nARG GREETING=default\nRUN echo "$GREETING" > /g\nFROM one AS two\nRUN echo two > /two\nFROM scratch AS three\nCOPY --from=two /two /two\n',
  });
  for (const client of E.clients) {
    await built(E.build(client, ['--build-arg', 'GREETING=bonjour', '--target', 'two', '--label', 'l1=v1', '--label', 'l2=v 2', '--platform', 'linux/amd64', '-t', `${client}-opts`, ctx]));
    assert.equal(await sh(E, `${client}-opts`, 'cat /g /two'), 'bonjour\ntwo\n');
    const c = await config(E, `${client}-opts`);
    assert.equal(c.Labels.l1, 'v1');
    assert.equal(c.Labels.l2, 'v 2');
    assert.equal((await inspect<string>(E, `${client}-opts`, '{{json .Architecture}}')), 'amd64');
    const again = await built(E.build(client, ['--build-arg', 'GREETING=bonjour', '--target', 'two', '--no-cache', '-t', `${client}-opts`, ctx]));
    assert.equal(cached(again.stdout), 0, again.stdout);
    // --pull looks for a newer base of every stage; scratch is none, so no registry is needed.
    const scratch = await context(E, { Dockerfile: 'FROM scratch\nCOPY Dockerfile /\n' });
    await built(E.build(client, ['--pull', '-t', `${client}-pull`, scratch]));
    assert.equal(await inspect<number>(E, `${client}-pull`, '{{len .RootFS.Layers}}'), 1);
  }
});

test('--network host reaches the host loopback, --network none reaches nothing', T, async () => {
  const ctx = await context(E, { Dockerfile: `FROM busybox\nRUN ${fetchCmd('127.0.0.1', '/ok')} > /got\n` });
  for (const client of E.clients) {
    await built(E.build(client, ['--network', 'host', '--no-cache', '-t', `${client}-nethost`, ctx]));
    assert.equal(await sh(E, `${client}-nethost`, 'cat /got'), served['/ok']);
    const none = await E.build(client, ['--network', 'none', '--no-cache', ctx]);
    assert.notEqual(none.code, 0, none.stdout);
  }
});

// The test dockerd runs with --bridge=none (it must not touch the host's networks), so its RUN
// containers have no bridge: only wharf's default network can be checked.
test('the default (bridge) network reaches a server on the bridge gateway', { ...T, ...wharfOnly('the test dockerd has no bridge') }, async () => {
  const gw = (await must(E, ['network', 'inspect', 'bridge', '-f', '{{(index .IPAM.Config 0).Gateway}}'])).trim();
  const ctx = await context(E, { Dockerfile: `FROM busybox\nRUN ${fetchCmd(gw, '/ok')} > /got\n` });
  for (const client of E.clients) {
    await built(E.build(client, ['--no-cache', '-t', `${client}-netbridge`, ctx]));
    assert.equal(await sh(E, `${client}-netbridge`, 'cat /got'), served['/ok']);
  }
});

test('--add-host lands in the RUN containers\' /etc/hosts, not in the image', T, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nRUN grep myhost /etc/hosts > /h\n' });
  for (const client of E.clients) {
    await built(E.build(client, ['--add-host', 'myhost:10.1.2.3', '--no-cache', '-t', `${client}-addhost`, ctx]));
    assert.match(await sh(E, `${client}-addhost`, 'cat /h'), /^10\.1\.2\.3\s+myhost$/m);
    assert.doesNotMatch(await sh(E, `${client}-addhost`, 'cat /etc/hosts'), /myhost/);
  }
});

test('--cache-from: a loaded image (no local build cache) supplies the cache', T, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nRUN echo cf > /cf\nENV CF=1\n' });
  const tar = join(E.tmp, 'cf.tar');
  for (const client of E.clients) {
    await built(E.build(client, ['-t', `${client}-cf:1`, ctx]));
    const id = await imageId(E, `${client}-cf:1`);
    await must(E, ['save', '-o', tar, `${client}-cf:1`]);
    await must(E, ['rmi', `${client}-cf:1`]);
    await must(E, ['load', '-i', tar]);
    const cold = await built(E.build(client, ['-t', `${client}-cf:2`, ctx]));
    assert.equal(cached(cold.stdout), 0, `a loaded image's steps are no cache by themselves:\n${cold.stdout}`);
    await must(E, ['rmi', `${client}-cf:2`]);
    const warm = await built(E.build(client, ['--cache-from', `${client}-cf:1`, '-t', `${client}-cf:3`, ctx]));
    assert.equal(cached(warm.stdout), 2, warm.stdout);
    assert.equal(await imageId(E, `${client}-cf:3`), id);
    await rm(tar, { force: true });
  }
});

test('--cache-from: layers restored in the middle, the source taken whole, no dangling images, rmi frees them', T, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nRUN echo a > /a\nENV X=1\nRUN echo b > /b\nCMD ["cat", "/a", "/b"]\n' });
  const tar = join(E.tmp, 'cfl.tar');
  // One line per tag: the IDs, once each.
  const all = async () => [...new Set((await must(E, ['images', '-a', '-q', '--no-trunc'])).split('\n').filter(Boolean))].sort();
  for (const client of E.clients) {
    await built(E.build(client, ['-t', `${client}-cfl:1`, ctx]));
    const id = await imageId(E, `${client}-cfl:1`);
    await must(E, ['save', '-o', tar, `${client}-cfl:1`]);
    await must(E, ['rmi', `${client}-cfl:1`]);
    await must(E, ['load', '-i', tar]);
    const before = await all();
    const danglingBefore = await dangling(E);
    const warm = await built(E.build(client, ['--cache-from', `${client}-cfl:1`, '-t', `${client}-cfl:2`, ctx]));
    assert.equal(cached(warm.stdout), 4, warm.stdout);
    assert.equal(await imageId(E, `${client}-cfl:2`), id);
    assert.equal(await sh(E, `${client}-cfl:2`, 'cat /a /b'), 'a\nb\n');
    // The restored images are the source's parents now: intermediate, not dangling.
    assert.deepEqual(await dangling(E), danglingBefore, warm.stdout);
    assert.equal((await all()).length, before.length + 3, warm.stdout);
    // Taken from --cache-from, not built here: a build without it runs its steps.
    const cold = await built(E.build(client, ['-t', `${client}-cfl:3`, ctx]));
    assert.equal(cached(cold.stdout), 0, cold.stdout);
    await must(E, ['rmi', `${client}-cfl:3`]);
    // Removing the source removes the images restored under it.
    await must(E, ['rmi', `${client}-cfl:1`, `${client}-cfl:2`]);
    assert.deepEqual(await all(), before.filter((i) => i !== id));
    await rm(tar, { force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Dockerfile syntax

test('directives: # escape=` and # syntax= (ignored by the classic builder)', T, async () => {
  const ctx = await fixture(E, 'escape');
  await built(E.build(E.clients[0], ['-t', 'escape', ctx]));
  const c = await config(E, 'escape');
  assert.ok(c.Env.includes('WINPATH=C:\\dir\\sub'), JSON.stringify(c.Env));
  assert.equal(await sh(E, 'escape', 'cat /joined'), 'one two\n');
  assert.equal(c.WorkingDir, '/w\\x');
});

test('continuations, comments inside them, blank lines, JSON and shell forms, invalid JSON is shell form', T, async () => {
  const ctx = await fixture(E, 'syntax');
  await built(E.build(E.clients[0], ['-t', 'syntax', ctx]));
  assert.equal(await sh(E, 'syntax', 'cat /cont /json'), 'one two three\njson form\n');
  const c = await config(E, 'syntax');
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '[not json']);
  assert.deepEqual(c.Cmd, ['a', 'b c']);
});

test('substitutions: ${v:-w} ${v:+w} $v ${v} escapes and quotes', T, async () => {
  const ctx = await fixture(E, 'subst');
  await built(E.build(E.clients[0], ['-t', 'subst', ctx]));
  const env = (await config(E, 'subst')).Env as string[];
  for (const kv of ['A=a', 'B=a', 'C=w', 'D=y', 'E=', 'F=$A', 'G=$A', 'H=a-a', 'I=two words', 'J=a"q', 'K=/a/x']) assert.ok(env.includes(kv), `${kv} in ${JSON.stringify(env)}`);
  assert.equal((await config(E, 'subst')).WorkingDir, '/a/x');
  assert.equal((await config(E, 'subst')).Labels['lbl-a'], 'a');
});

// The Debian 20.10 dockerd's built-in Dockerfile frontend predates heredocs (dockerfile 1.4), and
// there is no registry to pull docker/dockerfile:1 from.
test('heredocs: RUN <<EOF, COPY <<EOF /f, with and without expansion', { ...T, ...wharfOnly('dockerd 20.10 has no heredocs') }, async () => {
  const ctx = await context(E, {
    Dockerfile: [
      'FROM busybox',
      'ENV WHO=world',
      'RUN <<EOF',
      'echo "hello $WHO" > /run1',
      'echo second >> /run1',
      'EOF',
      'COPY <<EOF /copied',
      'hi ${WHO}',
      'EOF',
      "COPY <<'EOF' /raw",
      'hi ${WHO}',
      'EOF',
      'RUN <<A cat > /two && <<B cat >> /two',
      'first',
      'A',
      'second',
      'B',
      '',
    ].join('\n'),
  });
  await built(E.buildkit(['-t', 'heredoc', ctx]));
  assert.equal(await sh(E, 'heredoc', 'cat /run1 /copied /raw'), 'hello world\nsecond\nhi world\nhi ${WHO}\n');
});

// ---------------------------------------------------------------------------------------------
// Instructions

test('config instructions: CMD ENTRYPOINT ENV LABEL EXPOSE VOLUME USER WORKDIR STOPSIGNAL HEALTHCHECK SHELL MAINTAINER', T, async () => {
  const ctx = await fixture(E, 'config');
  await built(E.build(E.clients[0], ['-t', 'cfg', ctx]));
  const c = await config(E, 'cfg');
  assert.ok(c.Env.includes('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'), JSON.stringify(c.Env));
  assert.ok(c.Env.includes('APP=one'));
  assert.ok(c.Env.includes('TWO=two words'));
  assert.deepEqual(c.Labels, { 'org.example.a': 'b', 'with space': 'v v', multi: '1' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8080/tcp': {} });
  assert.deepEqual(c.Volumes, { '/data': {}, '/logs': {} });
  assert.equal(c.User, '1000:1000');
  assert.equal(c.WorkingDir, '/srv/app');
  assert.equal(c.StopSignal, 'SIGUSR1');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'test -f /srv/app/ok'], Interval: 5_000_000_000, Timeout: 2_000_000_000, StartPeriod: 1_000_000_000, Retries: 4 });
  assert.deepEqual(c.Shell, ['/bin/sh', '-c', 'echo custom-shell > /tmp/shell-was-used; eval "$1"', 'shell']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', 'echo entry "$@"', 'entry']);
  // A shell-form CMD after SHELL uses that shell.
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo custom-shell > /tmp/shell-was-used; eval "$1"', 'shell', 'echo from cmd']);
  assert.equal(await inspect<string>(E, 'cfg', '{{json .Author}}'), 'Jane Doe <jane@example.com>');
  // WORKDIR made the directory, USER applies to RUN (the file belongs to 1000), SHELL ran the RUN.
  assert.equal(await must(E, ['run', '--rm', '--entrypoint', 'sh', '-u', '0', 'cfg', '-c', 'stat -c "%u:%g %n" /srv/app/ok; cat /tmp/shell-was-used']), '1000:1000 /srv/app/ok\ncustom-shell\n');
  assert.equal(await must(E, ['run', '--rm', 'cfg', 'x', 'y']), 'entry x y\n');
});

test('FROM: AS, scratch, an earlier stage, ARG before FROM', T, async () => {
  const ctx = await context(E, {
    Dockerfile: 'ARG BASE=busybox\nARG TAG=latest\nFROM ${BASE}:${TAG} AS base\nRUN echo base > /base\nFROM base\nRUN echo child > /child\nFROM scratch AS empty\nCOPY --from=1 /child /c\n',
  });
  await built(E.build(E.clients[0], ['-t', 'from-scratch', ctx]));
  assert.equal(await inspect<number>(E, 'from-scratch', '{{len .RootFS.Layers}}'), 1);
  await must(E, ['create', '--name', 'from-scratch-c', 'from-scratch', 'x']);
  const exported = await E.docker(['export', 'from-scratch-c']);
  await must(E, ['rm', 'from-scratch-c']);
  assert.match(exported.stdout, /child\n/);
  await built(E.build(E.clients[0], ['--target', 'base', '-t', 'from-base', ctx]));
  assert.equal(await sh(E, 'from-base', 'cat /base; test -e /child || echo no-child'), 'base\nno-child\n');
});

test('ARG scoping per stage, build args, proxy args kept out of the image and its history', T, async () => {
  const ctx = await fixture(E, 'args');
  await built(E.build(E.clients[0], ['--build-arg', 'W=given', '--build-arg', 'HTTP_PROXY=http://proxy.invalid:3128', '-t', 'args', ctx]));
  assert.equal(await sh(E, 'args', 'cat /v1 /v2 /w /p /s2'), 'v=[]\nv=[global]\nw=given\np=http://proxy.invalid:3128\ns2=[] [stage2]\n');
  const c = await config(E, 'args');
  assert.ok(!c.Env.some((e: string) => /^(V|W|HTTP_PROXY)=/.test(e)), JSON.stringify(c.Env));
  const hist = await must(E, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'args']);
  assert.doesNotMatch(hist, /proxy\.invalid/);
  assert.match(hist, /W=given/, 'a used build arg shows in the RUN\'s history, as in Docker');
});

test('COPY/ADD: wildcards, directory semantics, --chown by name and id, --from a stage and an image', T, async () => {
  const ctx = await fixture(E, 'copy');
  await built(E.build(E.clients[0], ['-t', 'copy', ctx]));
  const listing = await sh(E, 'copy', 'cd /out && find . | sort');
  assert.equal(
    listing,
    ['.', './a.txt', './b.txt', './dircontent', './dircontent/inner', './dircontent/inner/deep.txt', './dircontent/top.txt', './newdir', './newdir/a.txt', './r.txt', './renamed.txt', './stage', './stage/made'].join('\n') + '\n',
  );
  assert.equal(await sh(E, 'copy', 'stat -c "%u:%g %n" /own/id.txt /own/name.txt /own/dir /own/dir/f'), '1000:1001 /own/id.txt\n65534:65534 /own/name.txt\n123:456 /own/dir\n123:456 /own/dir/f\n');
  assert.equal(await sh(E, 'copy', '/opt/busybox echo from-image-busybox'), 'from-image-busybox\n');
  assert.equal(await sh(E, 'copy', 'cat /out/stage/made'), 'made in stage\n');
  // Copied files keep their mode.
  assert.equal(await sh(E, 'copy', 'stat -c "%a" /out/renamed.txt /tools/run.sh'), '644\n755\n');
});

test('ADD: a local tar (and tar.gz) is unpacked, a URL is downloaded', T, async () => {
  const ctx = await context(E, { Dockerfile: `FROM busybox\nADD t.tar /untar/\nADD t.tar.gz /untargz/\nADD http://127.0.0.1:${port}/remote.txt /dl/\nADD http://127.0.0.1:${port}/remote.txt /named.txt\n` });
  const tar = await tarOfEntries([
    { name: 'in/', type: 'directory', mode: 0o755 },
    { name: 'in/file', body: 'in tar\n', mode: 0o640, uid: 7, gid: 8 },
    { name: 'in/link', type: 'symlink', linkname: 'file' },
  ]);
  await writeFile(join(ctx, 't.tar'), tar);
  const { gzipSync } = await import('node:zlib');
  await writeFile(join(ctx, 't.tar.gz'), gzipSync(tar));
  await built(E.build(E.clients[0], ['-t', 'add', ctx]));
  assert.equal(await sh(E, 'add', 'cat /untar/in/file /untargz/in/link; stat -c "%a %u:%g" /untar/in/file; readlink /untar/in/link'), 'in tar\nin tar\n640 7:8\nfile\n');
  assert.equal(await sh(E, 'add', 'cat /dl/remote.txt /named.txt; stat -c %a /named.txt'), `${served['/remote.txt']}${served['/remote.txt']}600\n`);
});

test('ONBUILD: stored in the image, run by the child\'s FROM', T, async () => {
  const base = await context(E, { Dockerfile: 'FROM busybox\nONBUILD RUN echo triggered > /onbuild\nONBUILD ENV FROM_TRIGGER=1\n' });
  await built(E.build(E.clients[0], ['-t', 'onbuild-base', base]));
  assert.deepEqual((await config(E, 'onbuild-base')).OnBuild, ['RUN echo triggered > /onbuild', 'ENV FROM_TRIGGER=1']);
  const child = await context(E, { Dockerfile: 'FROM onbuild-base\nRUN cat /onbuild > /seen\n' });
  const r = await built(E.build(E.clients[0], ['-t', 'onbuild-child', child]));
  assert.match(r.stdout, /# Executing 2 build triggers/);
  assert.equal(await sh(E, 'onbuild-child', 'cat /seen'), 'triggered\n');
  const c = await config(E, 'onbuild-child');
  assert.ok(c.Env.includes('FROM_TRIGGER=1'));
  assert.equal(c.OnBuild ?? null, null, 'triggers are not inherited by grandchildren');
});

test('.dockerignore: patterns, ! exceptions, **; the Dockerfile and .dockerignore themselves', T, async () => {
  const ctx = await fixture(E, 'ignore');
  await built(E.build(E.clients[0], ['-t', 'ignore', ctx]));
  assert.equal(await sh(E, 'ignore', 'cd /ctx && find . -type f | sort'), ['./a.txt', './keep.bak', './sub/y.txt', './sub/z/keep.tmp'].join('\n') + '\n');
});

// `<Dockerfile>.dockerignore` beside the Dockerfile: BuildKit reads it (the docker CLI's classic
// builder only reads .dockerignore, so this goes through buildkit()).
test('<Dockerfile>.dockerignore takes precedence over .dockerignore', { ...T, ...wharfOnly('dockerd 20.10\'s BuildKit predates <Dockerfile>.dockerignore') }, async () => {
  const ctx = await context(E, {
    'app.Dockerfile': 'FROM busybox\nCOPY . /ctx\n',
    'app.Dockerfile.dockerignore': 'secret.txt\n',
    '.dockerignore': 'public.txt\n',
    'secret.txt': 's',
    'public.txt': 'p',
  });
  await built(E.buildkit(['-f', join(ctx, 'app.Dockerfile'), '-t', 'ignore2', ctx]));
  assert.equal(await sh(E, 'ignore2', 'ls /ctx/public.txt; test -e /ctx/secret.txt || echo no-secret'), '/ctx/public.txt\nno-secret\n');
});

test('multi-stage: only the target\'s stages are built (a broken unused stage does not fail), COPY --from', T, async () => {
  const ctx = await context(E, {
    Dockerfile: 'FROM busybox AS broken\nRUN exit 1\nFROM busybox AS a\nRUN echo a > /a\nFROM busybox AS b\nRUN echo b > /b\nFROM busybox\nCOPY --from=a /a /from-a\nCOPY --from=b /b /from-b\n',
  });
  // The classic builder builds every stage before the target; BuildKit (and wharf) only what it needs.
  await built(E.buildkit(['-t', 'multi', ctx]));
  assert.equal(await sh(E, 'multi', 'cat /from-a /from-b'), 'a\nb\n');
});

test('RUN --mount=type=cache|bind|tmpfs|secret (bk)', T, async () => {
  const secret = join(E.tmp, 'secret.txt');
  await writeFile(secret, 'sekrit');
  const ctx = await context(E, {
    'bound.txt': 'bound content\n',
    Dockerfile: [
      'FROM busybox',
      'ARG N=0',
      'RUN --mount=type=cache,target=/cache sh -c \'echo $N >> /cache/runs; wc -l < /cache/runs > /cache-count\'',
      'RUN --mount=type=bind,source=bound.txt,target=/mnt/b.txt cat /mnt/b.txt > /bound',
      'RUN --mount=type=tmpfs,target=/t sh -c \'echo x > /t/f; grep " /t " /proc/mounts | cut -d" " -f3 > /tmpfs-type\'',
      'RUN --mount=type=secret,id=s sh -c \'test "$(cat /run/secrets/s)" = sekrit && echo secret-ok > /secret\'',
      '',
    ].join('\n'),
  });
  await built(E.buildkit(['--secret', `id=s,src=${secret}`, '--build-arg', 'N=1', '-t', 'mounts', ctx]));
  await built(E.buildkit(['--secret', `id=s,src=${secret}`, '--build-arg', 'N=2', '-t', 'mounts', ctx]));
  assert.equal(await sh(E, 'mounts', 'cat /cache-count /bound /tmpfs-type /secret'), '2\nbound content\ntmpfs\nsecret-ok\n');
  // The mounts' contents stay out of the image.
  assert.equal(await sh(E, 'mounts', 'ls -A /cache /t 2>/dev/null; test -e /run/secrets/s || echo no-secret; cat /mnt/b.txt 2>/dev/null; echo end'), '/cache:\n\n/t:\nno-secret\nend\n');
});

test('RUN --network=none (bk)', { ...T, ...wharfOnly('dockerd 20.10\'s frontend has no RUN --network') }, async () => {
  const ctx = await context(E, { Dockerfile: `FROM busybox\nRUN --network=none sh -c "${fetchCmd('127.0.0.1', '/ok')} | grep -q hello && echo reached > /net || echo blocked > /net"\n` });
  await built(E.buildkit(['--network', 'host', '-t', 'runnet', ctx]));
  assert.equal(await sh(E, 'runnet', 'cat /net'), 'blocked\n');
});

// dockerd 20.10's built-in frontend has COPY --chmod (1.2) but not --link (1.4), --exclude and
// --parents (1.7 labs) or ADD --checksum (1.6): those only run against wharf.
test('COPY --chmod (bk)', T, async () => {
  const ctx = await context(E, { 'f.sh': 'echo chmodded\n', Dockerfile: 'FROM busybox\nCOPY --chmod=751 f.sh /f.sh\n' });
  await built(E.buildkit(['-t', 'chmod', ctx]));
  assert.equal(await sh(E, 'chmod', 'stat -c %a /f.sh; /f.sh'), '751\nchmodded\n');
});

test('COPY --link, --exclude, --parents; ADD --checksum', { ...T, ...wharfOnly('dockerd 20.10\'s frontend predates these flags') }, async () => {
  const body = served['/remote.txt']!;
  const sum = createHash('sha256').update(body).digest('hex');
  const ctx = await context(E, {
    'a/x/keep.txt': 'k',
    'a/x/drop.md': 'd',
    'b/y/file.txt': 'p',
    'l.txt': 'linked\n',
    Dockerfile: [
      'FROM busybox',
      'COPY --link l.txt /linked/',
      'COPY --exclude=**/*.md a /excl/',
      'COPY --parents b/y/file.txt /par/',
      `ADD --checksum=sha256:${sum} http://127.0.0.1:${port}/remote.txt /sum.txt`,
      '',
    ].join('\n'),
  });
  await built(E.buildkit(['-t', 'bkflags', ctx]));
  assert.equal(await sh(E, 'bkflags', 'cat /linked/l.txt; cd /excl && find . -type f | sort; cat /par/b/y/file.txt; echo; cat /sum.txt'), `linked\n./x/keep.txt\np\n${body}`);
  const bad = await context(E, { Dockerfile: `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/remote.txt /sum.txt\n` });
  const r = await E.buildkit([bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, /checksum/i);
});

// ---------------------------------------------------------------------------------------------
// Cache

test('cache: a rebuild uses it for every step; a new mtime keeps it; one changed byte re-runs from that COPY', T, async () => {
  const ctx = await context(E, {
    'early.txt': 'early\n',
    'late.txt': 'late\n',
    Dockerfile: 'FROM busybox\nCOPY early.txt /e\nRUN cat /e > /e2\nCOPY late.txt /l\nRUN cat /l > /l2\nLABEL x=1\n',
  });
  for (const client of E.clients) {
    const tag = `${client}-cache`;
    const first = await built(E.build(client, ['-t', tag, ctx]));
    const again = await built(E.build(client, ['-t', tag, ctx]));
    assert.equal(cached(again.stdout), 5, again.stdout);
    assert.equal(builtId(again.stdout), builtId(first.stdout));
    await utimes(join(ctx, 'early.txt'), new Date(), new Date(Date.now() + 3_600_000));
    const touched = await built(E.build(client, ['-t', tag, ctx]));
    assert.equal(cached(touched.stdout), 5, touched.stdout);
    // Each client's own new content: the other client's round has already cached 'lat3'.
    await writeFile(join(ctx, 'late.txt'), `lat3 ${client}\n`);
    const changed = await built(E.build(client, ['-t', tag, ctx]));
    // Steps 2 and 3 (COPY early, RUN) from cache; from COPY late.txt on, run again.
    assert.equal(cached(changed.stdout), 2, changed.stdout);
    const parts = changed.stdout.split(/^Step /m);
    assert.match(parts[4]!, /^4\/6 : COPY late\.txt \/l\n(?! ---> Using cache)/, changed.stdout);
    assert.equal(await sh(E, tag, 'cat /l2'), `lat3 ${client}\n`);
    await writeFile(join(ctx, 'late.txt'), 'late\n');
  }
});

test('cache survives a daemon restart', T, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nRUN echo survive > /s\nENV S=1\n' });
  const first = await built(E.build(E.clients[0], ['-t', 'survive', ctx]));
  await E.restart();
  const again = await built(E.build(E.clients[0], ['-t', 'survive', ctx]));
  assert.equal(cached(again.stdout), 2, again.stdout);
  assert.equal(builtId(again.stdout), builtId(first.stdout));
});

test('builder prune -a -f empties the build cache (system df)', T, async () => {
  const ctx = await context(E, { 'f.txt': 'x'.repeat(4096), Dockerfile: 'FROM busybox\nCOPY f.txt /f\nRUN cp /f /g\n' });
  // The classic builder's cache is the parent chain of images, which `builder prune` does not
  // touch and `system df` does not count; BuildKit's (and wharf's) is a build cache of its own.
  await built(E.buildkit(['-t', 'prune', ctx]));
  const row = async () => (await must(E, ['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}'])).split('\n').find((l) => l.startsWith('Build Cache|'));
  const before = await row();
  assert.ok(before && Number(before.split('|')[1]) > 0, `build cache before prune: ${before}`);
  await must(E, ['builder', 'prune', '-a', '-f']);
  assert.equal(await row(), 'Build Cache|0');
  if (E.kind === 'wharf') {
    const rebuilt = await built(E.build(E.clients[0], ['-t', 'prune', ctx]));
    assert.equal(cached(rebuilt.stdout), 0, rebuilt.stdout);
  }
});

// ---------------------------------------------------------------------------------------------
// Layers and the result

test('layers: one per RUN/COPY/ADD, history shows each step, a deleted base file is a whiteout', T, async () => {
  const ctx = await context(E, { 'a.txt': 'a\n', Dockerfile: 'FROM busybox\nENV A=1\nRUN echo hi > /x\nCOPY a.txt /a\nLABEL l=1\nRUN rm /bin/vi /etc/group\nEXPOSE 80\n' });
  await built(E.build(E.clients[0], ['-t', 'layers', ctx]));
  const base = await inspect<string[]>(E, 'busybox', '{{json .RootFS.Layers}}');
  const layers = await inspect<string[]>(E, 'layers', '{{json .RootFS.Layers}}');
  assert.equal(layers.length, base.length + 3);
  assert.deepEqual(layers.slice(0, base.length), base);
  const hist = (await must(E, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'layers'])).split('\n').filter(Boolean);
  const baseHist = (await must(E, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'busybox'])).split('\n').filter(Boolean);
  assert.equal(hist.length, baseHist.length + 6);
  const mine = hist.slice(0, 6).reverse();
  assert.match(mine[0]!, /ENV A=1/);
  assert.match(mine[1]!, /^\/bin\/sh -c echo hi > \/x$/);
  assert.match(mine[2]!, /COPY .* in \/a/);
  assert.match(mine[3]!, /LABEL l=1/);
  assert.match(mine[4]!, /rm \/bin\/vi \/etc\/group/);
  assert.match(mine[5]!, /EXPOSE/);
  assert.equal(await sh(E, 'layers', 'ls /bin/vi /etc/group 2>/dev/null; cat /x /a; ls /bin/ls'), 'hi\na\n/bin/ls\n');
});

test('same inputs give the same layer diff IDs (COPY; rebuilt with --no-cache)', T, async () => {
  const ctx = await context(E, { 'a.txt': 'same\n', 'd/b.txt': 'bee\n', Dockerfile: 'FROM busybox\nCOPY a.txt /a\nCOPY d/b.txt /b\n' });
  await built(E.build(E.clients[0], ['-t', 'repro:1', ctx]));
  await built(E.build(E.clients[E.clients.length - 1]!, ['--no-cache', '-t', 'repro:2', ctx]));
  assert.deepEqual(await inspect(E, 'repro:1', '{{json .RootFS.Layers}}'), await inspect(E, 'repro:2', '{{json .RootFS.Layers}}'));
});

// Docker's classic builder stamps RUN layers with the time they ran; wharf honours
// SOURCE_DATE_EPOCH (as BuildKit 0.11+ does) so a RUN layer is reproducible too.
test('SOURCE_DATE_EPOCH makes RUN layers reproducible', { ...T, ...wharfOnly('dockerd 20.10 ignores SOURCE_DATE_EPOCH') }, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nRUN mkdir /made && echo x > /made/f\n' });
  await built(E.build(E.clients[0], ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '-t', 'sde:1', ctx]));
  await built(E.build(E.clients[0], ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '--no-cache', '-t', 'sde:2', ctx]));
  assert.deepEqual(await inspect(E, 'sde:1', '{{json .RootFS.Layers}}'), await inspect(E, 'sde:2', '{{json .RootFS.Layers}}'));
  assert.equal(await sh(E, 'sde:1', 'stat -c %Y /made/f'), '1700000000\n');
});

test('the result is a normal image: runs, tags, saves, its history and inspect fields', T, async () => {
  const ctx = await context(E, { Dockerfile: 'FROM busybox\nRUN echo n > /n\nCMD ["cat","/n"]\n' });
  await built(E.build(E.clients[0], ['-t', 'normal', ctx]));
  const img = await inspect<Record<string, any>>(E, 'normal');
  assert.deepEqual(img.RepoTags, ['normal:latest']);
  assert.equal(img.Os, 'linux');
  assert.equal(img.Architecture, 'amd64');
  assert.match(img.Parent ?? '', E.kind === 'docker' ? /^sha256:/ : /^(sha256:.*)?$/);
  assert.equal(img.Config.Image === undefined || typeof img.Config.Image === 'string', true);
  assert.equal(await must(E, ['run', '--rm', 'normal']), 'n\n');
  await must(E, ['tag', 'normal', 'normal:2']);
  const saved = await E.docker(['save', 'normal:2'], { timeoutMs: 60_000 });
  assert.equal(saved.code, 0);
  const hist = await must(E, ['history', '--format', '{{.CreatedBy}}|{{.Size}}', 'normal']);
  assert.match(hist.split('\n')[0]!, /CMD \["cat" "\/n"\]\|0B/);
  assert.match(hist.split('\n')[1]!, /echo n > \/n\|2B/);
});

// ---------------------------------------------------------------------------------------------
// A real package install: slow and needs deb.debian.org (wharf pulls debian via mmdebstrap).

async function reachable(host: string, p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port: p, timeout: 5000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

test('RUN apt-get install nginx on debian:bookworm', { timeout: 900_000, ...wharfOnly('no registry for dockerd to pull debian from') }, async (t) => {
  if (!(await reachable('deb.debian.org', 80))) {
    t.skip('deb.debian.org is unreachable from here: cannot install packages');
    return;
  }
  const ctx = await context(E, { Dockerfile: 'FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends nginx && rm -rf /var/lib/apt/lists/*\n' });
  await built(E.build(E.clients[0], ['-t', 'nginx-built', ctx], { timeoutMs: 840_000 }));
  assert.match(await sh(E, 'nginx-built', 'nginx -v 2>&1'), /nginx version: nginx\//);
});

void ENGINE;
void dangling;
void assertClean;
