import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CommanderError } from 'commander';
import { normalizeBooleanFlags, flagErrorMessage } from './flags.js';
import { buildProgram } from './program.js';
import { Session } from './session.js';

const program = await buildProgram(
  new Session({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() }, () => {
    throw new Error('no client in this test');
  }),
);
const norm = (...argv: string[]) => normalizeBooleanFlags(argv, program);

test('boolean flags: --X=true, --X=false and --no-X=<bool> in commander spelling', () => {
  assert.deepEqual(norm('run', '--rm=true', 'x'), ['run', '--rm', 'x']);
  assert.deepEqual(norm('run', '--rm=false', 'x'), ['run', 'x']);
  assert.deepEqual(norm('run', '--sig-proxy=false', 'x'), ['run', '--no-sig-proxy', 'x']);
  assert.deepEqual(norm('run', '--no-sig-proxy=false', 'x'), ['run', '--sig-proxy', 'x']);
  assert.deepEqual(norm('ps', '--no-trunc=false'), ['ps']);
  assert.deepEqual(norm('ps', '--no-trunc=true'), ['ps', '--no-trunc']);
  assert.deepEqual(norm('container', 'ls', '--no-trunc=1'), ['container', 'ls', '--no-trunc']);
  assert.deepEqual(norm('commit', 'c', '--pause=false'), ['commit', 'c', '--no-pause']);
  // Not a boolean flag, or not a boolean value: left for commander to take or refuse.
  assert.deepEqual(norm('run', '--name=false', 'x'), ['run', '--name=false', 'x']);
  assert.deepEqual(norm('run', '--pull=never', 'x'), ['run', '--pull=never', 'x']);
  assert.deepEqual(norm('run', '--rm=maybe', 'x'), ['run', '--rm=maybe', 'x']);
  assert.deepEqual(norm('ps', '--bogus=false'), ['ps', '--bogus=false']);
  // Shorthands too, as pflag takes them.
  assert.deepEqual(norm('history', '-H=false', 'img'), ['history', '--no-human', 'img']);
  assert.deepEqual(norm('ps', '-a=true'), ['ps', '-a']);
  assert.deepEqual(norm('ps', '-a=false'), ['ps']);
});

test('the container’s own arguments and flag values are never rewritten', () => {
  assert.deepEqual(norm('exec', 'c', 'tool', '--trunc=false'), ['exec', 'c', 'tool', '--trunc=false']);
  assert.deepEqual(norm('exec', '-e', 'A=1', 'c', 'tool', '--rm=false'), ['exec', '-e', 'A=1', 'c', 'tool', '--rm=false']);
  assert.deepEqual(norm('run', '--rm=false', 'img', 'sh', '--rm=false'), ['run', 'img', 'sh', '--rm=false']);
  assert.deepEqual(norm('container', 'create', '-it', 'img', '--sig-proxy=false'), ['container', 'create', '-it', 'img', '--sig-proxy=false']);
  // A value-taking flag's value is not the image, even when it looks like a flag.
  assert.deepEqual(norm('run', '--name', 'n', '-e', '--rm=false', '--rm=true', 'img', '--rm=true'), ['run', '--name', 'n', '-e', '--rm=false', '--rm', 'img', '--rm=true']);
  assert.deepEqual(norm('run', '-ie', 'X=1', '--rm=true', 'img'), ['run', '-ie', 'X=1', '--rm', 'img']);
  assert.deepEqual(norm('run', '-eX=1', '--rm=true', 'img'), ['run', '-eX=1', '--rm', 'img']);
  assert.deepEqual(norm('-H', 'unix:///x.sock', 'run', '--rm=true', 'img'), ['-H', 'unix:///x.sock', 'run', '--rm', 'img']);
  assert.deepEqual(norm('run', '--sig-proxy=false', 'x', '--', '--pause=false'), ['run', '--no-sig-proxy', 'x', '--', '--pause=false']);
  assert.deepEqual(norm('commit', '--', '--pause=false'), ['commit', '--', '--pause=false']);
});

test('flag errors in docker’s words', () => {
  assert.equal(flagErrorMessage(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--bogus'")), 'unknown flag: --bogus');
  assert.equal(flagErrorMessage(new CommanderError(1, 'commander.unknownOption', "error: unknown option '-Z'")), "unknown shorthand flag: 'Z' in -Z");
  assert.equal(
    flagErrorMessage(new CommanderError(1, 'commander.invalidArgument', "error: option '-n, --last <int>' argument 'x' is invalid. strconv.ParseInt: parsing \"x\": invalid syntax")),
    'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax',
  );
  assert.equal(flagErrorMessage(new CommanderError(1, 'commander.optionMissingArgument', "error: option '--name <string>' argument missing")), 'flag needs an argument: --name');
  assert.equal(flagErrorMessage(new CommanderError(1, 'commander.optionMissingArgument', "error: option '-e, --env <list>' argument missing"), '-ie'), "flag needs an argument: 'e' in -e");
  assert.equal(flagErrorMessage(new CommanderError(1, 'commander.optionMissingArgument', "error: option '-e, --env <list>' argument missing"), '--env'), 'flag needs an argument: --env');
});
