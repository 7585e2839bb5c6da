import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextLink, parseChallenges } from './headers.js';

test('a Bearer challenge as registries send it', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
});

test('Basic, several challenges in one value, several values, quoting', () => {
  assert.deepEqual(parseChallenges('Basic realm="basic-realm"'), [{ scheme: 'basic', params: { realm: 'basic-realm' } }]);
  assert.deepEqual(parseChallenges('Basic realm="a, b", Bearer realm="https://t/x",error="insufficient_scope"'), [
    { scheme: 'basic', params: { realm: 'a, b' } },
    { scheme: 'bearer', params: { realm: 'https://t/x', error: 'insufficient_scope' } },
  ]);
  assert.deepEqual(parseChallenges(['Basic realm=r', 'BEARER Realm="q\\"x" , service=s']), [
    { scheme: 'basic', params: { realm: 'r' } },
    { scheme: 'bearer', params: { realm: 'q"x', service: 's' } },
  ]);
  assert.deepEqual(parseChallenges('Bearer realm="https://t",scope="repository:a:pull repository:b:pull"')[0].params.scope, 'repository:a:pull repository:b:pull');
});

test('malformed challenges do not throw', () => {
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges(''), []);
  assert.deepEqual(parseChallenges('=x, "'), []);
  assert.deepEqual(parseChallenges('Bearer realm="unterminated'), [{ scheme: 'bearer', params: { realm: 'unterminated' } }]);
});

test('Link pagination', () => {
  const base = new URL('http://h:5000/v2/a/tags/list');
  assert.equal(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"', base)?.href, 'http://h:5000/v2/a/tags/list?n=2&last=b');
  assert.equal(nextLink('<https://o/v2/a/tags/list?last=c>;rel=next', base)?.href, 'https://o/v2/a/tags/list?last=c');
  assert.equal(nextLink('</x>; rel="prev", </y>; rel="next"', base)?.href, 'http://h:5000/y');
  assert.equal(nextLink('</x>; rel="prev"', base), undefined);
  assert.equal(nextLink(undefined, base), undefined);
});
