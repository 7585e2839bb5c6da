import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageRows } from './ls.js';

test('image rows: one per tag, <none> for untagged', () => {
  const [r] = imageRows([{ Id: 'sha256:' + 'a'.repeat(64), ParentId: '', RepoTags: ['busybox:latest'], RepoDigests: [], Created: 0, Size: 4_260_000, SharedSize: -1, Labels: null, Containers: -1 }], { trunc: true });
  assert.equal(r.Repository, 'busybox');
  assert.equal(r.Tag, 'latest');
  assert.equal(r.ID, 'aaaaaaaaaaaa');
  assert.equal(r.Size, '4.26MB');
  const [none] = imageRows([{ Id: 'sha256:b', ParentId: '', RepoTags: [], RepoDigests: [], Created: 0, Size: 0, SharedSize: 0, Labels: null, Containers: 0 }], { trunc: true });
  assert.equal(`${none.Repository}:${none.Tag}`, '<none>:<none>');
});
