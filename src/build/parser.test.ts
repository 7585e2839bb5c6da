import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseDockerfile, parseRunMount } from './parser.js';
import { DockerfileError } from './errors.js';
import { argsOf, parseHeredocWord, heredocsFromLine } from './_syntax.js';
import type { Flag, Instruction, Located } from './instructions.js';

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
  ['ARG A=1\n', 'dockerfile parse error: dockerfile contains no stages to build'],
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
    ['type=cahce', /unsupported mount type "cahce" \(did you mean cache\?\)/],
    ['type=bind,taget=/x', /unexpected key 'taget' in 'taget=\/x' \(did you mean target\?\)/],
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

// BuildKit's parser testfiles/*: each Dockerfile with its AST dump (result), as BuildKit's Node.Dump prints it.
const fixtures: [name: string, dockerfile: string, dump: string][] = [
  ["escapes", "FROM ubuntu:14.04\nLABEL maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\\"\n\nRUN apt-get \\update && \\\n  apt-get \\\"install znc -y\nADD \\conf\\\\\" /.znc\n\nRUN foo \\\n\nbar \\\n\nbaz\n\nCMD [ \"\\/usr\\\\\\\"/bin/znc\", \"-f\", \"-r\" ]\n", "(from \"ubuntu:14.04\")\n(label \"maintainer\" \"Erik \\\\\\\\Hollensbe <erik@hollensbe.org>\\\\\\\"\" \"\")\n(run \"apt-get \\\\update &&   apt-get \\\\\\\"install znc -y\")\n(add \"\\\\conf\\\\\\\\\\\"\" \"/.znc\")\n(run \"foo bar baz\")\n(cmd \"/usr\\\\\\\"/bin/znc\" \"-f\" \"-r\")\n"],
  ["continueIndent", "FROM ubuntu:14.04\n\nRUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning\nRUN echo hello  \\\n  world\nRUN echo hello  \\\nworld\nRUN echo hello \\\ngoodbye\\\nfrog\nRUN echo hello  \\  \nworld\nRUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight\nRUN echo goodbye\\\nfrog\nRUN echo good\\\nbye\\\nfrog\n\nRUN echo hello \\\n# this is a comment\n\n# this is a comment with a blank line surrounding it\n\nthis is some more useful stuff\n", "(from \"ubuntu:14.04\")\n(run \"echo hello  world  goodnight    moon  lightning\")\n(run \"echo hello    world\")\n(run \"echo hello  world\")\n(run \"echo hello goodbyefrog\")\n(run \"echo hello  world\")\n(run \"echo hi   world  goodnight\")\n(run \"echo goodbyefrog\")\n(run \"echo goodbyefrog\")\n(run \"echo hello this is some more useful stuff\")\n"],
  ["kartar-entrypoint-oddities", "FROM ubuntu:14.04\nLABEL maintainer James Turnbull \"james@example.com\"\nENV REFRESHED_AT 2014-06-01\nRUN apt-get update\nRUN apt-get --no-install-recommends install -y redis-server redis-tools\nEXPOSE 6379\nENTRYPOINT [ \"/usr/bin/redis-server\" ]\n", "(from \"ubuntu:14.04\")\n(label \"maintainer\" \"James Turnbull \\\"james@example.com\\\"\" \"\")\n(env \"REFRESHED_AT\" \"2014-06-01\" \"\")\n(run \"apt-get update\")\n(run \"apt-get --no-install-recommends install -y redis-server redis-tools\")\n(expose \"6379\")\n(entrypoint \"/usr/bin/redis-server\")\n"],
  ["lk4d4-the-edge-case-generator", "FROM busybox:buildroot-2014.02\n\nLABEL maintainer docker <docker@docker.io>\n\nONBUILD RUN [\"echo\", \"test\"]\nONBUILD RUN echo test\nONBUILD COPY . /\n\n\n# RUN Commands \\\n# linebreak in comment \\\nRUN [\"ls\", \"-la\"]\nRUN [\"echo\", \"'1234'\"]\nRUN echo \"1234\"\nRUN echo 1234\nRUN echo '1234' && \\\n    echo \"456\" && \\\n    echo 789\nRUN    sh -c 'echo root:testpass \\\n        > /tmp/passwd'\nRUN mkdir -p /test /test2 /test3/test\n\n# ENV \\\nENV SCUBA 1 DUBA 3\nENV SCUBA \"1 DUBA 3\"\n\n# CMD \\\nCMD [\"echo\", \"test\"]\nCMD echo test\nCMD echo \"test\"\nCMD echo 'test'\nCMD echo 'test' | wc -\n\n#EXPOSE\\\nEXPOSE 3000\nEXPOSE 9000 5000 6000\n\nUSER docker\nUSER docker:root\n\nVOLUME [\"/test\"]\nVOLUME [\"/test\", \"/test2\"]\nVOLUME /test3\n\nWORKDIR /test\n\nADD . /\nCOPY . copy\n", "(from \"busybox:buildroot-2014.02\")\n(label \"maintainer\" \"docker <docker@docker.io>\" \"\")\n(onbuild (run \"echo\" \"test\"))\n(onbuild (run \"echo test\"))\n(onbuild (copy \".\" \"/\"))\n(run \"ls\" \"-la\")\n(run \"echo\" \"'1234'\")\n(run \"echo \\\"1234\\\"\")\n(run \"echo 1234\")\n(run \"echo '1234' &&     echo \\\"456\\\" &&     echo 789\")\n(run \"sh -c 'echo root:testpass         > /tmp/passwd'\")\n(run \"mkdir -p /test /test2 /test3/test\")\n(env \"SCUBA\" \"1 DUBA 3\" \"\")\n(env \"SCUBA\" \"\\\"1 DUBA 3\\\"\" \"\")\n(cmd \"echo\" \"test\")\n(cmd \"echo test\")\n(cmd \"echo \\\"test\\\"\")\n(cmd \"echo 'test'\")\n(cmd \"echo 'test' | wc -\")\n(expose \"3000\")\n(expose \"9000\" \"5000\" \"6000\")\n(user \"docker\")\n(user \"docker:root\")\n(volume \"/test\")\n(volume \"/test\" \"/test2\")\n(volume \"/test3\")\n(workdir \"/test\")\n(add \".\" \"/\")\n(copy \".\" \"copy\")\n"],
  ["escape", "#escape = `\n\nFROM image\nLABEL maintainer foo@bar.com\nENV GOPATH `\n\\go", "(from \"image\")\n(label \"maintainer\" \"foo@bar.com\" \"\")\n(env \"GOPATH\" \"\\\\go\" \"\")\n"],
  ["escape-after-comment", "# Comment here. Should not be looking for the following parser directive.\n# Hence the following line will be ignored, and the subsequent backslash\n# continuation will be the default.\n# escape = `\n\nFROM image\nLABEL maintainer foo@bar.com\nENV GOPATH \\\n\\go", "(from \"image\")\n(label \"maintainer\" \"foo@bar.com\" \"\")\n(env \"GOPATH\" \"\\\\go\" \"\")\n"],
  ["escape-nonewline", "# escape = `\n# There is no white space line after the directives. This still succeeds, but goes\n# against best practices.\nFROM image\nLABEL maintainer foo@bar.com\nENV GOPATH `\n\\go\n", "(from \"image\")\n(label \"maintainer\" \"foo@bar.com\" \"\")\n(env \"GOPATH\" \"\\\\go\" \"\")\n"],
  ["trailing-backslash", "# https://github.com/docker/for-win/issues/5254\n\nFROM hello-world\n\nENV A path\nENV B another\\\\path\nENV C trailing\\\\backslash\\\\\nENV D This should not be appended to C\nENV E hello\\\n\\\nworld\nENV F hello\\\n \\\nworld\nENV G hello \\\n\\\nworld\n", "(from \"hello-world\")\n(env \"A\" \"path\" \"\")\n(env \"B\" \"another\\\\\\\\path\" \"\")\n(env \"C\" \"trailing\\\\\\\\backslash\\\\\\\\\" \"\")\n(env \"D\" \"This should not be appended to C\" \"\")\n(env \"E\" \"helloworld\" \"\")\n(env \"F\" \"hello world\" \"\")\n(env \"G\" \"hello world\" \"\")\n"],
  ["continue-at-eof", "FROM alpine:3.5\n\nRUN something \\", "(from \"alpine:3.5\")\n(run \"something\")\n"],
  ["ADD-COPY-with-JSON", "FROM\tubuntu:14.04\nLABEL\tmaintainer\tSeongyeol Lim <seongyeol37@gmail.com>\n\nCOPY\t.\t/go/src/github.com/docker/docker\nADD\t\t.\t/\nADD\t\tnull /\nCOPY\tnullfile /tmp\nADD\t\t[ \"vimrc\", \"/tmp\" ]\nCOPY\t[ \"bashrc\", \"/tmp\" ]\nCOPY\t[ \"test file\", \"/tmp\" ]\nADD\t\t[ \"test file\", \"/tmp/test file\" ]\n", "(from \"ubuntu:14.04\")\n(label \"maintainer\" \"Seongyeol Lim <seongyeol37@gmail.com>\" \"\")\n(copy \".\" \"/go/src/github.com/docker/docker\")\n(add \".\" \"/\")\n(add \"null\" \"/\")\n(copy \"nullfile\" \"/tmp\")\n(add \"vimrc\" \"/tmp\")\n(copy \"bashrc\" \"/tmp\")\n(copy \"test file\" \"/tmp\")\n(add \"test file\" \"/tmp/test file\")\n"],
  ["args", "ARG foo bar=baz\nFROM ubuntu\nARG abc=\"123 456\" def\n", "(arg \"foo\" \"bar=baz\")\n(from \"ubuntu\")\n(arg \"abc=\\\"123 456\\\"\" \"def\")\n"],
  ["env", "FROM ubuntu\nENV name value\nENV name=value\nENV name=value name2=value2\nENV name=\"value value1\"\nENV name=value\\ value2\nENV name=\"value'quote space'value2\"\nENV name='value\"double quote\"value2'\nENV name=value\\ value2 name2=value2\\ value3\nENV name=\"a\\\"b\"\nENV name=\"a\\'b\"\nENV name='a\\'b'\nENV name='a\\'b''\nENV name='a\\\"b'\nENV name=\"''\"\n# don't put anything after the next line - it must be the last line of the\n# Dockerfile and it must end with \\\nENV name=value \\\n    name1=value1 \\\n    name2=\"value2a \\\n           value2b\" \\\n    name3=\"value3a\\n\\\"value3b\\\"\" \\\n\tname4=\"value4a\\\\nvalue4b\" \\\n", "(from \"ubuntu\")\n(env \"name\" \"value\" \"\")\n(env \"name\" \"value\" \"=\")\n(env \"name\" \"value\" \"=\" \"name2\" \"value2\" \"=\")\n(env \"name\" \"\\\"value value1\\\"\" \"=\")\n(env \"name\" \"value\\\\ value2\" \"=\")\n(env \"name\" \"\\\"value'quote space'value2\\\"\" \"=\")\n(env \"name\" \"'value\\\"double quote\\\"value2'\" \"=\")\n(env \"name\" \"value\\\\ value2\" \"=\" \"name2\" \"value2\\\\ value3\" \"=\")\n(env \"name\" \"\\\"a\\\\\\\"b\\\"\" \"=\")\n(env \"name\" \"\\\"a\\\\'b\\\"\" \"=\")\n(env \"name\" \"'a\\\\'b'\" \"=\")\n(env \"name\" \"'a\\\\'b''\" \"=\")\n(env \"name\" \"'a\\\\\\\"b'\" \"=\")\n(env \"name\" \"\\\"''\\\"\" \"=\")\n(env \"name\" \"value\" \"=\" \"name1\" \"value1\" \"=\" \"name2\" \"\\\"value2a            value2b\\\"\" \"=\" \"name3\" \"\\\"value3a\\\\n\\\\\\\"value3b\\\\\\\"\\\"\" \"=\" \"name4\" \"\\\"value4a\\\\\\\\nvalue4b\\\"\" \"=\")\n"],
  ["jeztah-invalid-json-single-quotes", "CMD ['echo','single quotes are invalid JSON']\n", "(cmd \"['echo','single quotes are invalid JSON']\")\n"],
  ["jeztah-invalid-json-unterminated-bracket", "CMD [\"echo\", \"Please, close the brackets when you're done\"\n", "(cmd \"[\\\"echo\\\", \\\"Please, close the brackets when you're done\\\"\")\n"],
  ["jeztah-invalid-json-json-inside-string", "CMD '[\"echo\", \"Well, JSON in a string is JSON too?\"]'\n", "(cmd \"'[\\\"echo\\\", \\\"Well, JSON in a string is JSON too?\\\"]'\")\n"],
  ["multiple-volumes", "FROM foo\n\nVOLUME /opt/nagios/var /opt/nagios/etc /opt/nagios/libexec /var/log/apache2 /usr/share/snmp/mibs\n", "(from \"foo\")\n(volume \"/opt/nagios/var\" \"/opt/nagios/etc\" \"/opt/nagios/libexec\" \"/var/log/apache2\" \"/usr/share/snmp/mibs\")\n"],
  ["health", "FROM debian\nADD check.sh main.sh /app/\nCMD /app/main.sh\nHEALTHCHECK\nHEALTHCHECK --interval=5s --timeout=3s --retries=3 \\\n  CMD /app/check.sh --quiet\nHEALTHCHECK CMD\nHEALTHCHECK   CMD   a b\nHEALTHCHECK --timeout=3s CMD [\"foo\"]\nHEALTHCHECK CONNECT TCP 7000\nHEALTHCHECK --start-period=0s --start-interval=0s --interval=5s --timeout=0s --retries=0 CMD [\"foo\"]\n", "(from \"debian\")\n(add \"check.sh\" \"main.sh\" \"/app/\")\n(cmd \"/app/main.sh\")\n(healthcheck)\n(healthcheck [\"--interval=5s\" \"--timeout=3s\" \"--retries=3\"] \"CMD\" \"/app/check.sh --quiet\")\n(healthcheck \"CMD\")\n(healthcheck \"CMD\" \"a b\")\n(healthcheck [\"--timeout=3s\"] \"CMD\" \"foo\")\n(healthcheck \"CONNECT\" \"TCP 7000\")\n(healthcheck [\"--start-period=0s\" \"--start-interval=0s\" \"--interval=5s\" \"--timeout=0s\" \"--retries=0\"] \"CMD\" \"foo\")\n"],
];

/** BuildKit's Node.Dump over the raw instructions (JSON quoting stands in for Go's %q: the same for these files). */
function dumpOf(text: string): string {
  const df = parseDockerfile(text);
  const q = (s: string): string => JSON.stringify(s);
  const dump = (kw: string, flags: Flag[], rest: string): string => {
    let out = kw.toLowerCase();
    if (flags.length > 0) out += ' [' + flags.map((f) => q(`--${f.name}${f.hasValue === false ? '' : '=' + f.value}`)).join(' ') + ']';
    const a = argsOf(kw.toLowerCase(), rest, df.escape);
    if (a.sub) return `${out} (${dump(a.sub.cmd, a.sub.flags, a.sub.rest)})`;
    const args = a.pairs ? a.pairs.flatMap((p) => [p.key, p.value, a.legacy ? '' : '=']) : a.args;
    return out + args.map((x) => ' ' + q(x)).join('');
  };
  return df.instructions.map((r) => `(${dump(r.original.trim().split(/[\t\v\f\r ]+/u)[0]!, r.flags, r.rest)})\n`).join('');
}

test('BuildKit parser testfiles: same AST dumps', () => {
  for (const [name, text, want] of fixtures) assert.equal(dumpOf(text), want, name);
});
