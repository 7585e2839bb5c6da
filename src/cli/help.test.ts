import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { buildProgram } from './program.js';
import { Session } from './session.js';

const s = new Session({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() }, () => {
  throw new Error('no client in this test');
}, { prog: 'docker' });
const help = async (...path: string[]) => {
  let c = await buildProgram(s, path);
  for (const p of path) c = c.commands.find((x) => x.name() === p)!;
  return c.helpInformation();
};

// Texts as docker 28 prints them (not to a terminal).
test('help has docker’s usage line, aliases and flag table', async () => {
  assert.equal(
    await help('stop'),
    `Usage:  docker stop [OPTIONS] CONTAINER [CONTAINER...]

Stop one or more running containers

Aliases:
  docker container stop, docker stop

Options:
  -s, --signal string   Signal to send to the container
  -t, --timeout int     Seconds to wait before killing the container
`,
  );
  // Descriptions wrap at 79 columns without orphan words; negations of listed flags are not listed.
  assert.equal(
    await help('container', 'attach'),
    `Usage:  docker container attach [OPTIONS] CONTAINER

Attach local standard input, output, and error streams to a running container

Aliases:
  docker container attach, docker attach

Options:
      --detach-keys string   Override the key sequence for detaching a
                             container
      --no-stdin             Do not attach STDIN
      --sig-proxy            Proxy all received signals to the process
                             (default true)
`,
  );
  assert.match(await help('ps'), /\n {2}docker container ls, docker container list, docker container ps, docker ps\n/);
  assert.match(await help('wait'), /^Usage: {2}docker wait CONTAINER \[CONTAINER\.\.\.\]\n\nBlock until/);
  assert.doesNotMatch(await help('inspect'), /Aliases/);
});

test('group help lists its commands and ends with docker’s hint', async () => {
  const text = await help('system');
  assert.match(text, /^Usage: {2}docker system COMMAND\n\nManage Docker\n\nCommands:\n {2}df {10}Show docker disk usage\n/);
  assert.match(text, /\n\nRun 'docker system COMMAND --help' for more information on a command\.\n$/);
});
