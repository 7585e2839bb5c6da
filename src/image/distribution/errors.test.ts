import { test } from 'node:test';
import assert from 'node:assert/strict';
import { responseError, transportError } from './errors.js';

const json = 'application/json; charset=utf-8';

test('registry errors print as dockerd prints them', () => {
  const m = responseError(404, json, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}');
  assert.equal(m.message, 'manifest unknown: manifest unknown');
  assert.equal(m.errorCode, 'MANIFEST_UNKNOWN');
  assert.equal(m.status, 404);
  assert.equal(responseError(401, json, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository"}]}]}').message, 'unauthorized: authentication required');
  assert.equal(responseError(403, json, '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}').message, 'denied');
  assert.equal(responseError(404, json, '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"x"}}]}').message, 'name unknown: repository name not known to registry');
  const two = responseError(400, json, '{"errors":[{"code":"BLOB_UNKNOWN","message":"m1","detail":1},{"code":"DIGEST_INVALID","message":"m2","detail":2}]}');
  assert.equal(two.message, 'errors:\nblob unknown: m1\ndigest invalid: m2\n');
  assert.equal(two.errorCode, 'BLOB_UNKNOWN');
});

test('bodies that are not errcode JSON', () => {
  assert.equal(responseError(401, json, '{"details":"incorrect username or password"}').message, 'unauthorized: incorrect username or password');
  assert.equal(responseError(401, 'text/plain', 'nope').message, 'unauthorized: nope');
  assert.equal(responseError(403, undefined, 'go away').message, 'denied: go away');
  assert.equal(responseError(404, 'text/plain', '404 page not found\n').message, 'unknown: 404 page not found\n');
  assert.equal(responseError(401, json, 'not json').message, 'unauthorized: authentication required');
  assert.equal(responseError(500, json, '{}').message, 'received unexpected HTTP status: 500 Internal Server Error');
  const oauth = responseError(401, json, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}', { error: 'invalid_token' });
  assert.equal(oauth.message, 'errors:\nunauthorized: authentication required\nunauthorized\n');
});

test("transport failures worded as Go's net/http", () => {
  const url = new URL('https://127.0.0.1:5000/v2/');
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 5000 });
  assert.equal(transportError('GET', url, refused).message, 'Get "https://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused');
  assert.equal(transportError('GET', url, refused).status, 0);
  const plain = Object.assign(new Error('write EPROTO ...:error:0A00010B:SSL routines::wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
  assert.equal(transportError('GET', url, plain).message, 'Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client');
  const selfSigned = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  assert.equal(transportError('HEAD', url, selfSigned).message, 'Head "https://127.0.0.1:5000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority');
  const dns = Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' });
  assert.equal(transportError('GET', new URL('https://nope.invalid/v2/'), dns).message, 'Get "https://nope.invalid/v2/": dial tcp: lookup nope.invalid: no such host');
  const alt = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID', host: 'other', cert: { subjectaltname: 'DNS:localhost, IP Address:127.0.0.1' } });
  assert.equal(transportError('GET', new URL('https://other/v2/'), alt).message, 'Get "https://other/v2/": tls: failed to verify certificate: x509: certificate is valid for localhost, 127.0.0.1, not other');
});
