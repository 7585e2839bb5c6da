import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseDockerfile, parseRunMount } from './parser.js';
import { DockerfileError } from './errors.js';
import { parseHeredocWord, heredocsFromLine } from './_syntax.js';
import type { Instruction, Located } from './instructions.js';

/** The typed steps of the only stage, without `raw`. */
function steps(text: string): Instruction[] {
  const p = parse(text);
  return p.stages[0]!.steps.map((s: Located) => {
    const { raw, ...rest } = s;
    void raw;
    return rest as Instruction;
  });
}
const one = (line: string): Instruction => steps(`FROM scratch\n${line}\n`)[0]!;

// BuildKit's parser_heredoc_test.go TestParseExtractsHeredoc, as [instruction text, heredocs].
const heredocFile = `
FROM alpine:3.6

ENV NAME=me

RUN ls

USER <<INVALID
INVALID

RUN <<EMPTY
EMPTY

RUN 3<<EMPTY2
EMPTY2

RUN "<<NOHEREDOC"

RUN <<INDENT
\tfoo
\tbar
INDENT

RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT

RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2

RUN <<-EXPAND
\texpand $NAME
EXPAND

RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND

RUN <<COPY
echo hello world
echo foo bar
COPY

RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT

RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT

COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2

COPY <<EOF /quotes
"foo"
'bar'
EOF

COPY <<X <<Y /dest
Y
X
X
Y

RUN <<COMPLEX python3
print('hello world')
COMPLEX

COPY <<file.txt /dest
hello world
file.txt

RUN <<eo'f'
echo foo
eof

RUN <<eo\\'f
echo foo
eo'f

RUN <<'e'o\\'f
echo foo
eo'f

RUN <<'one two'
echo bar
one two

RUN <<$EOF
$EOF

RUN <<  EOF
EOF

RUN <<  EOF  > foo
EOF
\t`;
type H = [name: string, content: string, quoted: boolean, chomp?: boolean];
const heredocExpect: H[][] = [
  [], // ENV
  [], // RUN ls
  [], // USER <<INVALID
  [], // INVALID
  [['EMPTY', '', false]],
  [['EMPTY2', '', false]],
  [],
  [['INDENT', '\tfoo\n\tbar\n', false]],
  [['UNINDENT', 'baz\nquux\n', false, true]],
  [['UNINDENT2', 'baz\nquux\n', false, true]],
  [['EXPAND', 'expand $NAME\n', false, true]],
  [['NOEXPAND', "don't expand $NAME\n", true, true]],
  [['COPY', 'echo hello world\necho foo bar\n', false]],
  [['COMMENT', '# internal comment\necho hello world\necho foo bar # trailing comment\n', false]],
  [['MOUNT', 'echo hello\n', false]],
  [
    ['FILE1', 'content 1\n', false],
    ['FILE2', 'content 2\n', false],
  ],
  [['EOF', '"foo"\n\'bar\'\n', false]],
  [
    ['X', 'Y\n', false],
    ['Y', 'X\n', false],
  ],
  [['COMPLEX', "print('hello world')\n", false]],
  [['file.txt', 'hello world\n', false]],
  [['eof', 'echo foo\n', true]],
  [["eo'f", 'echo foo\n', false]],
  [["eo'f", 'echo foo\n', true]],
  [['one two', 'echo bar\n', true]],
  [['$EOF', '', false]],
  [['EOF', '', false]],
  [['EOF', '', false]],
];

test('heredocs: every form in BuildKit TestParseExtractsHeredoc', () => {
  const f = parseDockerfile(heredocFile);
  assert.equal(f.instructions.length, heredocExpect.length + 1);
  heredocExpect.forEach((want, i) => {
    const got = f.instructions[i + 1]!.heredocs.map((h) => [h.name, h.content, h.quoted, ...(h.chomp ? [true] : [])]);
    assert.deepEqual(got, want, `instruction ${i + 1}: ${f.instructions[i + 1]!.original}`);
  });
});

test('heredocs are not read for JSON forms (TestParseJSONHeredoc)', () => {
  const f = parseDockerfile('FROM alpine\nRUN ["whoami"]\nRUN ["<<EOF"]\nRUN ["<<\'EOF\'"]\n');
  for (const i of [1, 2, 3]) assert.deepEqual(f.instructions[i]!.heredocs, []);
  assert.deepEqual(f.instructions[2]!.json, ['<<EOF']);
});

