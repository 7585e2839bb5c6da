import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Demuxer, demux, jsonLines, readProgress } from './stream.js';
import { negotiateVersion, queryString } from './transport.js';
import { resolveEndpoint } from './host.js';
import { apiErrorFrom } from './errors.js';

const frame = (id: number, text: string) => {
  const payload = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = id;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
};

test('demuxer: whole frames, frames split across chunks, several per chunk', () => {
  const got: [number, string][] = [];
  const d = new Demuxer((id, p) => got.push([id, p.toString()]));
  const all = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more')]);
  // Feed byte by byte: every split point must work.
  for (const b of all) d.push(Buffer.from([b]));
  assert.deepEqual(got, [
    [1, 'out\n'],
    [2, 'err\n'],
    [1, 'more'],
  ]);
  got.length = 0;
  d.push(Buffer.concat([frame(2, 'a'), frame(1, 'b'), frame(2, 'c').subarray(0, 5)]));
  assert.deepEqual(got, [
    [2, 'a'],
    [1, 'b'],
  ]);
  assert.equal(d.leftover, 5);
});

test('demux: routes to stdout and stderr and resolves at end', async () => {
  const input = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  const done = demux(input, { stdout: (b) => out.push(b.toString()), stderr: (b) => err.push(b.toString()) });
  input.write(frame(1, 'hello '));
  input.write(frame(2, 'oops'));
  input.end(frame(1, 'world'));
  await done;
  assert.equal(out.join(''), 'hello world');
  assert.equal(err.join(''), 'oops');
});

test('json lines and progress errors', async () => {
  const input = new PassThrough();
  input.end('{"status":"a"}\n{"stream":"Loaded image: x\\n"}\n{"error":"boom","errorDetail":{"message":"boom"}}\n');
  const seen: string[] = [];
  const error = await readProgress(input, (m) => seen.push(m.status ?? m.stream ?? ''));
  assert.equal(error, 'boom');
  assert.deepEqual(seen, ['a', 'Loaded image: x\n']);
  const values: unknown[] = [];
  for await (const v of jsonLines((async function* () { yield '{"a":'; yield '1}\n{"b":2}'; })())) values.push(v);
  assert.deepEqual(values, [{ a: 1 }, { b: 2 }]);
});

test('version negotiation, query encoding, hosts, errors', () => {
  assert.equal(negotiateVersion('1.44'), '1.44');
  assert.equal(negotiateVersion('1.50'), '1.47');
  assert.equal(negotiateVersion(undefined), '1.47');
  assert.equal(queryString({ a: true, b: false, c: undefined, d: ['x', 'y'], e: 3 }), '?a=1&b=0&d=x&d=y&e=3');
  assert.deepEqual(resolveEndpoint({}, {}), { kind: 'unix', host: 'unix:///run/wharf/wharf.sock', socketPath: '/run/wharf/wharf.sock' });
  assert.deepEqual(resolveEndpoint({}, { DOCKER_HOST: 'unix:///tmp/d.sock' }), { kind: 'unix', host: 'unix:///tmp/d.sock', socketPath: '/tmp/d.sock' });
  const tcp = resolveEndpoint({ host: 'tcp://10.0.0.1:2375' }, { DOCKER_HOST: 'unix:///ignored' });
  assert.equal(tcp.kind === 'tcp' && tcp.port, 2375);
  const tls = resolveEndpoint({ host: 'tcp://h', tlsverify: true }, { DOCKER_CERT_PATH: '/certs' }, (p) => Buffer.from(p));
  assert.ok(tls.kind === 'tcp' && tls.port === 2376 && tls.tls?.verify && tls.tls.ca?.toString() === '/certs/ca.pem');
  assert.throws(() => resolveEndpoint({ host: 'ftp://x' }), /unable to parse docker host/);
  const e = apiErrorFrom(404, '{"message":"No such container: x"}');
  assert.equal(e.statusCode, 404);
  assert.equal(e.message, 'No such container: x');
  assert.equal(apiErrorFrom(500, 'plain').message, 'plain');
});
