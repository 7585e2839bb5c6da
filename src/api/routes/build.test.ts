import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBuildQuery } from './build.js';

const q = (s: string) => parseBuildQuery(new URLSearchParams(s));

test('defaults as moby reads an empty query', () => {
  assert.deepEqual(q(''), {
    dockerfile: 'Dockerfile',
    tags: [],
    buildArgs: {},
    noCache: false,
    pull: false,
    labels: {},
    extraHosts: [],
    quiet: false,
    rm: true,
    forceRm: false,
    cacheFrom: [],
  });
});

test('the docker CLI classic build query', () => {
  const params = new URLSearchParams();
  params.append('t', 'a:1');
  params.append('t', 'b');
  params.append('extrahosts', 'h1:10.0.0.1');
  params.append('extrahosts', 'h2:10.0.0.2');
  params.set('buildargs', JSON.stringify({ A: '1', B: null }));
  params.set('labels', JSON.stringify({ l: 'v' }));
  params.set('cachefrom', JSON.stringify(['x:1']));
  params.set('ulimits', JSON.stringify([{ Name: 'nofile', Soft: 10, Hard: 20 }]));
  params.set('dockerfile', 'sub/Dockerfile.dev');
  params.set('target', 'build');
  params.set('networkmode', 'host');
  params.set('memory', '1048576');
  params.set('memswap', '-1');
  params.set('cpushares', '512');
  params.set('cpusetcpus', '0');
  params.set('cpuperiod', 'junk');
  params.set('shmsize', '67108864');
  params.set('nocache', '1');
  params.set('pull', 'True');
  params.set('q', ' yes ');
  params.set('rm', '0');
  params.set('version', '1');
  params.set('platform', 'linux/amd64');
  const r = parseBuildQuery(params);
  assert.deepEqual(r.tags, ['a:1', 'b']);
  assert.deepEqual(r.extraHosts, ['h1:10.0.0.1', 'h2:10.0.0.2']);
  assert.deepEqual(r.buildArgs, { A: '1', B: null });
  assert.deepEqual(r.labels, { l: 'v' });
  assert.deepEqual(r.cacheFrom, ['x:1']);
  assert.deepEqual(r.ulimits, [{ Name: 'nofile', Soft: 10, Hard: 20 }]);
  assert.equal(r.dockerfile, 'sub/Dockerfile.dev');
  assert.equal(r.target, 'build');
  assert.equal(r.networkMode, 'host');
  assert.equal(r.memory, 1048576);
  assert.equal(r.memorySwap, -1);
  assert.equal(r.cpuShares, 512);
  assert.equal(r.cpusetCpus, '0');
  assert.equal(r.cpuPeriod, undefined, 'Int64ValueOrZero: junk is 0');
  assert.equal(r.shmSize, 67108864);
  assert.equal(r.platform, 'linux/amd64');
  assert.equal(r.noCache, true);
  assert.equal(r.pull, true);
  assert.equal(r.quiet, true);
  assert.equal(r.rm, false);
  assert.equal(r.forceRm, false);
});

test('rm and forcerm', () => {
  assert.equal(q('rm=').rm, true);
  assert.equal(q('rm=none').rm, false);
  assert.equal(q('rm=0&forcerm=1').rm, true);
  assert.equal(q('forcerm=1').forceRm, true);
});

test('refusals with moby texts', () => {
  assert.throws(() => q('version=2'), /BuildKit is not supported/);
  assert.throws(() => q('version=3'), /invalid version 3/);
  assert.throws(() => q('buildargs=%7Bx'), /error reading build args/);
  assert.throws(() => q('labels=%5B1%5D'), /error reading labels/);
  assert.throws(() => q('cachefrom=%7B%7D'), /error reading cache-from/);
  assert.throws(() => q('ulimits=nope'), /error reading ulimit settings/);
  assert.throws(() => q('shmsize=abc'), /invalid syntax/);
  assert.throws(() => q('securityopt=x'), /does not support setting security options/);
  assert.throws(() => q('squash=1'), /experimental/);
});