test('parseHeredocWord (TestParseHeredocHelpers) and heredocsFromLine (TestHeredocsFromLine)', () => {
  for (const w of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"', '<<EO"F"', '<< EOF', '<<- EOF']) {
    assert.equal(parseHeredocWord(w)?.name, 'EOF', w);
  }
  for (const w of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh', "<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) {
    assert.equal(parseHeredocWord(w), undefined, w);
  }
  const names = (l: string): string[] => heredocsFromLine(l).map((h) => h.name);
  assert.deepEqual(names('RUN <<EOF'), ['EOF']);
  assert.deepEqual(names('RUN <<-EOF'), ['EOF']);
  // BuildKit's lexer only skips blanks right after `<<`, so `<<- EOF` is not a heredoc (its test does not count them).
  assert.deepEqual(names('RUN <<- EOF'), []);
  assert.deepEqual(names('RUN 4<<EOF'), ['EOF']);
  assert.deepEqual(names("RUN '<<EOF'"), []);
  assert.deepEqual(names('RUN << -EOF'), ['-EOF']);
  assert.deepEqual(names("RUN <<'EOF'"), ['EOF']);
  assert.deepEqual(names('RUN <<"EOF"'), ['EOF']);
  assert.deepEqual(names('RUN <<EOF <<EOF2'), ['EOF', 'EOF2']);
  assert.deepEqual(names('RUN <<EOF && echo hi <<-EOF2'), ['EOF', 'EOF2']);
  assert.deepEqual(names('RUN "<<EOF"'), []);
});

