import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyRows } from './history.js';

test('history rows: <missing> ids kept, CREATED BY cut at 45, human sizes', () => {
  const [h] = historyRows([{ Id: '<missing>', Created: 0, CreatedBy: '/bin/sh -c #(nop)  CMD ["sh"] and a long tail of text', Tags: null, Size: 1200, Comment: 'c' }], { trunc: true, human: true });
  assert.equal(h.ID, '<missing>');
  assert.equal([...h.CreatedBy].length, 45);
  assert.equal(h.Size, '1.2kB');
});
