import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, goString, sprintf, TemplateError } from './template.js';

const run = (src: string, data: unknown = {}) => compile(src).execute(data);

const ctr = {
  ID: 'abc123',
  Names: ['web', 'api'],
  State: { Status: 'running', Running: true, ExitCode: 0, Health: null },
  Config: { Env: ['A=1', 'B=2'], Labels: { 'com.x': 'y', team: 'core' }, Cmd: ['sh', '-c', 'echo hi'] },
  Count: 3,
  Empty: [],
  Name: '/web',
  Label(k: string) {
    return (this.Config.Labels as Record<string, string>)[k] ?? '';
  },
};

test('fields: plain, nested, dot, missing', () => {
  assert.equal(run('{{.ID}}', ctr), 'abc123');
  assert.equal(run('{{.State.Status}}', ctr), 'running');
  assert.equal(run('{{.State.Running}} {{.State.ExitCode}}', ctr), 'true 0');
  assert.equal(run('{{.}}', 'x'), 'x');
  assert.equal(run('{{.Missing}}', ctr), '<no value>');
  assert.equal(run('{{.State.Health}}', ctr), '<nil>');
  assert.equal(run('plain text'), 'plain text');
  assert.equal(run(''), '');
});

test('printing composite values like Go', () => {
  assert.equal(run('{{.Names}}', ctr), '[web api]');
  assert.equal(run('{{.Config.Labels}}', ctr), 'map[com.x:y team:core]');
  assert.equal(run('{{.V}}', { V: { Status: 'up', Code: 1 } }), '{up 1}');
  assert.equal(run('{{.V}}', { V: 1.5 }), '1.5');
  assert.equal(goString([1, null]), '[1 <nil>]');
});

test('json', () => {
  assert.equal(run('{{json .State}}', ctr), '{"Status":"running","Running":true,"ExitCode":0,"Health":null}');
  assert.equal(run('{{json .Config.Cmd}}', ctr), '["sh","-c","echo hi"]');
  assert.equal(run('{{json .Missing}}', ctr), 'null');
  assert.equal(run('{{json "<a&b>"}}'), '"<a&b>"');
});

test('string functions: join, split, upper, lower, title, truncate, pad', () => {
  assert.equal(run('{{join .Names ","}}', ctr), 'web,api');
  assert.equal(run('{{join .Names ", "}}', ctr), 'web, api');
  assert.equal(run('{{split "a:b:c" ":"}}'), '[a b c]');
  assert.equal(run('{{index (split "a:b:c" ":") 1}}'), 'b');
  assert.equal(run('{{upper .ID}}', ctr), 'ABC123');
  assert.equal(run('{{lower "ABC"}}'), 'abc');
  assert.equal(run('{{title "hello big world"}}'), 'Hello Big World');
  assert.equal(run('{{truncate .ID 3}}', ctr), 'abc');
  assert.equal(run('{{truncate "ab" 5}}'), 'ab');
  assert.equal(run('{{pad .ID 2 1}}|', ctr), '  abc123 |');
});

test('len, index, slice', () => {
  assert.equal(run('{{len .Names}}', ctr), '2');
  assert.equal(run('{{len .Config.Labels}}', ctr), '2');
  assert.equal(run('{{len "héllo"}}'), '6');
  assert.equal(run('{{index .Names 1}}', ctr), 'api');
  assert.equal(run('{{index .Config.Labels "team"}}', ctr), 'core');
  assert.equal(run('{{index .Config.Labels "nope"}}', ctr), '<no value>');
  assert.equal(run('{{slice .ID 1 3}}', ctr), 'bc');
  assert.throws(() => run('{{index .Names 5}}', ctr), /index out of range/);
});

