import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageSummary } from '../../../types/index.js';
import { memoryIO } from '../../_testio.js';
import { imageRows, listImages } from './ls.js';

test('image rows: one per tag, <none> for untagged', () => {
  const [r] = imageRows([{ Id: 'sha256:' + 'a'.repeat(64), ParentId: '', RepoTags: ['busybox:latest'], RepoDigests: [], Created: 0, Size: 4_260_000, SharedSize: -1, Labels: null, Containers: -1 }], { trunc: true });
  assert.equal(r.Repository, 'busybox');
  assert.equal(r.Tag, 'latest');
  assert.equal(r.ID, 'aaaaaaaaaaaa');
  assert.equal(r.Size, '4.26MB');
  const [none] = imageRows([{ Id: 'sha256:b', ParentId: '', RepoTags: [], RepoDigests: [], Created: 0, Size: 0, SharedSize: 0, Labels: null, Containers: 0 }], { trunc: true });
  assert.equal(`${none.Repository}:${none.Tag}`, '<none>:<none>');
});

const image = (id: string, tags: string[], created: number): ImageSummary => ({
  Id: `sha256:${id.repeat(64).slice(0, 64)}`,
  ParentId: '',
  RepoTags: tags,
  RepoDigests: [],
  Created: created,
  Size: 4_260_000,
  SharedSize: -1,
  Labels: null,
  Containers: -1,
});

test('images: newest first, one row per tag; -q lists each image once; a reference becomes a filter', async () => {
  const now = Math.floor(Date.now() / 1000);
  const asked: unknown[] = [];
  const client = {
    imageList: async (opts?: unknown) => {
      asked.push(opts);
      return [image('a', ['busybox:latest', 'busybox:1.36'], now - 7200), image('b', [], now - 3600)];
    },
  };
  const m = memoryIO();
  assert.equal(await listImages(client, [undefined], {}, m.io), 0);
  assert.equal(
    m.stdout(),
    [
      'REPOSITORY   TAG       IMAGE ID       CREATED             SIZE',
      '<none>       <none>    bbbbbbbbbbbb   About an hour ago   4.26MB',
      'busybox      latest    aaaaaaaaaaaa   2 hours ago         4.26MB',
      'busybox      1.36      aaaaaaaaaaaa   2 hours ago         4.26MB',
      '',
    ].join('\n'),
  );
  const q = memoryIO();
  await listImages(client, ['busybox'], { quiet: true, filter: ['dangling=false'] }, q.io);
  assert.equal(q.stdout(), 'bbbbbbbbbbbb\naaaaaaaaaaaa\n');
  assert.deepEqual(asked.at(-1), { all: undefined, digests: undefined, filters: { dangling: ['false'], reference: ['busybox'] } });
  const j = memoryIO();
  await listImages(client, [undefined], { format: '{{.Repository}}:{{.Tag}}' }, j.io);
  assert.equal(j.stdout(), '<none>:<none>\nbusybox:latest\nbusybox:1.36\n');
});
