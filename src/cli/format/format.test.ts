import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indentJson, prepareFormat, render, sortedKeys, templateErrorMessage } from './format.js';

test('render: table headers, json rows, escapes, plain templates', () => {
  const rows = [{ ID: 'abc', Image: 'busybox' }];
  const headers = { ID: 'CONTAINER ID', Image: 'IMAGE' };
  assert.equal(render('table {{.ID}}\t{{.Image}}', rows, headers), 'CONTAINER ID   IMAGE\nabc            busybox\n');
  assert.equal(render('table {{.ID}}\\t{{.Image}}', rows, headers), 'CONTAINER ID   IMAGE\nabc            busybox\n');
  assert.equal(render('table {{.ID}}', [], headers), 'CONTAINER ID\n');
  assert.equal(render('{{.ID}}', [], headers), '');
  assert.equal(render('json', rows), '{"ID":"abc","Image":"busybox"}\n');
  assert.equal(render('{{.ID}}\\n', rows), 'abc\n\n');
  assert.equal(render('{{.ID}}:{{.Image}}', [...rows, { ID: 'd', Image: 'e' }]), 'abc:busybox\nd:e\n');
  // Header functions pass the header through; unknown fields get their name in caps.
  assert.equal(render('table {{upper .ID}}\t{{.RunningFor}}', [{ ID: 'x', RunningFor: 'now' }], { ID: 'CONTAINER ID' }), 'CONTAINER ID   RUNNING FOR\nX              now\n');
  assert.deepEqual(prepareFormat(' {{.ID}} '), { template: '{{.ID}}', table: false });
});

test('indentJson escapes like Go', () => {
  assert.equal(indentJson([{ a: '<&>' }]), '[\n    {\n        "a": "\\u003c\\u0026\\u003e"\n    }\n]');
  assert.deepEqual(Object.keys(sortedKeys({ b: 1, a: 2 })), ['a', 'b']);
});

test('json of formatter rows escapes HTML like Go; inspect data does not', () => {
  assert.equal(render('json', [sortedKeys({ Tag: '<none>' })]), '{"Tag":"\\u003cnone\\u003e"}\n');
  assert.equal(render('{{json .}}', [{ Tag: '<none>' }]), '{"Tag":"<none>"}\n');
});

test('an unknown field of a formatter row is an execution error; of inspect data, <no value>', () => {
  const row = sortedKeys({ Names: 'a' }, '*formatter.ContainerContext');
  assert.equal(render('{{.Names}}', [row]), 'a\n');
  let err: unknown;
  try {
    render('{{.Nope}}', [row]);
  } catch (e) {
    err = e;
  }
  assert.equal(templateErrorMessage(err), 'failed to execute template: template: :1: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext');
  assert.equal(render('{{.Nope}}', [{ Names: 'a' }]), '<no value>\n');
  assert.throws(() => render('{{.Names', [row]), (e) => templateErrorMessage(e) === 'failed to parse template: template: :1: unclosed action');
});