test('printf verbs and widths', () => {
  assert.equal(run('{{printf "%s-%d" .ID .Count}}', ctr), 'abc123-3');
  assert.equal(run('{{printf "%-8s|" .ID}}', ctr), 'abc123  |');
  assert.equal(run('{{printf "%8s|" .ID}}', ctr), '  abc123|');
  assert.equal(run('{{printf "%v" .Names}}', ctr), '[web api]');
  assert.equal(run('{{printf "%q" .ID}}', ctr), '"abc123"');
  assert.equal(run('{{printf "%05d" 42}}'), '00042');
  assert.equal(run('{{printf "%.2f" 3.14159}}'), '3.14');
  assert.equal(run('{{printf "%x" 255}}'), 'ff');
  assert.equal(run('{{printf "%t" true}}'), 'true');
  assert.equal(run('{{printf "100%%"}}'), '100%');
  assert.equal(run('{{printf "%.3s" "abcdef"}}'), 'abc');
  assert.equal(sprintf('%s', []), '%!s(MISSING)');
  assert.equal(sprintf('%d', ['x']), '%!d(string=x)');
  assert.equal(sprintf('a', [1]), 'a%!(EXTRA int=1)');
});

test('print and println', () => {
  assert.equal(run('{{println .ID}}', ctr), 'abc123\n');
  assert.equal(run('{{println "a" "b"}}'), 'a b\n');
  assert.equal(run('{{print "a" "b"}}'), 'ab');
  assert.equal(run('{{print 1 2}}'), '1 2');
});

test('pipelines', () => {
  assert.equal(run('{{.ID | upper}}', ctr), 'ABC123');
  // The piped value is join's last argument, the separator (Go: strings.Join(elems, sep)).
  assert.equal(run('{{"+" | join .Names}}', ctr), 'web+api');
  assert.equal(run('{{.ID | printf "%s!"}}', ctr), 'abc123!');
  assert.equal(run('{{.ID | upper | lower}}', ctr), 'abc123');
  assert.equal(run('{{"x" | printf "%s%s" "y"}}'), 'yx');
  assert.equal(run('{{(index .Names 0) | upper}}', ctr), 'WEB');
});

test('if / else if / else', () => {
  const src = '{{if eq .S "running"}}up{{else if eq .S "exited"}}down {{.Code}}{{else}}?{{end}}';
  assert.equal(run(src, { S: 'running', Code: 0 }), 'up');
  assert.equal(run(src, { S: 'exited', Code: 2 }), 'down 2');
  assert.equal(run(src, { S: 'paused', Code: 0 }), '?');
  assert.equal(run('{{if .Empty}}y{{else}}n{{end}}', ctr), 'n');
  assert.equal(run('{{if .Names}}y{{end}}', ctr), 'y');
  assert.equal(run('{{if .Missing}}y{{else}}n{{end}}', ctr), 'n');
  assert.equal(run('{{if 0}}y{{else}}n{{end}}'), 'n');
  assert.equal(run('{{if ""}}y{{else}}n{{end}}'), 'n');
});

test('comparisons and logic', () => {
  assert.equal(run('{{eq 1 1}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 3 2}} {{ge 1 2}}'), 'true true true true true false');
  assert.equal(run('{{eq .S "a" "b" "c"}}', { S: 'c' }), 'true');
  assert.equal(run('{{lt "a" "b"}}'), 'true');
  assert.equal(run('{{and 1 0}} {{and 1 2}} {{or 0 ""}} {{or 0 5}}'), '0 2  5');
  assert.equal(run('{{not true}} {{not ""}}'), 'false true');
  assert.equal(run('{{if and (gt .Count 1) (ne .ID "")}}yes{{end}}', ctr), 'yes');
  assert.equal(run('{{if or (eq .ID "x") .State.Running}}yes{{end}}', ctr), 'yes');
  // Go evaluates and/or lazily: the nil Health is never walked into.
  assert.equal(run('{{if and .State.Health .State.Health.Status}}{{.State.Health.Status}}{{else}}none{{end}}', ctr), 'none');
  assert.equal(run('{{or .State.Running .State.Health.Status}}', ctr), 'true');
  assert.equal(run('{{and .State.Running .State.Status}}', ctr), 'running');
  assert.equal(run('{{.State.Health | and .State.Running}}', ctr), '<nil>');
  assert.throws(() => run('{{and .State.Running .State.Health.Status}}', ctr), /nil pointer evaluating interface \{\}\.Status/);
  assert.throws(() => run('{{and}}'), /wrong number of args for and: want at least 1 got 0/);
  assert.throws(() => run('{{lt 1 "a"}}'), /comparison/);
});