// [Dockerfile, the error message]: BuildKit's texts, with the line.
const errorCases: [string, string][] = [
  ['', 'dockerfile parse error: file with no instructions'],
  ['# only a comment\n\n', 'dockerfile parse error: file with no instructions'],
  ['FROM scratch\nFOO bar\n', 'dockerfile parse error on line 2: unknown instruction: FOO (did you mean FROM?)'],
  ['FROM scratch\nfrobnicate x\n', 'dockerfile parse error on line 2: unknown instruction: frobnicate'],
  ['FROM scratch\nCOPPY a b\n', 'dockerfile parse error on line 2: unknown instruction: COPPY (did you mean COPY?)'],
  ['FROM scratch\nRUN <<EOF\necho\n', 'dockerfile parse error on line 2: unterminated heredoc'],
  ['FROM scratch\nCOPY <<A <<B /x\na\nA\n', 'dockerfile parse error on line 2: unterminated heredoc'],
  ['RUN echo\n', 'dockerfile parse error on line 1: no build stage in current context'],
  ['ARG X\nENV a=b\nFROM scratch\n', 'dockerfile parse error on line 2: no build stage in current context'],
  ['FROM\n', 'dockerfile parse error on line 1: FROM requires either one or three arguments'],
  ['FROM a b\n', 'dockerfile parse error on line 1: FROM requires either one or three arguments'],
  ['FROM a AS 1x\n', 'dockerfile parse error on line 1: invalid name for build stage: "1x", name can\'t start with a number or contain symbols'],
  ['FROM --foo=x a\n', 'dockerfile parse error on line 1: unknown flag: --foo'],
  ['FROM --platfrom=x a\n', 'dockerfile parse error on line 1: unknown flag: --platfrom (did you mean platform?)'],
  ['FROM --platform a\n', 'dockerfile parse error on line 1: missing a value on flag: --platform'],
  ['FROM scratch\nENV\n', 'dockerfile parse error on line 2: ENV requires at least one argument'],
  ['FROM scratch\nENV foo\n', 'dockerfile parse error on line 2: ENV must have two arguments'],
  ['FROM scratch\nLABEL foo\n', 'dockerfile parse error on line 2: LABEL must have two arguments'],
  ['FROM scratch\nENV a=1 b\n', 'dockerfile parse error on line 2: Syntax error - can\'t find = in "b". Must be of the form: name=value'],
  ['FROM scratch\nENV =x\n', 'dockerfile parse error on line 2: ENV names can not be blank'],
  ['FROM scratch\nARG\n', 'dockerfile parse error on line 2: ARG requires at least one argument'],
  ['FROM scratch\nARG =x\n', 'dockerfile parse error on line 2: ARG names can not be blank'],
  ['FROM scratch\nCOPY a\n', 'dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
  ['FROM scratch\nADD a\n', 'dockerfile parse error on line 2: ADD requires at least two arguments, but only one was provided. Destination could not be determined'],
  ['FROM scratch\nCOPY a <<EOF\nx\nEOF\n', 'dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination'],
  ['FROM scratch\nCOPY --checksum=sha256:x a b\n', 'dockerfile parse error on line 2: unknown flag: --checksum'],
  ['FROM scratch\nADD --from=x a b\n', 'dockerfile parse error on line 2: unknown flag: --from'],
  ['FROM scratch\nCOPY --from a b\n', 'dockerfile parse error on line 2: missing a value on flag: --from'],
  ['FROM scratch\nCOPY --from=a --from=b a b\n', 'dockerfile parse error on line 2: duplicate flag specified: --from'],
  ['FROM scratch\nCOPY --link=maybe a b\n', 'dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe'],
  ['FROM scratch\nCOPY --link= a b\n', 'dockerfile parse error on line 2: missing a value on flag: --link'],
  ['FROM scratch\nWORKDIR\n', 'dockerfile parse error on line 2: WORKDIR requires exactly one argument'],
  ['FROM scratch\nUSER\n', 'dockerfile parse error on line 2: USER requires exactly one argument'],
  ['FROM scratch\nSTOPSIGNAL\n', 'dockerfile parse error on line 2: STOPSIGNAL requires exactly one argument'],
  ['FROM scratch\nMAINTAINER\n', 'dockerfile parse error on line 2: MAINTAINER requires exactly one argument'],
  ['FROM scratch\nEXPOSE\n', 'dockerfile parse error on line 2: EXPOSE requires at least one argument'],
  ['FROM scratch\nVOLUME\n', 'dockerfile parse error on line 2: VOLUME requires at least one argument'],
  ['FROM scratch\nVOLUME ["/a", " "]\n', 'dockerfile parse error on line 2: VOLUME specified can not be an empty string'],
  ['FROM scratch\nSHELL /bin/sh -c\n', 'dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form'],
  ['FROM scratch\nSHELL []\n', 'dockerfile parse error on line 2: SHELL requires at least one argument'],
  ['FROM scratch\nCMD ["a", 1]\n', 'dockerfile parse error on line 2: when using JSON array syntax, arrays must be comprised of strings only'],
  ['FROM scratch\nHEALTHCHECK\n', 'dockerfile parse error on line 2: HEALTHCHECK requires at least one argument'],
  ['FROM scratch\nHEALTHCHECK NONE x\n', 'dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments'],
  ['FROM scratch\nHEALTHCHECK CMD\n', 'dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD'],
  ['FROM scratch\nHEALTHCHECK RUN x\n', 'dockerfile parse error on line 2: Unknown type "RUN" in HEALTHCHECK (try CMD)'],
  ['FROM scratch\nHEALTHCHECK --interval=1us CMD x\n', 'dockerfile parse error on line 2: Interval "interval" cannot be less than 1ms'],
  ['FROM scratch\nHEALTHCHECK --timeout=abc CMD x\n', 'dockerfile parse error on line 2: time: invalid duration "abc"'],
  ['FROM scratch\nHEALTHCHECK --retries=-1 CMD x\n', 'dockerfile parse error on line 2: --retries cannot be negative (-1)'],
  ['FROM scratch\nHEALTHCHECK --retries=x CMD x\n', 'dockerfile parse error on line 2: strconv.ParseInt: parsing "x": invalid syntax'],
  ['FROM scratch\nONBUILD\n', 'dockerfile parse error on line 2: ONBUILD requires at least one argument'],
  ['FROM scratch\nONBUILD ONBUILD RUN x\n', "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
  ['FROM scratch\nONBUILD FROM x\n', "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger"],
  ['FROM scratch\nONBUILD MAINTAINER x\n', "dockerfile parse error on line 2: MAINTAINER isn't allowed as an ONBUILD trigger"],
  ['FROM scratch\nONBUILD ENV x\n', 'dockerfile parse error on line 2: ENV must have two arguments'],
  ['FROM scratch\nRUN --network=bridge x\n', 'dockerfile parse error on line 2: invalid network mode "bridge"'],
  ['FROM scratch\nRUN --mount=type=foo x\n', 'dockerfile parse error on line 2: unsupported mount type "foo"'],
  ['FROM scratch\nRUN --mount x\n', 'dockerfile parse error on line 2: missing a value on flag: --mount'],
  ['FROM scratch\nRUN --foo x\n', 'dockerfile parse error on line 2: unknown flag: --foo'],
  ['# escape=x\nFROM scratch\n', "dockerfile parse error on line 1: invalid escape token 'x' does not match ` or \\"],
  ['# escape=\\\n# escape=`\nFROM scratch\n', 'dockerfile parse error on line 2: only one escape parser directive can be used'],
  ['FROM scratch\nRUN a \\\n  b \\\n  c\nCOPYY x y\n', 'dockerfile parse error on line 5: unknown instruction: COPYY (did you mean COPY?)'],
];

test('errors: BuildKit texts with the line', () => {
  for (const [text, message] of errorCases) {
    assert.throws(
      () => parse(text),
      (err: unknown) => {
        assert.ok(err instanceof DockerfileError, `${JSON.stringify(text)}: ${String(err)}`);
        assert.equal(err.message, message, JSON.stringify(text));
        return true;
      },
    );
  }
});

// [Dockerfile line after FROM scratch, the typed instruction].
const typedCases: [string, Instruction][] = [
  ['RUN echo hi', { kind: 'run', command: { form: 'shell', text: 'echo hi' }, mounts: [], heredocs: [] }],
  ['run echo hi', { kind: 'run', command: { form: 'shell', text: 'echo hi' }, mounts: [], heredocs: [] }],
  ['RUN ["echo", "hi"]', { kind: 'run', command: { form: 'json', args: ['echo', 'hi'] }, mounts: [], heredocs: [] }],
  // Invalid JSON falls back to the shell form (BuildKit's jeztah-invalid-json cases).
  ["RUN ['echo', 'hi']", { kind: 'run', command: { form: 'shell', text: "['echo', 'hi']" }, mounts: [], heredocs: [] }],
  ['RUN ["echo", "hi"', { kind: 'run', command: { form: 'shell', text: '["echo", "hi"' }, mounts: [], heredocs: [] }],
  ['RUN ["echo", "hi]', { kind: 'run', command: { form: 'shell', text: '["echo", "hi]' }, mounts: [], heredocs: [] }],
  ['RUN --network=none true', { kind: 'run', command: { form: 'shell', text: 'true' }, mounts: [], heredocs: [], network: 'none' }],
  ['RUN -- --x', { kind: 'run', command: { form: 'shell', text: '--x' }, mounts: [], heredocs: [] }],
  ['CMD ["a", "b"]', { kind: 'cmd', command: { form: 'json', args: ['a', 'b'] } }],
  ['CMD []', { kind: 'cmd', command: { form: 'json', args: [] } }],
  ['CMD echo "a  b"', { kind: 'cmd', command: { form: 'shell', text: 'echo "a  b"' } }],
  ['ENTRYPOINT ["/bin/sh", "-c"]', { kind: 'entrypoint', command: { form: 'json', args: ['/bin/sh', '-c'] } }],
  ['ENTRYPOINT top -b', { kind: 'entrypoint', command: { form: 'shell', text: 'top -b' } }],
  ['ENV a=1 b="x y" c=\'z\'', { kind: 'env', pairs: [{ key: 'a', value: '1' }, { key: 'b', value: '"x y"' }, { key: 'c', value: "'z'" }] }],
  ['ENV a=x\\ y', { kind: 'env', pairs: [{ key: 'a', value: 'x\\ y' }] }],
  ['ENV k v w  x', { kind: 'env', pairs: [{ key: 'k', value: 'v w  x' }] }],
  ['ENV a=', { kind: 'env', pairs: [{ key: 'a', value: '' }] }],
  ['LABEL "com.x"="a b" v=1', { kind: 'label', pairs: [{ key: '"com.x"', value: '"a b"' }, { key: 'v', value: '1' }] }],
  ['ARG a b=1 c="x y" d=', { kind: 'arg', args: [{ name: 'a' }, { name: 'b', default: '1' }, { name: 'c', default: '"x y"' }, { name: 'd', default: '' }] }],
  ['WORKDIR /a b', { kind: 'workdir', value: '/a b' }],
  ['USER 1000:1000', { kind: 'user', value: '1000:1000' }],
  ['STOPSIGNAL SIGKILL', { kind: 'stopsignal', value: 'SIGKILL' }],
  ['MAINTAINER Jane <j@x>', { kind: 'maintainer', value: 'Jane <j@x>' }],
  ['EXPOSE 80 443/tcp $P', { kind: 'expose', values: ['80', '443/tcp', '$P'] }],
  ['VOLUME /a /b', { kind: 'volume', values: ['/a', '/b'] }],
  ['VOLUME ["/a", "/b c"]', { kind: 'volume', values: ['/a', '/b c'] }],
  ['SHELL ["powershell", "-command"]', { kind: 'shell', shell: ['powershell', '-command'] }],
  ['HEALTHCHECK NONE', { kind: 'healthcheck', none: true }],
  ['healthcheck none', { kind: 'healthcheck', none: true }],
  [
    'HEALTHCHECK --interval=5m --timeout=3s --start-period=1s --start-interval=2s --retries=3 CMD curl -f http://x/',
    { kind: 'healthcheck', none: false, command: { form: 'shell', text: 'curl -f http://x/' }, interval: '5m', timeout: '3s', startPeriod: '1s', startInterval: '2s', retries: 3 },
  ],
  ['HEALTHCHECK CMD ["curl", "x"]', { kind: 'healthcheck', none: false, command: { form: 'json', args: ['curl', 'x'] } }],
  ['HEALTHCHECK --interval=0s CMD true', { kind: 'healthcheck', none: false, command: { form: 'shell', text: 'true' } }],
  ['ONBUILD RUN echo hi', { kind: 'onbuild', trigger: 'RUN echo hi' }],
  ['onbuild   ADD . /app', { kind: 'onbuild', trigger: 'ADD . /app' }],
  [
    'COPY --from=build --chown=1:2 --chmod=0644 --link --exclude=*.md --exclude=x --parents a b /dst/',
    { kind: 'copy', sources: ['a', 'b'], dest: '/dst/', heredocs: [], from: 'build', chown: '1:2', chmod: '0644', link: true, exclude: ['*.md', 'x'], parents: true },
  ],
  ['COPY ["a b", "/c"]', { kind: 'copy', sources: ['a b'], dest: '/c', heredocs: [], link: false, exclude: [], parents: false }],
  ['COPY --link=false a /b', { kind: 'copy', sources: ['a'], dest: '/b', heredocs: [], link: false, exclude: [], parents: false }],
  [
    'ADD --checksum=sha256:abc --keep-git-dir --unpack=false https://x/y.tgz /z',
    { kind: 'add', sources: ['https://x/y.tgz'], dest: '/z', heredocs: [], link: false, exclude: [], parents: false, checksum: 'sha256:abc', keepGitDir: true, unpack: false },
  ],
  ['COPY --chown="a b" x /y', { kind: 'copy', sources: ['x'], dest: '/y', heredocs: [], chown: 'a b', link: false, exclude: [], parents: false }],
];

test('typed instructions', () => {
  for (const [line, want] of typedCases) assert.deepEqual(one(line), want, line);
});

test('FROM: alias lower-cased, --platform, ARG before FROM are meta args', () => {
  const p = parse('ARG BASE=busybox\nARG V\nFROM --platform=$BUILDPLATFORM ${BASE}:$V AS Builder\nFROM builder\nfrom scratch as final\n');
  assert.deepEqual(
    p.metaArgs.map((a) => a.args),
    [[{ name: 'BASE', default: 'busybox' }], [{ name: 'V' }]],
  );
  assert.equal(p.stages.length, 3);
  assert.deepEqual(
    p.stages.map((s) => [s.index, s.from.image, s.from.alias, s.from.platform]),
    [
      [0, '${BASE}:$V', 'builder', '$BUILDPLATFORM'],
      [1, 'builder', undefined, undefined],
      [2, 'scratch', 'final', undefined],
    ],
  );
  assert.deepEqual(p.stages[0]!.from.raw.range, { startLine: 3, endLine: 3 });
});

test('RUN heredocs: a single one is the script, several are rebuilt for the shell', () => {
  assert.deepEqual(one('RUN <<EOF\necho a\necho b\nEOF'), { kind: 'run', command: { form: 'shell', text: 'echo a\necho b\n' }, mounts: [], heredocs: [] });
  const s = one('RUN <<-EOF\n\techo $X\n\tEOF');
  assert.deepEqual(s, { kind: 'run', command: { form: 'shell', text: 'echo $X\n' }, mounts: [], heredocs: [] });
  const c = one('RUN cat <<A >/a && cat <<"B" >/b\none\nA\ntwo\nB') as Extract<Instruction, { kind: 'run' }>;
  assert.deepEqual(c.command, { form: 'shell', text: 'cat <<A >/a && cat <<"B" >/b\none\nA\ntwo\nB' });
  assert.deepEqual(
    c.heredocs.map((h) => [h.name, h.quoted]),
    [
      ['A', false],
      ['B', true],
    ],
  );
  const py = one('RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF') as Extract<Instruction, { kind: 'run' }>;
  assert.deepEqual(py.command, { form: 'shell', text: '#!/usr/bin/env python3\nprint(1)\n' });
});

test('COPY heredocs become sources with their content; plain sources stay', () => {
  const c = one('COPY <<A local <<-"B" /dst/\n$x\nA\n\tquoted $y\nB');
  assert.deepEqual(c, {
    kind: 'copy',
    sources: ['local'],
    dest: '/dst/',
    heredocs: [
      { name: 'A', content: '$x\n', quoted: false, chomp: false },
      { name: 'B', content: 'quoted $y\n', quoted: true, chomp: true },
    ],
    link: false,
    exclude: [],
    parents: false,
  });
});

test('ONBUILD keeps a heredoc trigger with its body', () => {
  assert.deepEqual(one('ONBUILD RUN <<EOF\necho hi\nEOF'), { kind: 'onbuild', trigger: 'RUN <<EOF\necho hi\nEOF' });
});

test('heredocs only for RUN, COPY and ADD', () => {
  const f = parseDockerfile('FROM scratch\nENV a=<<EOF\nUSER <<X\nX\n');
  assert.equal(f.instructions.length, 4);
  assert.ok(f.instructions.every((i) => i.heredocs.length === 0));
});

test('RUN --mount: every key, defaults for read-only', () => {
  const r = one(
    'RUN --mount=type=bind,source=/s,target=/t,from=ctx,rw --mount=type=cache,id=c1,dst=/c,sharing=locked,mode=0755,uid=1,gid=2 ' +
      '--mount=type=tmpfs,destination=/tmp,size=64m --mount=type=secret,id=tok,required,env=TOKEN --mount=type=ssh,required=false --mount=target=/ro x',
  ) as Extract<Instruction, { kind: 'run' }>;
  assert.deepEqual(r.mounts, [
    { type: 'bind', source: '/s', target: '/t', from: 'ctx', readonly: false },
    { type: 'cache', id: 'c1', target: '/c', sharing: 'locked', mode: 0o755, uid: 1, gid: 2, readonly: false },
    { type: 'tmpfs', target: '/tmp', size: 64 * 1024 * 1024, readonly: false },
    { type: 'secret', id: 'tok', required: true, env: 'TOKEN', readonly: true },
    { type: 'ssh', required: false, readonly: true },
    { type: 'bind', target: '/ro', readonly: true },
  ]);
});

test('parseRunMount errors (BuildKit texts)', () => {
  const bad: [string, RegExp][] = [
    ['type=bind,mode=0644', /mode not allowed for "bind" type mounts/],
    ['type=tmpfs,uid=1', /uid not allowed for "tmpfs" type mounts/],
    ['type=cache,mode=9', /invalid value 9 for mode/],
    ['type=cache,uid=x', /invalid value x for uid/],
    ['type=bind,size=1m', /unexpected key 'size' for mount type 'bind'/],
    ['type=bind,required', /unexpected key 'required' for mount type 'bind'/],
    ['type=cache,sharing=bogus', /unsupported sharing value "bogus"/],
    ['type=bind,sharing=shared', /invalid cache sharing set for bind mount/],
    ['type=secret', /invalid secret mount. one of source, target required/],
    ['type=secret,id=a,source=b', /both source and id can't be set/],
    ['type=secret,id=a,from=x', /secret mount should not have a from/],
    ['type=bind,foo=bar', /unexpected key 'foo' in 'foo=bar'/],
    ['type=bind,bogus', /invalid field 'bogus' must be a key=value pair/],
    ['type=bind,ro=maybe', /invalid value for ro: maybe/],
  ];
  for (const [spec, re] of bad) assert.throws(() => parseRunMount(spec, (s) => s), re, spec);
  assert.deepEqual(
    parseRunMount('type=bind,"source=a,b",target=/t', (s) => s),
    { type: 'bind', source: 'a,b', target: '/t', readonly: true },
  );
  assert.equal(parseRunMount('type=cache,target=$T', (s) => s.replace('$T', '/x')).target, '/x');
});

test('continuations, comments, empty continuation lines, keyword case', () => {
  const f = parseDockerfile('FROM scratch\nRUN echo a \\\n# dropped comment\n   b \\\n\n  c\nrUn echo x\\\n');
  assert.equal(f.instructions.length, 3);
  assert.equal(f.instructions[1]!.rest, 'echo a    b   c');
  assert.deepEqual(f.instructions[1]!.range, { startLine: 2, endLine: 6 });
  assert.deepEqual(f.warnings, ['Empty continuation line found in: RUN echo a    b   c']);
  // A continuation at the end of the file ends the instruction (BuildKit's continue-at-eof).
  assert.equal(f.instructions[2]!.keyword, 'run');
  assert.equal(f.instructions[2]!.rest, 'echo x');
  assert.equal(f.instructions[2]!.original, 'rUn echo x');
});

test('an escaped escape at the end of a line does not continue it', () => {
  const f = parseDockerfile('FROM scratch\nRUN echo \\\\\nRUN x\n');
  assert.equal(f.instructions.length, 3);
});

test('directives: only at the top, escape backtick, syntax and check kept', () => {
  const f = parseDockerfile('# syntax = docker/dockerfile:1.7\n# check=skip=all\n# escape=`\nFROM scratch\nRUN dir c:\\ `\n  /w\n# escape=\\\n');
  assert.deepEqual(f.directives, { syntax: 'docker/dockerfile:1.7', check: 'skip=all', escape: '`' });
  assert.equal(f.escape, '`');
  assert.equal(f.instructions[1]!.rest, 'dir c:\\   /w');
  // After a non-directive comment or a blank line, `# escape=` is a comment.
  assert.equal(parseDockerfile('# hello\n# escape=`\nFROM a\n').escape, '\\');
  assert.equal(parseDockerfile('\n# escape=`\nFROM a\n').escape, '\\');
  assert.equal(parseDockerfile('# unknown=x\n# escape=`\nFROM a\n').escape, '\\');
  assert.equal(parseDockerfile('\ufeff# escape=`\nFROM a\n').escape, '`');
  assert.equal(parseDockerfile('#ESCAPE = `\nFROM a\n').escape, '`');
});

test('CRLF line endings', () => {
  const f = parseDockerfile('FROM scratch\r\nRUN a \\\r\n  b\r\nCOPY <<EOF /x\r\nhi\r\nEOF\r\n');
  assert.equal(f.instructions[1]!.rest, 'a   b');
  assert.equal(f.instructions[2]!.heredocs[0]!.content, 'hi\r\n');
});

test('flags: raw values, bare flags, `--` ends them', () => {
  const f = parseDockerfile('FROM scratch\nCOPY --link --from="a b" --chmod=7\\55 -- --x y\n');
  assert.deepEqual(f.instructions[1]!.flags, [
    { name: 'link', value: 'true', hasValue: false },
    { name: 'from', value: 'a b' },
    { name: 'chmod', value: '755' },
  ]);
  assert.equal(f.instructions[1]!.rest, '--x y');
});

test('original keeps flags and joined continuations; heredoc bodies left out', () => {
  const f = parseDockerfile('FROM scratch\nRUN --network=none <<EOF \\\n  && true\nbody\nEOF\n');
  assert.equal(f.instructions[1]!.original, 'RUN --network=none <<EOF   && true');
  assert.equal(f.instructions[1]!.heredocs[0]!.content, 'body\n');
});
