/**
 * `wharf registry serve` (issue 11, server half) through raw HTTP: every endpoint of the OCI
 * distribution spec, the error code of each kind of bad input, access control, TLS, gc while
 * serving; then the real clients: skopeo, Debian's docker-registry as a peer, Debian's dockerd.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, startDockerd, DOCKERD, WHARF } from './harness.js';
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, digestOf, makeImage, pushBlob, pushImage, req, startRegistry, writeOciLayout, type Registry } from './registry-helpers.js';

const errCode = (r: { json(): any }) => r.json().errors[0].code as string;

/** Sends `data` on a new connection and returns the first answer's head and JSON body as text. */
function rawAnswer(data: string | Buffer): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    let got = '';
    const s = connect(Number(u.port), u.hostname, () => s.write(data));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer: ${got}`));
    }, 15_000);
    s.on('data', (c: Buffer) => {
      got += c.toString();
      const head = got.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(got);
      if (head >= 0 && len && got.length >= head + 4 + Number(len[1])) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', () => {});
  });
}

let reg: Registry;
let base: string;
before(async () => {
  reg = await startRegistry();
  base = reg.url;
});
after(async () => {
  await reg?.stop();
});

describe('base and blobs', () => {
  test('GET /v2/ answers 200 {} with the API version header', async () => {
    const r = await req(base, 'GET', '/v2/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.deepEqual(r.json(), {});
  });

  test('monolithic POST ?digest=, then HEAD, GET, Range, DELETE', async () => {
    const data = Buffer.from('0123456789abcdef');
    const d = digestOf(data);
    const up = await req(base, 'POST', `/v2/blobs/one/blobs/uploads/?digest=${d}`, { body: data });
    assert.equal(up.status, 201);
    assert.equal(up.headers.location, `/v2/blobs/one/blobs/${d}`);
    assert.equal(up.headers['docker-content-digest'], d);
    const head = await req(base, 'HEAD', `/v2/blobs/one/blobs/${d}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '16');
    assert.equal(head.headers['docker-content-digest'], d);
    const get = await req(base, 'GET', `/v2/blobs/one/blobs/${d}`);
    assert.equal(get.text, '0123456789abcdef');
    const part = await req(base, 'GET', `/v2/blobs/one/blobs/${d}`, { headers: { Range: 'bytes=2-5' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], 'bytes 2-5/16');
    assert.equal(part.text, '2345');
    const tail = await req(base, 'GET', `/v2/blobs/one/blobs/${d}`, { headers: { Range: 'bytes=-3' } });
    assert.equal(tail.text, 'def');
    const bad = await req(base, 'GET', `/v2/blobs/one/blobs/${d}`, { headers: { Range: 'bytes=20-30' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], 'bytes */16');
    // Another repository does not see the blob without a link.
    assert.equal((await req(base, 'HEAD', `/v2/blobs/other/blobs/${d}`)).status, 404);
    const del = await req(base, 'DELETE', `/v2/blobs/one/blobs/${d}`);
    assert.equal(del.status, 202);
    const gone = await req(base, 'GET', `/v2/blobs/one/blobs/${d}`);
    assert.equal(gone.status, 404);
    assert.equal(errCode(gone), 'BLOB_UNKNOWN');
  });

  test('POST then PUT ?digest= with the whole body', async () => {
    const data = Buffer.from('put in one go');
    const start = await req(base, 'POST', '/v2/blobs/two/blobs/uploads/');
    assert.equal(start.status, 202);
    assert.equal(start.headers.range, '0-0');
    const uuid = start.headers['docker-upload-uuid'] as string;
    assert.match(start.headers.location as string, new RegExp(`/v2/blobs/two/blobs/uploads/${uuid}$`));
    const put = await req(base, 'PUT', `${start.headers.location}?digest=${digestOf(data)}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(put.status, 201);
    assert.equal((await req(base, 'GET', `/v2/blobs/two/blobs/${digestOf(data)}`)).text, 'put in one go');
  });

  test('chunked PATCH with Content-Range in order, status, final chunk on PUT', async () => {
    const parts = ['aaaa', 'bbbbbb', 'cc'].map((s) => Buffer.from(s));
    const all = Buffer.concat(parts);
    const start = await req(base, 'POST', '/v2/chunks/blobs/uploads/');
    let loc = start.headers.location as string;
    let off = 0;
    for (const p of parts.slice(0, 2)) {
      const r = await req(base, 'PATCH', loc, { body: p, headers: { 'Content-Range': `${off}-${off + p.length - 1}`, 'Content-Length': p.length, 'Content-Type': 'application/octet-stream' } });
      assert.equal(r.status, 202, r.text);
      off += p.length;
      assert.equal(r.headers.range, `0-${off - 1}`);
      loc = r.headers.location as string;
    }
    const status = await req(base, 'GET', loc);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, '0-9');
    const last = parts[2]!;
    const put = await req(base, 'PUT', `${loc}?digest=${digestOf(all)}`, { body: last, headers: { 'Content-Range': '10-11', 'Content-Length': 2 } });
    assert.equal(put.status, 201, put.text);
    assert.equal((await req(base, 'GET', `/v2/chunks/blobs/${digestOf(all)}`)).text, 'aaaabbbbbbcc');
  });

  test('out-of-order chunk: 416 RANGE_INVALID with the Range the upload has; nothing appended', async () => {
    const start = await req(base, 'POST', '/v2/chunks/blobs/uploads/');
    const loc = start.headers.location as string;
    await req(base, 'PATCH', loc, { body: 'abcd', headers: { 'Content-Range': '0-3', 'Content-Length': 4 } });
    const r = await req(base, 'PATCH', loc, { body: 'zz', headers: { 'Content-Range': '6-7', 'Content-Length': 2 } });
    assert.equal(r.status, 416);
    assert.equal(errCode(r), 'RANGE_INVALID');
    assert.equal(r.headers.range, '0-3');
    const again = await req(base, 'PATCH', loc, { body: 'ab', headers: { 'Content-Range': '0-1', 'Content-Length': 2 } });
    assert.equal(again.status, 416);
    assert.equal((await req(base, 'GET', loc)).headers.range, '0-3');
  });

  test('Content-Length that disagrees with Content-Range: SIZE_INVALID, nothing appended', async () => {
    const start = await req(base, 'POST', '/v2/chunks/blobs/uploads/');
    const loc = start.headers.location as string;
    const r = await req(base, 'PATCH', loc, { body: 'abcdef', headers: { 'Content-Range': '0-3', 'Content-Length': 6 } });
    assert.equal(r.status, 400);
    assert.equal(errCode(r), 'SIZE_INVALID');
    // A chunked body longer than its range.
    const r2 = await req(base, 'PATCH', loc, { body: [Buffer.from('abc'), Buffer.from('def')], headers: { 'Content-Range': '0-3' } });
    assert.equal(errCode(r2), 'SIZE_INVALID');
    assert.equal((await req(base, 'GET', loc)).headers.range, '0-0');
    assert.equal((await req(base, 'GET', loc)).status, 204);
  });

  test('a body cut short of its Content-Length leaves the upload where it was', async () => {
    const start = await req(base, 'POST', '/v2/chunks/blobs/uploads/');
    const loc = start.headers.location as string;
    await req(base, 'PATCH', loc, { body: 'abcd' });
    await new Promise<void>((resolve) => {
      const u = new URL(base);
      const s = connect(Number(u.port), u.hostname, () => {
        s.write(`PATCH ${loc} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Length: 100\r\n\r\n0123456789`);
        setTimeout(() => s.destroy(), 300);
      });
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    let range = '';
    for (let i = 0; i < 50 && range !== '0-3'; i++) {
      range = (await req(base, 'GET', loc)).headers.range as string;
      if (range !== '0-3') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(range, '0-3');
  });

  test('streamed PATCH without Content-Range (what docker and containerd send)', async () => {
    const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(100_000, i));
    const all = Buffer.concat(chunks);
    const start = await req(base, 'POST', '/v2/stream/blobs/uploads/');
    const p = await req(base, 'PATCH', start.headers.location as string, { body: chunks });
    assert.equal(p.status, 202);
    assert.equal(p.headers.range, `0-${all.length - 1}`);
    const put = await req(base, 'PUT', `${p.headers.location}?digest=${digestOf(all)}`);
    assert.equal(put.status, 201);
    const got = await req(base, 'GET', `/v2/stream/blobs/${digestOf(all)}`);
    assert.ok(got.body.equals(all));
  });

  test('digest mismatch: DIGEST_INVALID, no blob, upload gone', async () => {
    const start = await req(base, 'POST', '/v2/bad/blobs/uploads/');
    const loc = start.headers.location as string;
    const wrong = digestOf('something else');
    const r = await req(base, 'PUT', `${loc}?digest=${wrong}`, { body: 'content' });
    assert.equal(r.status, 400);
    assert.equal(errCode(r), 'DIGEST_INVALID');
    assert.equal((await req(base, 'HEAD', `/v2/bad/blobs/${wrong}`)).status, 404);
    assert.equal((await req(base, 'HEAD', `/v2/bad/blobs/${digestOf('content')}`)).status, 404);
    const st = await req(base, 'GET', loc);
    assert.equal(st.status, 404);
    assert.equal(errCode(st), 'BLOB_UPLOAD_UNKNOWN');
    const mono = await req(base, 'POST', `/v2/bad/blobs/uploads/?digest=${wrong}`, { body: 'x' });
    assert.equal(errCode(mono), 'DIGEST_INVALID');
    const missing = await req(base, 'PUT', `${(await req(base, 'POST', '/v2/bad/blobs/uploads/')).headers.location}`, { body: 'x' });
    assert.equal(errCode(missing), 'DIGEST_INVALID');
    const live = (await req(base, 'POST', '/v2/bad/blobs/uploads/')).headers.location as string;
    assert.equal(errCode(await req(base, 'PUT', `${live}?digest=sha256:zz`)), 'DIGEST_INVALID');
    assert.equal(errCode(await req(base, 'PUT', `${live}?digest=sha512:${'a'.repeat(128)}`)), 'DIGEST_INVALID');
    assert.equal(errCode(await req(base, 'GET', '/v2/bad/blobs/sha256:1234')), 'DIGEST_INVALID');
  });

  test('cancel an upload; unknown uploads are BLOB_UPLOAD_UNKNOWN', async () => {
    const start = await req(base, 'POST', '/v2/cancel/blobs/uploads/');
    const loc = start.headers.location as string;
    assert.equal((await req(base, 'DELETE', loc)).status, 204);
    assert.equal(errCode(await req(base, 'PATCH', loc, { body: 'x' })), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(errCode(await req(base, 'GET', '/v2/cancel/blobs/uploads/00000000-0000-0000-0000-000000000000')), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(errCode(await req(base, 'GET', '/v2/cancel/blobs/uploads/..%2F..%2Fetc')), 'BLOB_UPLOAD_UNKNOWN');
    // An upload belongs to its repository.
    const other = await req(base, 'POST', '/v2/cancel/blobs/uploads/');
    assert.equal(errCode(await req(base, 'GET', (other.headers.location as string).replace('/cancel/', '/elsewhere/'))), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('cross-repository mount: 201 when the source has the blob, else a new upload (202)', async () => {
    const d = await pushBlob(base, 'mount/src', 'shared layer');
    const m = await req(base, 'POST', `/v2/mount/dst/blobs/uploads/?mount=${d}&from=mount/src`);
    assert.equal(m.status, 201);
    assert.equal(m.headers.location, `/v2/mount/dst/blobs/${d}`);
    assert.equal((await req(base, 'GET', `/v2/mount/dst/blobs/${d}`)).text, 'shared layer');
    const miss = await req(base, 'POST', `/v2/mount/dst2/blobs/uploads/?mount=${d}&from=mount/nothing`);
    assert.equal(miss.status, 202);
    assert.ok(miss.headers['docker-upload-uuid']);
  });
});

describe('manifests', () => {
  test('Docker schema 2 by tag: GET returns the same bytes, media type and digest; HEAD; by digest', async () => {
    const img = await makeImage('hello');
    const put = await pushImage(base, 'm/docker', 'v1', img);
    assert.equal(put.status, 201, put.text);
    assert.equal(put.headers['docker-content-digest'], img.digest);
    assert.equal(put.headers.location, `/v2/m/docker/manifests/${img.digest}`);
    for (const ref of ['v1', img.digest]) {
      const get = await req(base, 'GET', `/v2/m/docker/manifests/${ref}`, { headers: { Accept: DOCKER_MANIFEST } });
      assert.equal(get.status, 200);
      assert.ok(get.body.equals(img.manifest));
      assert.equal(get.headers['content-type'], DOCKER_MANIFEST);
      assert.equal(get.headers['docker-content-digest'], img.digest);
      const head = await req(base, 'HEAD', `/v2/m/docker/manifests/${ref}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(img.manifest.length));
      assert.equal(head.headers['docker-content-digest'], img.digest);
    }
    // Manifests are blobs too, as distribution serves them.
    assert.equal((await req(base, 'GET', `/v2/m/docker/blobs/${img.digest}`)).status, 200);
  });

  test('OCI manifest, OCI index and Docker manifest list', async () => {
    const a = await makeImage('a', OCI_MANIFEST);
    const b = await makeImage('b', OCI_MANIFEST);
    assert.equal((await pushImage(base, 'm/oci', 'a', a, OCI_MANIFEST)).status, 201);
    assert.equal((await pushImage(base, 'm/oci', 'b', b, OCI_MANIFEST)).status, 201);
    for (const mt of [OCI_INDEX, 'application/vnd.docker.distribution.manifest.list.v2+json']) {
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: mt,
          manifests: [
            { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
            { mediaType: OCI_MANIFEST, digest: b.digest, size: b.manifest.length, platform: { architecture: 'arm64', os: 'linux' } },
          ],
        }),
      );
      const put = await req(base, 'PUT', '/v2/m/oci/manifests/multi', { body: index, headers: { 'Content-Type': mt } });
      assert.equal(put.status, 201, put.text);
      const get = await req(base, 'GET', '/v2/m/oci/manifests/multi');
      assert.equal(get.headers['content-type'], mt);
      assert.ok(get.body.equals(index));
    }
    // An index whose entry is not in the repository.
    const stray = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: digestOf('nope'), size: 4 }] }));
    const bad = await req(base, 'PUT', '/v2/m/oci/manifests/stray', { body: stray, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(errCode(bad), 'MANIFEST_BLOB_UNKNOWN');
  });

  test('bad manifests: missing blob, malformed JSON, media type mismatch, schema 1, too big, digest mismatch, bad tag', async () => {
    const img = await makeImage('orphan');
    await pushBlob(base, 'm/bad', img.config);
    const missing = await req(base, 'PUT', '/v2/m/bad/manifests/x', { body: img.manifest, headers: { 'Content-Type': DOCKER_MANIFEST } });
    assert.equal(missing.status, 400);
    assert.equal(errCode(missing), 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(missing.json().errors[0].detail.digest, digestOf(img.layer));
    const malformed = await req(base, 'PUT', '/v2/m/bad/manifests/x', { body: '{"schemaVersion": 2,', headers: { 'Content-Type': DOCKER_MANIFEST } });
    assert.equal(errCode(malformed), 'MANIFEST_INVALID');
    const mismatch = await req(base, 'PUT', '/v2/m/bad/manifests/x', { body: img.manifest, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(errCode(mismatch), 'MANIFEST_INVALID');
    const v1 = await req(base, 'PUT', '/v2/m/bad/manifests/x', { body: '{"schemaVersion":1,"name":"x"}', headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' } });
    assert.equal(errCode(v1), 'MANIFEST_INVALID');
    // Refused on its Content-Length, before the body is read.
    const big = await rawAnswer(`PUT /v2/m/bad/manifests/x HTTP/1.1\r\nHost: x\r\nContent-Type: ${DOCKER_MANIFEST}\r\nContent-Length: ${4 * 1024 * 1024 + 10}\r\n\r\n{`);
    assert.match(big, /^HTTP\/1.1 413 /);
    assert.match(big, /"code":"MANIFEST_INVALID"/);
    // Refused once a chunked body passes the limit.
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const framed = Buffer.concat([Buffer.from(`PUT /v2/m/bad/manifests/x HTTP/1.1\r\nHost: x\r\nContent-Type: ${DOCKER_MANIFEST}\r\nTransfer-Encoding: chunked\r\n\r\n`), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])), Buffer.from('0\r\n\r\n')]);
    assert.match(await rawAnswer(framed), /^HTTP\/1.1 413 /);
    await pushBlob(base, 'm/bad', img.layer);
    const wrongDigest = await req(base, 'PUT', `/v2/m/bad/manifests/${digestOf('other')}`, { body: img.manifest, headers: { 'Content-Type': DOCKER_MANIFEST } });
    assert.equal(errCode(wrongDigest), 'DIGEST_INVALID');
    const badTag = await req(base, 'PUT', '/v2/m/bad/manifests/-nope', { body: img.manifest, headers: { 'Content-Type': DOCKER_MANIFEST } });
    assert.equal(errCode(badTag), 'TAG_INVALID');
    // None of it left a manifest behind.
    const tags = await req(base, 'GET', '/v2/m/bad/tags/list');
    assert.deepEqual(tags.json().tags, []);
    assert.equal(errCode(await req(base, 'GET', `/v2/m/bad/manifests/${img.digest}`)), 'MANIFEST_UNKNOWN');
    assert.equal(errCode(await req(base, 'GET', '/v2/m/bad/manifests/latest')), 'MANIFEST_UNKNOWN');
  });

  test('repository names: grammar, length, path traversal', async () => {
    for (const name of ['UPPER', 'a//b', 'a/../b', '..', 'a/.', '-a', 'a_', `${'a'.repeat(256)}`, 'a%2F..%2Fb']) {
      const r = await req(base, 'GET', `/v2/${name}/tags/list`);
      assert.ok(r.status === 400 || r.status === 404, `${name}: ${r.status}`);
      if (r.status === 400) assert.equal(errCode(r), 'NAME_INVALID', name);
    }
    assert.equal(errCode(await req(base, 'POST', '/v2/Bad/blobs/uploads/')), 'NAME_INVALID');
    assert.equal(errCode(await req(base, 'PUT', '/v2/a/../../etc/manifests/latest', { body: '{}' })), 'NAME_INVALID');
    // Allowed separators.
    assert.equal((await req(base, 'POST', '/v2/a.b_c__d-e--f/g/blobs/uploads/')).status, 202);
  });

  test('DELETE by digest removes the manifest and its tags; by tag only the tag', async () => {
    const img = await makeImage('delete me');
    await pushImage(base, 'm/del', 't1', img);
    await req(base, 'PUT', '/v2/m/del/manifests/t2', { body: img.manifest, headers: { 'Content-Type': DOCKER_MANIFEST } });
    assert.equal((await req(base, 'DELETE', '/v2/m/del/manifests/t2')).status, 202);
    assert.deepEqual((await req(base, 'GET', '/v2/m/del/tags/list')).json().tags, ['t1']);
    assert.equal((await req(base, 'DELETE', `/v2/m/del/manifests/${img.digest}`)).status, 202);
    assert.equal(errCode(await req(base, 'GET', '/v2/m/del/manifests/t1')), 'MANIFEST_UNKNOWN');
    assert.deepEqual((await req(base, 'GET', '/v2/m/del/tags/list')).json().tags, []);
    assert.equal(errCode(await req(base, 'DELETE', `/v2/m/del/manifests/${img.digest}`)), 'MANIFEST_UNKNOWN');
  });

  test('referrers: OCI-Subject on PUT, listing, artifactType filter', async () => {
    const img = await makeImage('subject', OCI_MANIFEST);
    await pushImage(base, 'm/ref', 'v1', img, OCI_MANIFEST);
    const empty = Buffer.from('{}');
    const emptyD = await pushBlob(base, 'm/ref', empty);
    const art = (type: string, n: string) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: type,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyD, size: 2 },
          layers: [],
          subject: { mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length },
          annotations: { n },
        }),
      );
    const sig = art('application/vnd.example.sig', '1');
    const sbom = art('application/spdx+json', '2');
    for (const m of [sig, sbom]) {
      const put = await req(base, 'PUT', `/v2/m/ref/manifests/${digestOf(m)}`, { body: m, headers: { 'Content-Type': OCI_MANIFEST } });
      assert.equal(put.status, 201, put.text);
      assert.equal(put.headers['oci-subject'], img.digest);
    }
    const all = await req(base, 'GET', `/v2/m/ref/referrers/${img.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers['content-type'], OCI_INDEX);
    const list = all.json().manifests as { digest: string; artifactType: string; annotations: Record<string, string> }[];
    assert.deepEqual(list.map((d) => d.digest).sort(), [digestOf(sig), digestOf(sbom)].sort());
    assert.ok(list.some((d) => d.artifactType === 'application/spdx+json' && d.annotations.n === '2'));
    const filtered = await req(base, 'GET', `/v2/m/ref/referrers/${img.digest}?artifactType=application/spdx%2Bjson`);
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(filtered.json().manifests.map((d: { digest: string }) => d.digest), [digestOf(sbom)]);
    const none = await req(base, 'GET', `/v2/m/ref/referrers/${digestOf('no subject')}`);
    assert.deepEqual(none.json().manifests, []);
    assert.equal(errCode(await req(base, 'GET', '/v2/m/ref/referrers/sha256:xyz')), 'DIGEST_INVALID');
    await req(base, 'DELETE', `/v2/m/ref/manifests/${digestOf(sig)}`);
    assert.deepEqual((await req(base, 'GET', `/v2/m/ref/referrers/${img.digest}`)).json().manifests.map((d: { digest: string }) => d.digest), [digestOf(sbom)]);
  });
});

describe('listing', () => {
  test('tags/list with n, last and Link; NAME_UNKNOWN', async () => {
    const img = await makeImage('tags');
    await pushImage(base, 'list/tags', 'a', img);
    for (const t of ['d', 'b', 'c']) await req(base, 'PUT', `/v2/list/tags/manifests/${t}`, { body: img.manifest, headers: { 'Content-Type': DOCKER_MANIFEST } });
    assert.deepEqual((await req(base, 'GET', '/v2/list/tags/tags/list')).json(), { name: 'list/tags', tags: ['a', 'b', 'c', 'd'] });
    const p1 = await req(base, 'GET', '/v2/list/tags/tags/list?n=2');
    assert.deepEqual(p1.json().tags, ['a', 'b']);
    assert.equal(p1.headers.link, '</v2/list/tags/tags/list?last=b&n=2>; rel="next"');
    const next = /<([^>]+)>/.exec(p1.headers.link as string)![1]!;
    const p2 = await req(base, 'GET', next);
    assert.deepEqual(p2.json().tags, ['c', 'd']);
    assert.equal(p2.headers.link, undefined);
    assert.deepEqual((await req(base, 'GET', '/v2/list/tags/tags/list?last=c')).json().tags, ['d']);
    assert.deepEqual((await req(base, 'GET', '/v2/list/tags/tags/list?n=0')).json().tags, []);
    assert.equal(errCode(await req(base, 'GET', '/v2/list/tags/tags/list?n=-1')), 'PAGINATION_NUMBER_INVALID');
    const unknown = await req(base, 'GET', '/v2/list/nothing/tags/list');
    assert.equal(unknown.status, 404);
    assert.equal(errCode(unknown), 'NAME_UNKNOWN');
  });

  test('_catalog with the same pagination', async () => {
    const all = (await req(base, 'GET', '/v2/_catalog')).json().repositories as string[];
    assert.ok(all.includes('list/tags') && all.includes('m/docker'));
    assert.deepEqual([...all].sort(), all);
    const p1 = await req(base, 'GET', '/v2/_catalog?n=2');
    assert.deepEqual(p1.json().repositories, all.slice(0, 2));
    assert.equal(p1.headers.link, `</v2/_catalog?last=${encodeURIComponent(all[1]!)}&n=2>; rel="next"`);
    const p2 = await req(base, 'GET', /<([^>]+)>/.exec(p1.headers.link as string)![1]!);
    assert.deepEqual(p2.json().repositories, all.slice(2, 4));
  });
});

describe('modes on the same store', () => {
  test('--read-only: pulls work, pushes and deletes are UNSUPPORTED (405); a second server sees the first one\'s content', async () => {
    const img = await makeImage('ro');
    await pushImage(base, 'ro/img', 'v1', img);
    const ro = await startRegistry(['--read-only'], reg.root);
    try {
      const get = await req(ro.url, 'GET', '/v2/ro/img/manifests/v1');
      assert.ok(get.body.equals(img.manifest));
      for (const [m, p] of [
        ['POST', '/v2/ro/img/blobs/uploads/'],
        ['PUT', '/v2/ro/img/manifests/v2'],
        ['DELETE', `/v2/ro/img/manifests/${img.digest}`],
        ['DELETE', `/v2/ro/img/blobs/${digestOf(img.layer)}`],
      ] as const) {
        const r = await req(ro.url, m, p, { body: m === 'PUT' ? img.manifest : undefined });
        assert.equal(r.status, 405, `${m} ${p}`);
        assert.equal(errCode(r), 'UNSUPPORTED');
      }
      // An upload started on one server continues on another.
      const start = await req(base, 'POST', '/v2/ro/img/blobs/uploads/');
      const other = await startRegistry([], reg.root);
      try {
        const p = await req(other.url, 'PATCH', start.headers.location as string, { body: 'half' });
        assert.equal(p.status, 202);
        const put = await req(base, 'PUT', `${p.headers.location}?digest=${digestOf('half and half')}`, { body: ' and half' });
        assert.equal(put.status, 201, put.text);
      } finally {
        await other.stop();
      }
    } finally {
      await ro.stop();
    }
  });
});

describe('access control', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-regauth-'));
    const a = spawnSync('htpasswd', ['-Bbn', 'alice', 'secret'], { encoding: 'utf8' });
    const b = spawnSync('htpasswd', ['-Bbn', 'bob', 'hunter2'], { encoding: 'utf8' });
    assert.equal(a.status, 0, a.stderr);
    await writeFile(join(dir, 'htpasswd'), a.stdout.trim() + '\n' + b.stdout.trim() + '\n');
    await writeFile(
      join(dir, 'access.json'),
      JSON.stringify({ alice: [{ repo: '*', actions: ['*'] }], bob: [{ repo: 'bob/*', actions: ['pull', 'push'] }, { repo: 'shared', actions: ['pull'] }], anonymous: [{ repo: 'public/*', actions: ['pull'] }] }),
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

  test('htpasswd Basic auth: 401 with a Basic challenge, wrong password 401, right one 200, rules give DENIED', async () => {
    const r = await startRegistry(['--htpasswd', join(dir, 'htpasswd'), '--access', join(dir, 'access.json')]);
    try {
      const anon = await req(r.url, 'GET', '/v2/');
      assert.equal(anon.status, 401);
      assert.match(anon.headers['www-authenticate'] as string, /^Basic realm="/);
      assert.equal(errCode(anon), 'UNAUTHORIZED');
      assert.equal((await req(r.url, 'GET', '/v2/', { headers: basic('alice', 'wrong') })).status, 401);
      assert.equal((await req(r.url, 'GET', '/v2/', { headers: basic('alice', 'secret') })).status, 200);
      const img = await makeImage('basic');
      assert.equal((await pushImage(r.url, 'team/app', 'v1', img, DOCKER_MANIFEST, basic('alice', 'secret'))).status, 201);
      const denied = await req(r.url, 'POST', '/v2/team/app/blobs/uploads/', { headers: basic('bob', 'hunter2') });
      assert.equal(denied.status, 403);
      assert.equal(errCode(denied), 'DENIED');
      assert.equal((await req(r.url, 'POST', '/v2/bob/app/blobs/uploads/', { headers: basic('bob', 'hunter2') })).status, 202);
      assert.equal((await req(r.url, 'POST', '/v2/team/app/blobs/uploads/')).status, 401);
      // Anonymous pulls where the rules allow them.
      await pushImage(r.url, 'public/app', 'v1', img, DOCKER_MANIFEST, basic('alice', 'secret'));
      assert.equal((await req(r.url, 'GET', '/v2/public/app/manifests/v1')).status, 200);
    } finally {
      await r.stop();
    }
  });

  test('token flow: Bearer challenge -> /token -> 200; insufficient scope -> 401; refresh tokens; expiry', async () => {
    const r = await startRegistry(['--auth', 'token', '--htpasswd', join(dir, 'htpasswd'), '--access', join(dir, 'access.json'), '--service', 'test-registry', '--token-ttl', '2s']);
    try {
      const ch = await req(r.url, 'GET', '/v2/team/app/manifests/v1');
      assert.equal(ch.status, 401);
      const www = ch.headers['www-authenticate'] as string;
      assert.equal(www, `Bearer realm="${r.url}/token",service="test-registry",scope="repository:team/app:pull"`);
      const tokenFor = async (scope: string, who?: [string, string]) => {
        const t = await req(r.url, 'GET', `/token?service=test-registry&scope=${encodeURIComponent(scope)}`, { headers: who ? basic(...who) : {} });
        assert.equal(t.status, 200, t.text);
        return t.json<{ token: string; access_token: string; expires_in: number }>();
      };
      const alice = await tokenFor('repository:team/app:pull,push', ['alice', 'secret']);
      assert.equal(alice.token, alice.access_token);
      const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
      const img = await makeImage('token');
      const put = await pushImage(r.url, 'team/app', 'v1', img, DOCKER_MANIFEST, bearer(alice.token));
      assert.equal(put.status, 201, put.text);
      assert.equal((await req(r.url, 'GET', '/v2/team/app/manifests/v1', { headers: bearer(alice.token) })).status, 200);
      // The token is for team/app only.
      const other = await req(r.url, 'GET', '/v2/team/other/manifests/v1', { headers: bearer(alice.token) });
      assert.equal(other.status, 401);
      assert.match(other.headers['www-authenticate'] as string, /error="insufficient_scope"/);
      // Bob asks for push on team/app; his rules grant nothing there.
      const bob = await tokenFor('repository:team/app:pull,push', ['bob', 'hunter2']);
      const bobPush = await req(r.url, 'POST', '/v2/team/app/blobs/uploads/', { headers: bearer(bob.token) });
      assert.equal(bobPush.status, 401);
      assert.equal(errCode(bobPush), 'UNAUTHORIZED');
      // Pull-only on shared: pulls pass, pushes do not.
      const bobShared = await tokenFor('repository:shared:pull,push', ['bob', 'hunter2']);
      await pushImage(r.url, 'shared', 'v1', img, DOCKER_MANIFEST, bearer((await tokenFor('repository:shared:pull,push', ['alice', 'secret'])).token));
      assert.equal((await req(r.url, 'GET', '/v2/shared/manifests/v1', { headers: bearer(bobShared.token) })).status, 200);
      assert.equal((await req(r.url, 'POST', '/v2/shared/blobs/uploads/', { headers: bearer(bobShared.token) })).status, 401);
      // Wrong password at the token endpoint; forged and foreign tokens.
      assert.equal((await req(r.url, 'GET', '/token?service=test-registry&scope=repository:shared:pull', { headers: basic('bob', 'nope') })).status, 401);
      const forged = alice.token.slice(0, -4) + (alice.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const f = await req(r.url, 'GET', '/v2/team/app/manifests/v1', { headers: bearer(forged) });
      assert.equal(f.status, 401);
      assert.match(f.headers['www-authenticate'] as string, /error="invalid_token"/);
      // Anonymous tokens carry what anonymous may do.
      await pushImage(r.url, 'public/x', 'v1', img, DOCKER_MANIFEST, bearer((await tokenFor('repository:public/x:pull,push', ['alice', 'secret'])).token));
      const anon = await tokenFor('repository:public/x:pull');
      assert.equal((await req(r.url, 'GET', '/v2/public/x/manifests/v1', { headers: bearer(anon.token) })).status, 200);
      // offline_token=true (docker login) gives a refresh token, traded by the OAuth2 POST.
      const off = await req(r.url, 'GET', '/token?service=test-registry&offline_token=true&client_id=docker', { headers: basic('alice', 'secret') });
      const refresh = off.json().refresh_token as string;
      assert.ok(refresh);
      assert.equal((await req(r.url, 'GET', '/v2/', { headers: bearer(refresh) })).status, 401, 'a refresh token is not an access token');
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, service: 'test-registry', scope: 'repository:team/app:pull', client_id: 'docker' });
      const traded = await req(r.url, 'POST', '/token', { body: form.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      assert.equal(traded.status, 200, traded.text);
      assert.equal((await req(r.url, 'GET', '/v2/team/app/manifests/v1', { headers: bearer(traded.json().access_token) })).status, 200);
      const pw = new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'bad', service: 'test-registry' });
      assert.equal((await req(r.url, 'POST', '/token', { body: pw.toString() })).status, 401);
      // Tokens expire.
      await new Promise((res) => setTimeout(res, 3100));
      assert.equal((await req(r.url, 'GET', '/v2/team/app/manifests/v1', { headers: bearer(alice.token) })).status, 401);
    } finally {
      await r.stop();
    }
  });

  test('TLS with --tls-cert/--tls-key', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const o = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.equal(o.status, 0, o.stderr);
    const r = await startRegistry(['--tls-cert', cert, '--tls-key', key]);
    try {
      assert.match(r.url, /^https:/);
      const ca = await readFile(cert);
      const res = await req(r.url, 'GET', '/v2/', { ca });
      assert.equal(res.status, 200);
      const img = await makeImage('tls');
      const d = digestOf(img.layer);
      assert.equal((await req(r.url, 'POST', `/v2/tls/blobs/uploads/?digest=${d}`, { body: img.layer, ca })).status, 201);
      await assert.rejects(req(r.url, 'GET', '/v2/'), /self-signed|certificate/);
    } finally {
      await r.stop();
    }
  });
});

describe('gc', () => {
  test('while serving: referenced blobs kept, unreferenced removed, untagged manifests with --delete-untagged', async () => {
    const r = await startRegistry();
    try {
      const kept = await makeImage('kept');
      await pushImage(r.url, 'gc/app', 'v1', kept);
      const untagged = await makeImage('untagged');
      await pushImage(r.url, 'gc/app', 'v2', untagged);
      await req(r.url, 'DELETE', '/v2/gc/app/manifests/v2');
      const orphan = await pushBlob(r.url, 'gc/app', 'orphan blob');
      const gc = (args: string[]) => exec(process.execPath, [WHARF, 'registry', 'gc', '--root', r.root, '--grace', '0s', ...args]);
      const dry = await gc(['--dry-run', '--delete-untagged']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`blob eligible for deletion: ${orphan}`));
      assert.equal((await req(r.url, 'GET', `/v2/gc/app/blobs/${orphan}`)).status, 200, 'dry run removed nothing');
      const run = await gc([]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal((await req(r.url, 'GET', `/v2/gc/app/blobs/${orphan}`)).status, 404);
      // Untagged but not deleted: kept without --delete-untagged.
      assert.equal((await req(r.url, 'GET', `/v2/gc/app/manifests/${untagged.digest}`)).status, 200);
      const run2 = await gc(['--delete-untagged']);
      assert.equal(run2.code, 0, run2.stderr);
      assert.equal(errCode(await req(r.url, 'GET', `/v2/gc/app/manifests/${untagged.digest}`)), 'MANIFEST_UNKNOWN');
      assert.equal((await req(r.url, 'GET', `/v2/gc/app/blobs/${digestOf(untagged.layer)}`)).status, 404);
      // Still whole: the tagged image and everything it refers to.
      assert.ok((await req(r.url, 'GET', '/v2/gc/app/manifests/v1')).body.equals(kept.manifest));
      assert.ok((await req(r.url, 'GET', `/v2/gc/app/blobs/${digestOf(kept.layer)}`)).body.equals(kept.layer));
      assert.ok((await req(r.url, 'GET', `/v2/gc/app/blobs/${digestOf(kept.config)}`)).body.equals(kept.config));
      // With the default grace period, fresh content stays whatever refers to it.
      const fresh = await pushBlob(r.url, 'gc/app', 'fresh orphan');
      assert.equal((await exec(process.execPath, [WHARF, 'registry', 'gc', '--root', r.root])).code, 0);
      assert.equal((await req(r.url, 'GET', `/v2/gc/app/blobs/${fresh}`)).status, 200);
    } finally {
      await r.stop();
    }
  });
});

describe('real clients', () => {
  const skopeo = (args: string[]) => exec('/usr/bin/skopeo', ['--insecure-policy', ...args], { timeoutMs: 120_000 });
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-regclients-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('skopeo pushes an OCI layout, copies back, inspects', { skip: !existsSync('/usr/bin/skopeo') }, async () => {
    const img = await makeImage('from skopeo', OCI_MANIFEST);
    await writeOciLayout(join(work, 'src'), 'v1', img);
    const push = await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, `docker://${reg.host}/skopeo/app:v1`]);
    assert.equal(push.code, 0, push.stderr);
    const insp = await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/skopeo/app:v1`]);
    assert.equal(insp.code, 0, insp.stderr);
    assert.equal(digestOf(insp.stdout), img.digest);
    const pull = await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/skopeo/app:v1`, `oci:${join(work, 'back')}:v1`]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok((await readFile(join(work, 'back/blobs/sha256', digestOf(img.layer).slice(7)))).equals(img.layer));
    const tags = await skopeo(['list-tags', '--tls-verify=false', `docker://${reg.host}/skopeo/app`]);
    assert.deepEqual(JSON.parse(tags.stdout).Tags, ['v1']);
  });

  test("Debian's docker-registry as a peer: skopeo copies wharf -> peer -> wharf", { skip: !existsSync('/usr/bin/docker-registry') }, async () => {
    const peerDir = join(work, 'peer');
    const port = 20000 + Math.floor(Math.random() * 20000);
    await writeFile(
      join(work, 'peer.yml'),
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${peerDir}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    const { spawn } = await import('node:child_process');
    const peer = spawn('/usr/bin/docker-registry', ['serve', join(work, 'peer.yml')], { stdio: 'ignore' });
    try {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await req(`http://127.0.0.1:${port}`, 'GET', '/v2/').then(
          (x) => x.status === 200,
          () => false,
        );
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(up, 'docker-registry did not start');
      const img = await makeImage('peer', DOCKER_MANIFEST);
      assert.equal((await pushImage(base, 'peer/app', 'v1', img)).status, 201);
      const there = await skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${reg.host}/peer/app:v1`, `docker://127.0.0.1:${port}/peer/app:v1`]);
      assert.equal(there.code, 0, there.stderr);
      const back = await skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://127.0.0.1:${port}/peer/app:v1`, `docker://${reg.host}/peer/back:v1`]);
      assert.equal(back.code, 0, back.stderr);
      const got = await req(base, 'GET', '/v2/peer/back/manifests/v1');
      assert.ok(got.body.equals(img.manifest));
      assert.equal(got.headers['content-type'], DOCKER_MANIFEST);
    } finally {
      peer.kill('SIGTERM');
    }
  });

  test('Debian dockerd pushes to and pulls from it', { skip: !DOCKERD }, async () => {
    const img = await makeImage('from dockerd');
    assert.equal((await pushImage(base, 'dockerd/src', 'v1', img)).status, 201);
    const tar = join(work, 'img.tar');
    const save = await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/dockerd/src:v1`, `docker-archive:${tar}:loaded:v1`]);
    assert.equal(save.code, 0, save.stderr);
    const dd = await startDockerd('wharfreg');
    try {
      const load = await dd.docker(['load', '-i', tar]);
      assert.equal(load.code, 0, load.stderr);
      const ref = `${reg.host}/dockerd/pushed:v2`;
      assert.equal((await dd.docker(['tag', 'loaded:v1', ref])).code, 0);
      const push = await dd.docker(['push', ref]);
      assert.equal(push.code, 0, push.stderr + push.stdout);
      const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)?.[1];
      assert.ok(digest, push.stdout);
      const head = await req(base, 'HEAD', `/v2/dockerd/pushed/manifests/v2`);
      assert.equal(head.headers['docker-content-digest'], digest);
      assert.equal((await dd.docker(['rmi', ref, 'loaded:v1'])).code, 0);
      const pull = await dd.docker(['pull', ref]);
      assert.equal(pull.code, 0, pull.stderr + pull.stdout);
      assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
      const inspect = await dd.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]);
      assert.match(inspect.stdout, new RegExp(`dockerd/pushed@${digest}`));
      // A second push of the same image uploads nothing.
      const again = await dd.docker(['push', ref]);
      assert.match(again.stdout, /Layer already exists/);

      // The token flow as dockerd does it: docker login (offline token), push, pull; a user
      // with pull rights only is refused the push.
      const h = spawnSync('htpasswd', ['-Bbn', 'carol', 'pw1'], { encoding: 'utf8' }).stdout.trim() + '\n' + spawnSync('htpasswd', ['-Bbn', 'dave', 'pw2'], { encoding: 'utf8' }).stdout.trim() + '\n';
      await writeFile(join(work, 'htpasswd'), h);
      await writeFile(join(work, 'access.json'), JSON.stringify({ carol: [{ repo: '*', actions: ['*'] }], dave: [{ repo: '*', actions: ['pull'] }] }));
      const tok = await startRegistry(['--auth', 'token', '--htpasswd', join(work, 'htpasswd'), '--access', join(work, 'access.json')]);
      try {
        const tref = `${tok.host}/secure/app:v1`;
        assert.equal((await dd.docker(['tag', ref, tref])).code, 0);
        const anonPush = await dd.docker(['push', tref]);
        assert.notEqual(anonPush.code, 0);
        assert.match(anonPush.stderr + anonPush.stdout, /unauthorized|authentication required|denied/i);
        const login = await dd.docker(['login', '-u', 'carol', '--password-stdin', tok.host], { input: 'pw1\n' });
        assert.equal(login.code, 0, login.stderr);
        assert.match(login.stdout, /Login Succeeded/);
        const tpush = await dd.docker(['push', tref]);
        assert.equal(tpush.code, 0, tpush.stderr + tpush.stdout);
        assert.equal((await dd.docker(['rmi', tref])).code, 0);
        const tpull = await dd.docker(['pull', tref]);
        assert.equal(tpull.code, 0, tpull.stderr + tpull.stdout);
        const bad = await dd.docker(['login', '-u', 'carol', '--password-stdin', tok.host], { input: 'wrong\n' });
        assert.notEqual(bad.code, 0);
        const dlogin = await dd.docker(['login', '-u', 'dave', '--password-stdin', tok.host], { input: 'pw2\n' });
        assert.equal(dlogin.code, 0, dlogin.stderr);
        assert.equal((await dd.docker(['pull', tref])).code, 0);
        const dpush = await dd.docker(['push', `${tok.host}/secure/app:v1`]);
        assert.notEqual(dpush.code, 0);
        assert.match(dpush.stderr + dpush.stdout, /denied|unauthorized|authentication required/i);
      } finally {
        await tok.stop();
      }
    } finally {
      await dd.stop();
    }
  });
});

test('SIGTERM stops the server and leaves no upload data behind in blobs', async () => {
  const r = await startRegistry();
  try {
    const code = new Promise((res) => r.proc.once('exit', (c, s) => res(c ?? s)));
    r.proc.kill('SIGTERM');
    assert.equal(await code, 0);
    assert.deepEqual(await readdir(join(r.root, 'blobs/sha256')), []);
  } finally {
    await r.stop();
  }
});