test('range over lists and maps, with variables, else, break and continue', () => {
  assert.equal(run('{{range .Names}}[{{.}}]{{end}}', ctr), '[web][api]');
  assert.equal(run('{{range $i, $n := .Names}}{{$i}}={{$n}};{{end}}', ctr), '0=web;1=api;');
  assert.equal(run('{{range $n := .Names}}{{$n}} {{end}}', ctr), 'web api ');
  assert.equal(run('{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}} {{end}}', ctr), 'com.x:y team:core ');
  assert.equal(run('{{range .Empty}}x{{else}}none{{end}}', ctr), 'none');
  assert.equal(run('{{range .Missing}}x{{else}}none{{end}}', ctr), 'none');
  assert.equal(run('{{range .L}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}', { L: [1, 2, 3, 4] }), '12');
  assert.equal(run('{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}', { L: [1, 2, 3] }), '13');
  assert.equal(run('{{range .Config.Env}}{{println .}}{{end}}', ctr), 'A=1\nB=2\n');
  // $ is the top-level data inside range.
  assert.equal(run('{{range .Names}}{{$.ID}}/{{.}} {{end}}', ctr), 'abc123/web abc123/api ');
});

test('with', () => {
  assert.equal(run('{{with .State}}{{.Status}}{{end}}', ctr), 'running');
  assert.equal(run('{{with .Missing}}x{{else}}none{{end}}', ctr), 'none');
  assert.equal(run('{{with $s := .State.Status}}{{$s}}{{end}}', ctr), 'running');
});

test('variables: declare, assign, scope, fields on variables', () => {
  assert.equal(run('{{$x := .ID}}{{$x}}', ctr), 'abc123');
  assert.equal(run('{{$s := .State}}{{$s.Status}}', ctr), 'running');
  assert.equal(run('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}'), '2');
  assert.equal(run('{{$x := 1}}{{range .L}}{{$x = .}}{{end}}{{$x}}', { L: [5, 6] }), '6');
  assert.throws(() => run('{{$nope}}'), /undefined variable/);
});

test('methods with arguments (docker .Label "key")', () => {
  assert.equal(run('{{.Label "team"}}', ctr), 'core');
  assert.equal(run('{{.Label "none"}}', ctr), '');
  assert.equal(run('{{.Label "team" | upper}}', ctr), 'CORE');
});

test('parenthesised pipelines and fields on them', () => {
  assert.equal(run('{{(index .Items 0).Name}}', { Items: [{ Name: 'first' }] }), 'first');
  assert.equal(run('{{len (split .S ",")}}', { S: 'a,b,c' }), '3');
});

test('whitespace trimming', () => {
  assert.equal(run('a {{- " b " -}} c'), 'a b c');
  assert.equal(run('a  \n {{- .ID}}', ctr), 'aabc123');
  assert.equal(run('{{.ID -}}  \n  x', ctr), 'abc123x');
  assert.equal(run('{{range .Names -}}\n  {{.}}\n{{- end}}', ctr), 'webapi');
  assert.equal(run('{{-3}}'), '-3');
});

test('literals and comments', () => {
  assert.equal(run('{{"a\\tb"}}'), 'a\tb');
  assert.equal(run('{{`raw\\n`}}'), 'raw\\n');
  assert.equal(run('{{1}} {{-2}} {{true}} {{3.5}}'), '1 -2 true 3.5');
  assert.equal(run('a{{/* a comment */}}b'), 'ab');
  assert.equal(run('{{"}}"}}'), '}}');
});

test('syntax and execution errors', () => {
  assert.throws(() => compile('{{if .X}}'), /unexpected EOF/);
  assert.throws(() => compile('{{end}}'), /unexpected \{\{end\}\}/);
  assert.throws(() => compile('{{.X'), /unclosed action/);
  assert.throws(() => compile('{{nosuch .X}}'), /function "nosuch" not defined/);
  assert.throws(() => compile('{{(.X}}'), /unclosed left paren/);
  assert.throws(() => compile('{{break}}'), /outside/);
  assert.throws(() => run('{{.A.B}}', { A: 'str' }), TemplateError);
  assert.throws(() => run('{{len 3}}'), /len of type/);
});
