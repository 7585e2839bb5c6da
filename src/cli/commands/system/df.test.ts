import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SystemDfResponse } from '../../../types/index.js';
import { dfRows } from './df.js';

test('df: the Build Cache row counts the cache records, active ones, and what is not in use or shared', () => {
  const rec = (Size: number, InUse: boolean, Shared: boolean) => ({ ID: 'x', Type: 'regular', Description: '', InUse, Shared, Size, CreatedAt: '', LastUsedAt: null, UsageCount: 1 });
  const df = { Images: [], Containers: [], Volumes: [], BuildCache: [rec(1000, true, false), rec(2000, false, false), rec(5000, false, true)] } as unknown as SystemDfResponse;
  const row = dfRows(df)[3] as Record<string, string>;
  assert.deepEqual({ ...row }, { Active: '1', Reclaimable: '2kB', Size: '3kB', TotalCount: '3', Type: 'Build Cache' });
});
