import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { AccessPolicy, Htpasswd, parseBasic, parseScopes, TokenSigner } from './auth.js';

test('htpasswd: bcrypt $2y$ (htpasswd -B) and $2a$/$2b$; other hashes refused', async () => {
  const h = bcrypt.hashSync('pw', 4);
  const file = new Htpasswd(`alice:${h.replace(/^\$2[ab]\$/, '$2y$')}\nbob:${h}\n# comment\n`);
  assert.ok(await file.check('alice', 'pw'));
  assert.ok(await file.check('alice', 'pw'), 'cached');
  assert.ok(!(await file.check('alice', 'nope')));
  assert.ok(await file.check('bob', 'pw'));
  assert.ok(!(await file.check('carol', 'pw')));
  assert.throws(() => new Htpasswd('alice:{SHA}abc'), /htpasswd -B/);
});

test('scopes and Basic headers', () => {
  assert.deepEqual(parseScopes(['repository:a/b:pull,push registry:catalog:*']), [
    { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
    { type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  assert.deepEqual(parseBasic(`Basic ${Buffer.from('u:p:q').toString('base64')}`), { user: 'u', password: 'p:q' });
  assert.equal(parseBasic('Bearer x'), undefined);
});

test('access policy: per-user globs, every signed-in user, anonymous; default is all for users, nothing for anonymous', () => {
  const p = new AccessPolicy({ bob: [{ repo: 'bob/*', actions: ['pull', 'push'] }], '*': [{ repo: 'shared', actions: ['pull'] }], anonymous: [{ repo: 'public/*', actions: ['pull'] }] });
  const s = (name: string, ...actions: string[]) => ({ type: 'repository', name, actions });
  assert.deepEqual(p.grant('bob', s('bob/x/y', 'pull', 'push', 'delete')), ['pull', 'push']);
  assert.deepEqual(p.grant('bob', s('team/x', 'pull')), []);
  assert.deepEqual(p.grant('carol', s('shared', 'pull', 'push')), ['pull']);
  assert.deepEqual(p.grant(undefined, s('public/a', 'pull', 'push')), ['pull']);
  assert.deepEqual(p.grant('bob', { type: 'registry', name: 'catalog', actions: ['*'] }), []);
  const open = new AccessPolicy();
  assert.deepEqual(open.grant('anyone', s('x', 'pull', 'push', 'delete')), ['pull', 'push', 'delete']);
  assert.deepEqual(open.grant(undefined, s('x', 'pull')), []);
  assert.deepEqual(open.grant('anyone', { type: 'registry', name: 'catalog', actions: ['*'] }), ['*']);
});

test('tokens: signed, for one service, expiring', () => {
  const key = Buffer.alloc(32, 7);
  const t = new TokenSigner(key, 'svc');
  const tok = t.sign('alice', 60, { access: [{ type: 'repository', name: 'a', actions: ['pull'] }] });
  assert.equal(t.verify(tok)?.sub, 'alice');
  assert.equal(new TokenSigner(key, 'other').verify(tok), undefined);
  assert.equal(new TokenSigner(Buffer.alloc(32, 8), 'svc').verify(tok), undefined);
  const [h, , sig] = tok.split('.');
  const forged = Buffer.from(JSON.stringify({ sub: 'root', aud: 'svc', iss: 'wharf-registry', exp: 9e9, nbf: 0 })).toString('base64url');
  assert.equal(t.verify(`${h}.${forged}.${sig}`), undefined);
  assert.equal(t.verify(t.sign('alice', -1, {})), undefined);
  assert.equal(t.verify('garbage'), undefined);
});
