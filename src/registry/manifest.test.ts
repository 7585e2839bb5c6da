import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryError } from './errors.js';
import { parseManifest, referencedDigests, subjectOf } from './manifest.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const image = (extra: object = {}) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('a'), size: 10 },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('b'), size: 20 },
        { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('c'), size: 30, urls: ['https://example.com/x'] },
      ],
      ...extra,
    }),
  );
const invalid = (fn: () => unknown) => assert.throws(fn, (e: unknown) => e instanceof RegistryError && e.code === 'MANIFEST_INVALID');

test('an image manifest needs its config and non-foreign layers', () => {
  const p = parseManifest(image(), 'application/vnd.docker.distribution.manifest.v2+json');
  assert.deepEqual(p.blobs.map((b) => b.digest), [d('a'), d('b')]);
  assert.equal(p.artifactType, 'application/vnd.docker.container.image.v1+json');
  assert.deepEqual(referencedDigests(image()).blobs, [d('a'), d('b')]);
});

test('media type from the body, else from Content-Type; the two must agree', () => {
  invalid(() => parseManifest(image(), 'application/vnd.oci.image.manifest.v1+json'));
  const noType = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'x', digest: d('e'), size: 1 }] }));
  assert.equal(parseManifest(noType, undefined).mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(parseManifest(noType, 'application/vnd.docker.distribution.manifest.list.v2+json').mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
  assert.deepEqual(parseManifest(noType, undefined).manifests.map((m) => m.digest), [d('e')]);
});

test('malformed, schema 1, unknown types and bad descriptors are MANIFEST_INVALID', () => {
  invalid(() => parseManifest(Buffer.from('{'), undefined));
  invalid(() => parseManifest(Buffer.from('[]'), undefined));
  invalid(() => parseManifest(Buffer.from('{"schemaVersion":1}'), undefined));
  invalid(() => parseManifest(image({ mediaType: 'application/x-unknown' }), undefined));
  invalid(() => parseManifest(image({ layers: [{ mediaType: 'x', digest: 'sha256:zz', size: 1 }] }), undefined));
  invalid(() => parseManifest(image({ layers: [{ mediaType: 'x', digest: d('f'), size: -1 }] }), undefined));
  invalid(() => parseManifest(image({ config: undefined }), undefined));
});

test('subject of a referrer', () => {
  const withSubject = image({ subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('9'), size: 5 } });
  assert.equal(parseManifest(withSubject, undefined).subject?.digest, d('9'));
  assert.equal(subjectOf(withSubject), d('9'));
  assert.equal(subjectOf(image()), undefined);
});
