import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandWord, expandWords, referencedVariables } from './words.js';
import { lex, reversePattern, shellPatternToRegex } from './_lex.js';
import { InvalidArgumentError } from '../util/index.js';

const fromMap =
  (m: Record<string, string>) =>
  (k: string): string | undefined =>
    Object.prototype.hasOwnProperty.call(m, k) ? m[k] : undefined;

// Expansion cases from BuildKit frontend/dockerfile/shell/envVarTest (Unix rows), as [input, expected | null for an error].
export const envVarCases: [string, string | null][] = [
  ["hello", "hello"],
  ["he'll'o", "hello"],
  ["he'llo", null],
  ["he\\'llo", "he'llo"],
  ["he\\\\'llo", null],
  ["abc\\tdef", "abctdef"],
  ["\"abc\\tdef\"", "abc\\tdef"],
  ["\"abc\\\\tdef\"", "abc\\tdef"],
  ["'abc\\tdef'", "abc\\tdef"],
  ["hello\\", "hello"],
  ["hello\\\\", "hello\\"],
  ["\"hello", null],
  ["\"hello\\\"", null],
  ["\"hel'lo\"", "hel'lo"],
  ["'hello", null],
  ["'hello\\'", "hello\\"],
  ["'hello\\there'", "hello\\there"],
  ["'hello\\\\there'", "hello\\\\there"],
  ["\"''\"", "''"],
  ["$.", "$."],
  ["he$1x", "hex"],
  ["he$.x", "he$.x"],
  ["he$pwd.", "he."],
  ["he$PWD", "he/home"],
  ["he\\$PWD", "he$PWD"],
  ["he\\\\$PWD", "he\\/home"],
  ["\"he\\$PWD\"", "he$PWD"],
  ["\"he\\\\$PWD\"", "he\\/home"],
  ["\\${}", "${}"],
  ["\\${}aaa", "${}aaa"],
  ["he\\${}", "he${}"],
  ["he\\${}xx", "he${}xx"],
  ["${}", null],
  ["${}aaa", null],
  ["he${}", null],
  ["he${}xx", null],
  ["he${hi}", "he"],
  ["he${hi}xx", "hexx"],
  ["he${PWD}", "he/home"],
  ["he${.}", null],
  ["he${XXX:-000}xx", "he000xx"],
  ["he${PWD:-000}xx", "he/homexx"],
  ["he${XXX:-$PWD}xx", "he/homexx"],
  ["he${XXX:-${PWD:-yyy}}xx", "he/homexx"],
  ["he${XXX:-${YYY:-yyy}}xx", "heyyyxx"],
  ["he${XXX:YYY}", null],
  ["he${XXX?}", null],
  ["he${XXX:?}", null],
  ["he${PWD?}", "he/home"],
  ["he${PWD:?}", "he/home"],
  ["he${NULL?}", "he"],
  ["he${NULL:?}", null],
  ["he${XXX:+${PWD}}xx", "hexx"],
  ["he${PWD:+${XXX}}xx", "hexx"],
  ["he${PWD:+${SHELL}}xx", "hebashxx"],
  ["he${XXX:+000}xx", "hexx"],
  ["he${PWD:+000}xx", "he000xx"],
  ["'he${XX}'", "he${XX}"],
  ["\"he${PWD}\"", "he/home"],
  ["\"he'$PWD'\"", "he'/home'"],
  ["\"$PWD\"", "/home"],
  ["'$PWD'", "$PWD"],
  ["'\\$PWD'", "\\$PWD"],
  ["'\"hello\"'", "\"hello\""],
  ["he\\$PWD", "he$PWD"],
  ["\"he\\$PWD\"", "he$PWD"],
  ["'he\\$PWD'", "he\\$PWD"],
  ["he${PWD", null],
  ["he${PWD:=000}xx", null],
  ["he${PWD:+${PWD}:}xx", "he/home:xx"],
  ["he${XXX:-\\$PWD:}xx", "he$PWD:xx"],
  ["he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"],
  ["안녕하세요", "안녕하세요"],
  ["안'녕'하세요", "안녕하세요"],
  ["안'녕하세요", null],
  ["안녕\\'하세요", "안녕'하세요"],
  ["안\\\\'녕하세요", null],
  ["안녕\\t하세요", "안녕t하세요"],
  ["\"안녕\\t하세요\"", "안녕\\t하세요"],
  ["'안녕\\t하세요", null],
  ["안녕하세요\\", "안녕하세요"],
  ["안녕하세요\\\\", "안녕하세요\\"],
  ["\"안녕하세요", null],
  ["\"안녕하세요\\\"", null],
  ["\"안녕'하세요\"", "안녕'하세요"],
  ["'안녕하세요", null],
  ["'안녕하세요\\'", "안녕하세요\\"],
  ["안녕$1x", "안녕x"],
  ["안녕$.x", "안녕$.x"],
  ["안녕$pwd.", "안녕."],
  ["안녕$PWD", "안녕/home"],
  ["안녕\\$PWD", "안녕$PWD"],
  ["안녕\\\\$PWD", "안녕\\/home"],
  ["안녕\\${}", "안녕${}"],
  ["안녕\\${}xx", "안녕${}xx"],
  ["안녕${}", null],
  ["안녕${}xx", null],
  ["안녕${hi}", "안녕"],
  ["안녕${hi}xx", "안녕xx"],
  ["안녕${PWD}", "안녕/home"],
  ["안녕${.}", null],
  ["안녕${XXX:-000}xx", "안녕000xx"],
  ["안녕${PWD:-000}xx", "안녕/homexx"],
  ["안녕${XXX:-$PWD}xx", "안녕/homexx"],
  ["안녕${XXX:-${PWD:-yyy}}xx", "안녕/homexx"],
  ["안녕${XXX:-${YYY:-yyy}}xx", "안녕yyyxx"],
  ["안녕${XXX:YYY}", null],
  ["안녕${XXX:+${PWD}}xx", "안녕xx"],
  ["안녕${PWD:+${XXX}}xx", "안녕xx"],
  ["안녕${PWD:+${SHELL}}xx", "안녕bashxx"],
  ["안녕${XXX:+000}xx", "안녕xx"],
  ["안녕${PWD:+000}xx", "안녕000xx"],
  ["'안녕${XX}'", "안녕${XX}"],
  ["\"안녕${PWD}\"", "안녕/home"],
  ["\"안녕'$PWD'\"", "안녕'/home'"],
  ["'\"안녕\"'", "\"안녕\""],
  ["안녕\\$PWD", "안녕$PWD"],
  ["\"안녕\\$PWD\"", "안녕$PWD"],
  ["'안녕\\$PWD'", "안녕\\$PWD"],
  ["안녕${PWD", null],
  ["안녕${PWD:=000}xx", null],
  ["안녕${PWD:+${PWD}:}xx", "안녕/home:xx"],
  ["안녕${XXX:-\\$PWD:}xx", "안녕$PWD:xx"],
  ["안녕${XXX:-\\${PWD}z}xx", "안녕${PWDz}xx"],
  ["$KOREAN", "한국어"],
  ["안녕$KOREAN", "안녕한국어"],
  ["${{aaa}", null],
  ["${aaa}}", "}"],
  ["${aaa", null],
  ["${{aaa:-bbb}", null],
  ["${aaa:-bbb}}", "bbb}"],
  ["${aaa:-bbb", null],
  ["${aaa:-bbb}", "bbb"],
  ["${aaa:-${bbb:-ccc}}", "ccc"],
  ["${aaa:-bbb ${foo}", null],
  ["${aaa:-bbb {foo}", "bbb {foo"],
  ["${:}", null],
  ["${:-bbb}", null],
  ["${:+bbb}", null],
  ["$1", ""],
  ["${1}", ""],
  ["${1:+bbb}", ""],
  ["${1:-bbb}", "bbb"],
  ["$2", ""],
  ["${2}", ""],
  ["${2:+bbb}", ""],
  ["${2:-bbb}", "bbb"],
  ["$3", ""],
  ["${3}", ""],
  ["${3:+bbb}", ""],
  ["${3:-bbb}", "bbb"],
  ["$4", ""],
  ["${4}", ""],
  ["${4:+bbb}", ""],
  ["${4:-bbb}", "bbb"],
  ["$5", ""],
  ["${5}", ""],
  ["${5:+bbb}", ""],
  ["${5:-bbb}", "bbb"],
  ["$6", ""],
  ["${6}", ""],
  ["${6:+bbb}", ""],
  ["${6:-bbb}", "bbb"],
  ["$7", ""],
  ["${7}", ""],
  ["${7:+bbb}", ""],
  ["${7:-bbb}", "bbb"],
  ["$8", ""],
  ["${8}", ""],
  ["${8:+bbb}", ""],
  ["${8:-bbb}", "bbb"],
  ["$9", ""],
  ["${9}", ""],
  ["${9:+bbb}", ""],
  ["${9:-bbb}", "bbb"],
  ["$999", ""],
  ["${999}", ""],
  ["${999:+bbb}", ""],
  ["${999:-bbb}", "bbb"],
  ["$999aaa", "aaa"],
  ["${999}aaa", "aaa"],
  ["${999:+bbb}aaa", "aaa"],
  ["${999:-bbb}aaa", "bbbaaa"],
  ["$001", ""],
  ["${001}", ""],
  ["${001:+bbb}", ""],
  ["${001:-bbb}", "bbb"],
  ["$001aaa", "aaa"],
  ["${001}aaa", "aaa"],
  ["${001:+bbb}aaa", "aaa"],
  ["${001:-bbb}aaa", "bbbaaa"],
  ["$@", ""],
  ["${@}", ""],
  ["${@:+bbb}", ""],
  ["${@:-bbb}", "bbb"],
  ["$@@@", "@@"],
  ["$@aaa", "aaa"],
  ["${@}aaa", "aaa"],
  ["${@:+bbb}aaa", "aaa"],
  ["${@:-bbb}aaa", "bbbaaa"],
  ["$*", ""],
  ["${*}", ""],
  ["${*:+bbb}", ""],
  ["${*:-bbb}", "bbb"],
  ["$#", ""],
  ["${#}", ""],
  ["${#:+bbb}", ""],
  ["${#:-bbb}", "bbb"],
  ["$?", ""],
  ["${?}", ""],
  ["${?:+bbb}", ""],
  ["${?:-bbb}", "bbb"],
  ["$-", ""],
  ["${-}", ""],
  ["${-:+bbb}", ""],
  ["${-:-bbb}", "bbb"],
  ["$$", ""],
  ["${$}", ""],
  ["${$:+bbb}", ""],
  ["${$:-bbb}", "bbb"],
  ["$!", ""],
  ["${!}", ""],
  ["${!:+bbb}", ""],
  ["${!:-bbb}", "bbb"],
  ["$0", ""],
  ["${0}", ""],
  ["${0:+bbb}", ""],
  ["${0:-bbb}", "bbb"],
];

