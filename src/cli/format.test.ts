import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indentJson, prepareFormat, render, sortedKeys } from './format.js';
import { shortId } from '../util/index.js';
import { ago, bytesSize, ellipsis, formatG, humanSize, parseRamBytes } from './human.js';
import { tabulate } from './table.js';
import { formatPorts, psRow } from './ps.js';
import { historyRows, imageRows } from './images.js';

test('tabwriter: min width 10, padding 3, last cell unpadded', () => {
  assert.equal(tabulate('a\tb\n'), 'a         b\n');
  assert.equal(tabulate('CONTAINER ID\tIMAGE\nabc\tbusybox\n'), 'CONTAINER ID   IMAGE\nabc            busybox\n');
  // An empty last cell leaves the previous column's padding, as docker's history rows do.
  assert.equal(tabulate('a\tb\t\nccc\td\t\n'), 'a         b         \nccc       d         \n');
  assert.equal(tabulate('x…\ty\n'), 'x…        y\n');
  assert.equal(tabulate('no tabs\n'), 'no tabs\n');
});

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

test('human sizes like go-units HumanSizeWithPrecision(3)', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(1200), '1.2kB');
  assert.equal(humanSize(12345), '12.3kB');
  assert.equal(humanSize(4_260_000), '4.26MB');
  assert.equal(humanSize(4_264_999), '4.26MB');
  assert.equal(humanSize(1_982_000), '1.98MB');
  assert.equal(humanSize(123_456_789), '123MB');
  assert.equal(humanSize(2_000_000_000), '2GB');
  assert.equal(formatG(999.5, 3), '1e+03');
  assert.equal(bytesSize(1536 * 1024 * 1024), '1.5GiB');
  assert.equal(parseRamBytes('512m'), 512 * 1024 * 1024);
  assert.equal(parseRamBytes('1g'), 1024 ** 3);
  assert.equal(parseRamBytes('100'), 100);
  assert.equal(parseRamBytes('1.5kb'), 1536);
  assert.throws(() => parseRamBytes('abc'), /invalid size: 'abc'/);
  assert.equal(parseRamBytes('2 MiB'), 2 * 1024 ** 2);
  assert.equal(parseRamBytes('3B'), 3);
  assert.throws(() => parseRamBytes('1z'), /invalid suffix: 'z'/);
  assert.throws(() => parseRamBytes('1kbb'), /invalid suffix: 'kbb'/);
  assert.throws(() => parseRamBytes('1.2.3m'), /parsing "1.2.3": invalid syntax/);
});

test('ago', () => {
  assert.equal(ago(100, 105_000), '5 seconds ago');
});

test('ellipsis and ids', () => {
  assert.equal(ellipsis('sleep 100', 20), 'sleep 100');
  assert.equal(ellipsis('sh -c while true; do sleep 1; done', 20), 'sh -c while true; d…');
  assert.equal(shortId('sha256:0123456789abcdef0123'), '0123456789ab');
  assert.equal(shortId('0123456789abcdef'), '0123456789ab');
});

test('ps rows: quoted truncated command, short id, size, labels', () => {
  const row = psRow(
    {
      Id: 'f'.repeat(64),
      Names: ['/web'],
      Image: 'busybox',
      ImageID: 'sha256:x',
      Command: 'sh -c while true; do sleep 1; done',
      Created: 100,
      Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '0.0.0.0' }],
      SizeRw: 0,
      SizeRootFs: 4_260_000,
      Labels: { team: 'core' },
      State: 'running',
      Status: 'Up 5 seconds',
      HostConfig: { NetworkMode: 'default' },
      NetworkSettings: { Networks: {} },
      Mounts: [],
    },
    { trunc: true, now: 110_000 },
  );
  assert.equal(row.ID, 'ffffffffffff');
  assert.equal(row.Command, '"sh -c while true; d…"');
  assert.equal(row.RunningFor, '10 seconds ago');
  assert.equal(row.Size, '0B (virtual 4.26MB)');
  assert.equal(row.Names, 'web');
  assert.equal(row.Ports, '0.0.0.0:8080->80/tcp');
  assert.equal(row.Label('team'), 'core');
  assert.equal(render('{{.Label "team"}}', [row]), 'core\n');
  assert.ok(!('Label' in JSON.parse(render('json', [row]))));
  assert.equal(formatPorts([{ PrivatePort: 443, Type: 'tcp' }]), '443/tcp');
});

test('image and history rows', () => {
  const [r] = imageRows([{ Id: 'sha256:' + 'a'.repeat(64), ParentId: '', RepoTags: ['busybox:latest'], RepoDigests: [], Created: 0, Size: 4_260_000, SharedSize: -1, Labels: null, Containers: -1 }], { trunc: true });
  assert.equal(r.Repository, 'busybox');
  assert.equal(r.Tag, 'latest');
  assert.equal(r.ID, 'aaaaaaaaaaaa');
  assert.equal(r.Size, '4.26MB');
  const [none] = imageRows([{ Id: 'sha256:b', ParentId: '', RepoTags: [], RepoDigests: [], Created: 0, Size: 0, SharedSize: 0, Labels: null, Containers: 0 }], { trunc: true });
  assert.equal(`${none.Repository}:${none.Tag}`, '<none>:<none>');
  const [h] = historyRows([{ Id: '<missing>', Created: 0, CreatedBy: '/bin/sh -c #(nop)  CMD ["sh"] and a long tail of text', Tags: null, Size: 1200, Comment: 'c' }], { trunc: true, human: true });
  assert.equal(h.ID, '<missing>');
  assert.equal([...h.CreatedBy].length, 45);
  assert.equal(h.Size, '1.2kB');
});

test('json of formatter rows escapes HTML like Go; inspect data does not', () => {
  assert.equal(render('json', [sortedKeys({ Tag: '<none>' })]), '{"Tag":"\\u003cnone\\u003e"}\n');
  assert.equal(render('{{json .}}', [{ Tag: '<none>' }]), '{"Tag":"<none>"}\n');
});

test('events keep timeNano exact and marshal in docker’s field order', async () => {
  const { eventJson, formatEvent } = await import('./system.js');
  const e = { Type: 'container' as const, Action: 'start', Actor: { ID: 'abc', Attributes: { name: 'x' } }, scope: 'local' as const, time: 1795435324, timeNano: '1795435324049918700', id: 'abc' };
  assert.equal(formatEvent(e), '2026-11-23T12:02:04.049918700Z container start abc (name=x)');
  assert.equal(
    eventJson(e),
    '{"id":"abc","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"x"}},"scope":"local","time":1795435324,"timeNano":1795435324049918700}',
  );
});

test('an unknown field of a formatter row is an execution error; of inspect data, <no value>', async () => {
  const { templateErrorMessage } = await import('./format.js');
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
