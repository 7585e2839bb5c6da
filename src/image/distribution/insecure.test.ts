import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InsecureRegistries } from './insecure.js';

const table: Record<string, string[]> = { 'lan-reg': ['10.0.5.9'], 'loop.example': ['127.0.1.1'], public: ['93.184.216.34'] };
const resolve = async (h: string) => {
  const a = table[h];
  if (!a) throw new Error('ENOTFOUND');
  return a;
};

test('loopback and localhost are insecure by default; Docker Hub never', async () => {
  const r = new InsecureRegistries([], resolve);
  for (const h of ['127.0.0.1:5000', '127.0.0.1', '127.9.9.9:80', 'localhost:5000', 'localhost', '[::1]:5000', 'loop.example:5000']) assert.equal(await r.isInsecure(h), true, h);
  for (const h of ['10.0.5.9:5000', 'lan-reg:5000', 'public', 'unknown.host:5000']) assert.equal(await r.isInsecure(h), false, h);
  assert.equal(await new InsecureRegistries(['docker.io', '0.0.0.0/0'], resolve).isInsecure('docker.io'), false);
});

test('names as written, CIDRs by address or by what a name resolves to', async () => {
  const r = new InsecureRegistries(['myreg:5000', 'http://other.example/', '10.0.0.0/16', 'fd00::/8'], resolve);
  assert.equal(await r.isInsecure('myreg:5000'), true);
  assert.equal(await r.isInsecure('MyReg:5000'), true);
  assert.equal(await r.isInsecure('myreg:5001'), false);
  assert.equal(await r.isInsecure('other.example'), true);
  assert.equal(await r.isInsecure('10.0.200.1:5000'), true);
  assert.equal(await r.isInsecure('10.1.0.1:5000'), false);
  assert.equal(await r.isInsecure('lan-reg:5000'), true);
  assert.equal(await r.isInsecure('[fd12::5]:5000'), true);
  assert.equal(await r.isInsecure('public:5000'), false);
  assert.equal(await r.isInsecure('unknown.host'), false);
});