// Word-splitting cases from BuildKit frontend/dockerfile/shell/wordsTest, as [env, input, words | null for an error].
export const wordsCases: [Record<string, string>, string, string[] | null][] = [
  [{}, "hello", ["hello"]],
  [{}, "hello${hi}bye", ["hellobye"]],
  [{"hi": "hi"}, "hello${hi}bye", ["hellohibye"]],
  [{"hi": "hi", "space": "abc  def"}, "hello${space}bye", ["helloabc", "defbye"]],
  [{"hi": "hi", "space": "abc  def"}, "hello\"${space}\"bye", ["helloabc  defbye"]],
  [{"hi": "hi", "space": "abc  def"}, "hello \"${space}\"bye", ["hello", "abc  defbye"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c"}, "hello${leading}def", ["hello", "ab", "cdef"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c"}, "hello\"${leading}\" def", ["hello  ab c", "def"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c"}, "hello\"${leading}\"", ["hello  ab c"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c"}, "hello${leading}", ["hello", "ab", "c"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello${trailing}", ["helloab", "c"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello${trailing}d", ["helloab", "c", "d"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello\"${trailing}\"d", ["helloab c   d"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hel\"lo${trailing}\"", ["helloab c   "]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello\" there  \"", ["hello there  "]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello there", ["hello", "there"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello\\ there", ["hello there"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello\" there", null],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello\\\" there", ["hello\"", "there"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello\"\\\\there\"", ["hello\\there"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello\"\\there\"", ["hello\\there"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello'\\\\there'", ["hello\\\\there"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello'\\there'", ["hello\\there"]],
  [{"hi": "hi", "space": "abc  def", "leading": "  ab c", "trailing": "ab c   "}, "hello'$there'", ["hello$there"]],
];

test('expandWord: BuildKit envVarTest table', () => {
  const env = fromMap({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });
  for (const [input, expected] of envVarCases) {
    if (expected === null) {
      assert.throws(() => expandWord(input, env), InvalidArgumentError, `input ${input}`);
    } else {
      assert.equal(expandWord(input, env), expected, `input ${input}`);
    }
  }
});

test('expandWords: BuildKit wordsTest table', () => {
  for (const [env, input, expected] of wordsCases) {
    let got: string[] | null;
    try {
      got = expandWords(input, fromMap(env));
    } catch {
      got = null;
    }
    assert.deepEqual(got, expected, `input ${input}`);
  }
});

test('expandWords with raw quotes and unset vars kept (the parser heredoc mode)', () => {
  const r = lex('hello${hi}bye "a b" $x', fromMap({}), { escape: '\\', rawQuotes: true, skipUnsetEnv: true });
  assert.deepEqual(r.words, ['hello${hi}bye', '"a b"', '$x']);
});

// Cases from BuildKit's TestProcessWithMatches: [input, env, expected | null, names looked up].
const matchCases: [string, Record<string, string>, string | null, string[]][] = [
  ['x', { DUMMY: 'dummy' }, 'x', []],
  ['x ${UNUSED}', { DUMMY: 'dummy' }, 'x ', ['UNUSED']],
  ['x ${FOO}', { FOO: 'y' }, 'x y', ['FOO']],
  ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc', ['FOO', 'BAR', 'BAZ']],
  ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc', ['FOO', 'BAR', 'BAZ']],
  ['${FOO:-}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO']],
  ['${FOO:-}', {}, '', ['FOO']],
  ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb ', ['FOO', 'BAR', 'BAZ']],
  ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  ', ['FOO', 'BAR', 'BAZ']],
  ['${FOO?aaa}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO']],
  ['${BAR?bbb}', { FOO: 'xxx', BAR: '' }, '', ['BAR']],
  ['${BAZ?ccc}', { FOO: 'xxx', BAR: '' }, null, ['BAZ']],
  ['${FOO:?aaa}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO']],
  ['${BAR:?bbb}', { FOO: 'xxx', BAR: '' }, null, ['BAR']],
  ['${BAZ:?ccc}', { FOO: 'xxx', BAR: '' }, null, ['BAZ']],
  ['${BAZ:?}', { FOO: 'xxx', BAR: '' }, null, ['BAZ']],
  ['${FOO=aaa}', { FOO: 'xxx', BAR: '' }, null, []],
  ['${FOO=:aaa}', { FOO: 'xxx', BAR: '' }, null, []],
  ['${FOO=}', {}, null, []],
  ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x', ['FOO']],
  ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx', ['FOO']],
  ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y', ['FOO']],
  ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy', ['FOO']],
  ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy', ['BAR', 'FOO']],
  ['${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy', ['BAR', 'FOO']],
  ['${FOO#}', { FOO: 'xxyy' }, 'xxyy', ['FOO']],
  ['${FOO##*x}', { FOO: 'xxyy' }, 'yy', ['FOO']],
  ['${FOO##}', { FOO: 'xxyy' }, 'xxyy', ['FOO']],
  ['${FOO#?\\?}', { FOO: '???y' }, '?y', ['FOO']],
  ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.', ['ABC', 'FOO']],
  ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a', ['FOO']],
  ['${FOO%}', { FOO: 'xxyy' }, 'xxyy', ['FOO']],
  ['${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy', ['BAR', 'FOO']],
  ['${FOO:#}', {}, null, []],
  ['${FOO:##}', {}, null, []],
  ['${FOO:%}', {}, null, []],
  ['${FOO:%%}', {}, null, []],
  ['${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, '/foo.*/*.txt - /foo..*.txt', ['NEEDLE', 'FOO']],
  ['${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, '/tmp/bar.txt - /bar.txt', ['NEEDLE', 'FOO']],
  [
    '${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}',
    { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' },
    '/foo/b/c.txt - /foo/c.txt',
    ['NEEDLE', 'REPLACEMENT', 'FOO'],
  ],
  ['${FOO/$NEEDLE/$REPLACEMENT}', { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' }, 'https://google.de', ['NEEDLE', 'REPLACEMENT', 'FOO']],
  ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt', ['FOO']],
  ['${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' }, 'wwxxyy', ['BAR', 'FOO']],
  ['${FOO//ww}', { FOO: 'xxyy' }, null, []],
  ['${FOO//}', { FOO: 'xxyy' }, null, []],
  ['${FOO///}', { FOO: 'xxyy' }, 'xxyy', ['FOO']],
  ['${FOO///}', {}, '', ['FOO']],
  // A replacement is literal text, not a regexp replacement template.
  ['${FOO/x/$&}', { FOO: 'axb' }, 'a$&b', ['FOO']],
];

test('expandWord and the names it looks up: BuildKit TestProcessWithMatches', () => {
  for (const [input, env, expected, names] of matchCases) {
    if (expected === null) {
      assert.throws(() => expandWord(input, fromMap(env)), InvalidArgumentError, input);
      continue;
    }
    const r = lex(input, fromMap(env), { escape: '\\' });
    assert.equal(r.result, expected, input);
    assert.deepEqual(r.names, names, input);
  }
});

test('${VAR:?msg} and ${VAR?msg}: mandatory variables with their messages', () => {
  const set = fromMap({ VAR: 'plain', ARG: 'x' });
  const empty = fromMap({ VAR: '', ARG: 'x' });
  const unset = fromMap({ ARG: 'x' });
  assert.equal(expandWord('${VAR:?message here$ARG}', set), 'plain');
  assert.throws(() => expandWord('${VAR:?message here$ARG}', empty), /VAR: message herex/);
  assert.throws(() => expandWord('${VAR:?message here$ARG}', unset), /VAR: message herex/);
  assert.equal(expandWord('${VAR?message here$ARG}', set), 'plain');
  assert.equal(expandWord('${VAR?message here$ARG}', empty), '');
  assert.throws(() => expandWord('${VAR?message here$ARG}', unset), /message herex/);
  assert.throws(() => expandWord('${VAR?}', unset), /^Error: |VAR: is not allowed to be unset/);
  assert.throws(() => expandWord('${VAR:?}', empty), /VAR: is not allowed to be empty/);
});

test('error texts are BuildKit\'s, prefixed with the word', () => {
  const none = fromMap({});
  assert.throws(() => expandWord('he${PWD', none), { message: `failed to process "he\${PWD": syntax error: missing '}'` });
  assert.throws(() => expandWord('${}', none), { message: 'failed to process "${}": syntax error: bad substitution' });
  assert.throws(() => expandWord("'abc", none), /unexpected end of statement while looking for matching single-quote/);
  assert.throws(() => expandWord('"abc', none), /unexpected end of statement while looking for matching double-quote/);
  assert.throws(() => expandWord('${a:=b}', none), /unsupported modifier \(:=\) in substitution/);
  assert.throws(() => expandWord('${a:#b}', none), /unsupported modifier \(:#\) in substitution/);
  assert.throws(() => expandWord('${a/b}', none), /syntax error: missing '\/' in \$\{\}/);
});

test('backtick escape (Windows-style Dockerfiles)', () => {
  const env = fromMap({ A: 'x' });
  assert.equal(expandWord('a`$A', env, '`'), 'a$A');
  assert.equal(expandWord('c:\\dir\\$A', env, '`'), 'c:\\dir\\x');
  assert.equal(expandWord('"a`"b"', env, '`'), 'a"b');
  assert.deepEqual(expandWords('a` b c', env, '`'), ['a b', 'c']);
});

test('referencedVariables lists every name, nested and in defaults', () => {
  assert.deepEqual(referencedVariables('$A ${B:-$C} ${D:?} "$E" \'$F\' \\$G'), ['A', 'C', 'B', 'D', 'E']);
  assert.deepEqual(referencedVariables('${X%%$Y}'), ['Y', 'X']);
  assert.deepEqual(referencedVariables('plain'), []);
  assert.deepEqual(referencedVariables('${bad'), []);
  assert.deepEqual(referencedVariables('a`$A $B', '`'), ['B']);
});

test('shellPatternToRegex and reversePattern (BuildKit TestConvertShellPatternToRegex, TestReversePattern)', () => {
  assert.equal(shellPatternToRegex('*', true, true).source, '^.*');
  assert.equal(shellPatternToRegex('?', true, true).source, '^.');
  assert.equal(shellPatternToRegex('\\*', true, true).source, '^\\*');
  assert.equal(shellPatternToRegex('(()[]{\\}^$.\\*\\?|\\\\', true, true).source, '^\\(\\(\\)\\[\\]\\{\\}\\^\\$\\.\\*\\?\\|\\\\');
  for (const bad of ['\\', '\\x', '\\\\\\']) assert.throws(() => shellPatternToRegex(bad, true, true));
  assert.equal(reversePattern('a\\*c'), 'c\\*a');
  assert.equal(reversePattern('\\\\\\ab'), 'b\\a\\\\');
  assert.equal(reversePattern('ab\\'), '\\ba');
  assert.equal(reversePattern('👽\\🚀🖖'), '🖖\\🚀👽');
  assert.equal(reversePattern('\\\\b'), 'b\\\\');
});
