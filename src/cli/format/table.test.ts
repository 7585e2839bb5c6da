import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabulate } from './table.js';

test('tabwriter: min width 10, padding 3, last cell unpadded', () => {
  assert.equal(tabulate('a\tb\n'), 'a         b\n');
  assert.equal(tabulate('CONTAINER ID\tIMAGE\nabc\tbusybox\n'), 'CONTAINER ID   IMAGE\nabc            busybox\n');
  // An empty last cell leaves the previous column's padding, as docker's history rows do.
  assert.equal(tabulate('a\tb\t\nccc\td\t\n'), 'a         b         \nccc       d         \n');
  assert.equal(tabulate('x…\ty\n'), 'x…        y\n');
  assert.equal(tabulate('no tabs\n'), 'no tabs\n');
});
