import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from './template.js';
import { humanDuration, humanSize, render, tabulate } from './format.js';

const run = (src: string, data: unknown) => compile(src).execute(data);

test('template: fields, nested fields, functions and pipelines', () => {
  const d = { ID: 'abc', State: { Status: 'running' }, Names: ['a', 'b'], Labels: { x: '1' }, N: 3 };
  assert.equal(run('{{.ID}} {{.State.Status}}', d), 'abc running');
  assert.equal(run('{{json .State}}', d), '{"Status":"running"}');
  assert.equal(run('{{join .Names ","}}', d), 'a,b');
  assert.equal(run('{{.ID | upper}}', d), 'ABC');
  assert.equal(run('{{upper .ID | lower}}', d), 'abc');
  assert.equal(run('{{printf "%-5s|%d" .ID .N}}', d), 'abc  |3');
  assert.equal(run('{{len .Names}} {{index .Labels "x"}}', d), '2 1');
  assert.equal(run('{{.Missing}}', d), '<no value>');
  assert.equal(run('{{.Names}}', d), '[a b]');
});

test('template: if/else if/else, range with variables, comparisons, trim markers', () => {
  const d = { S: 'exited', Code: 2, L: ['x', 'y'], M: { b: 2, a: 1 } };
  assert.equal(run('{{if eq .S "running"}}up{{else if eq .S "exited"}}down {{.Code}}{{else}}?{{end}}', d), 'down 2');
  assert.equal(run('{{range $i, $v := .L}}{{$i}}={{$v}};{{end}}', d), '0=x;1=y;');
  assert.equal(run('{{range $k, $v := .M}}{{$k}}:{{$v}} {{end}}', d), 'a:1 b:2 ');
  assert.equal(run('{{if and (gt .Code 1) (ne .S "")}}yes{{end}}', d), 'yes');
  assert.equal(run('{{if not .Nope}}empty{{end}}', d), 'empty');
  assert.equal(run('a {{- " b " -}} c', d), 'a b c');
  assert.equal(run('{{$x := .S}}{{$x}}', d), 'exited');
  assert.equal(run('{{range .Empty}}x{{else}}none{{end}}', d), 'none');
});

test('template: methods with arguments and syntax errors', () => {
  const d = { Label: (k: string) => (k === 'a' ? 'A' : '') };
  assert.equal(run('{{.Label "a"}}', d), 'A');
  assert.throws(() => compile('{{if .X}}'), /unexpected EOF/);
  assert.throws(() => compile('{{end}}'), /unexpected/);
  assert.throws(() => run('{{nosuch .X}}', {}), /function "nosuch" not defined/);
});

test('table rendering: headers from field names, docker tabwriter widths', () => {
  const out = render('table {{.ID}}\t{{.Image}}', [{ ID: 'abc', Image: 'busybox' }], { ID: 'CONTAINER ID', Image: 'IMAGE' });
  assert.equal(out, 'CONTAINER ID   IMAGE\nabc            busybox\n');
  assert.equal(tabulate(['a\tb']), 'a         b\n');
  assert.equal(render('json', [{ A: 1 }], {}), '{"A":1}\n');
});

test('human sizes and durations like go-units', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1982000), '1.98MB');
  assert.equal(humanSize(12345), '12.3kB');
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(5000), '5 seconds');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(humanDuration(3_600_000), 'About an hour');
  assert.equal(humanDuration(3 * 365 * 86_400_000), '3 years');
});
