import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayJsonMessages, JsonMessageRenderer, progressText, StreamError, type JsonMessage, type RenderOptions } from './jsonmessage.js';

const L1 = 'a1b2c3d4e5f6';
const L2 = '0f1e2d3c4b5a';
const DIGEST = `sha256:${'cd'.repeat(32)}`;

/** A pull as dockerd streams it: two layers downloading side by side. */
const PULL: JsonMessage[] = [
  { status: 'Pulling from library/busybox', id: 'latest' },
  { status: 'Pulling fs layer', progressDetail: {}, id: L1 },
  { status: 'Pulling fs layer', progressDetail: {}, id: L2 },
  { status: 'Downloading', progressDetail: { current: 1000, total: 2000000 }, progress: '[>    ] 1kB/2MB', id: L1 },
  { status: 'Downloading', progressDetail: { current: 500000, total: 700000 }, progress: '[===>  ] 500kB/700kB', id: L2 },
  { status: 'Download complete', progressDetail: {}, id: L2 },
  { status: 'Pull complete', progressDetail: {}, id: L1 },
  { status: 'Pull complete', progressDetail: {}, id: L2 },
  { status: `Digest: ${DIGEST}` },
  { status: 'Status: Downloaded newer image for busybox:latest' },
];

/** A push, with its aux line (what `docker push` keeps off the screen). */
const PUSH: JsonMessage[] = [
  { status: 'The push refers to repository [127.0.0.1:5000/t/bb]' },
  { status: 'Preparing', progressDetail: {}, id: L1 },
  { status: 'Waiting', progressDetail: {}, id: L1 },
  { status: 'Pushing', progressDetail: { current: 512, total: 2000000 }, progress: '[>  ] 512B/2MB', id: L1 },
  { status: 'Pushed', progressDetail: {}, id: L1 },
  { status: `1: digest: ${DIGEST} size: 527` },
  { progressDetail: {}, aux: { Tag: '1', Digest: DIGEST, Size: 527 } },
];

function render(messages: JsonMessage[], opts: RenderOptions): string {
  let out = '';
  const r = new JsonMessageRenderer({ write: (s: string) => (out += s) }, opts);
  for (const m of messages) r.write(m);
  return out;
}

test('not on a terminal: the lines that are not progress, as docker prints them in a log', () => {
  assert.equal(
    render(PULL, { tty: false }),
    [
      'latest: Pulling from library/busybox',
      `${L1}: Pulling fs layer`,
      `${L2}: Pulling fs layer`,
      `${L2}: Download complete`,
      `${L1}: Pull complete`,
      `${L2}: Pull complete`,
      `Digest: ${DIGEST}`,
      'Status: Downloaded newer image for busybox:latest',
      '',
    ].join('\n'),
  );
});

// Recorded from docker 28.2.2 (`script` with `stty cols 150` / `cols 80`) for the same stream.
const PUSH_TTY_150 =
  'The push refers to repository [127.0.0.1:5000/t/bb]\n\n\u001b[1A\u001b[2K\ra1b2c3d4e5f6: Preparing \r\u001b[1B\u001b[1A\u001b[2K\ra1b2c3d4e5f6: Waiting \r\u001b[1B\u001b[1A\u001b[2K\ra1b2c3d4e5f6: Pushing [>                                                  ]     512B/2MB\r\u001b[1B\u001b[1A\u001b[2K\ra1b2c3d4e5f6: Pushed \r\u001b[1B1: digest: sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd size: 527\n';

test('on a terminal: each layer keeps its line, rewritten in place; aux lines go to the callback', () => {
  const aux: unknown[] = [];
  assert.equal(render(PUSH, { tty: true, width: 150, onAux: (m) => aux.push(m.aux) }), PUSH_TTY_150);
  assert.deepEqual(aux, [{ Tag: '1', Digest: DIGEST, Size: 527 }]);
  // 110 columns or fewer: no bar, the counts only.
  assert.equal(render(PUSH, { tty: true, width: 80 }), PUSH_TTY_150.replace(`[>${' '.repeat(50)}] `, ''));
});

test('on a terminal: a second layer moves the cursor over the first one\'s line', () => {
  const out = render(PULL.slice(0, 5), { tty: true, width: 150 });
  assert.equal(
    out,
    'latest: Pulling from library/busybox\n\n\u001b[1A\u001b[2K\ra1b2c3d4e5f6: Pulling fs layer \r\u001b[1B\n\u001b[1A\u001b[2K\r0f1e2d3c4b5a: Pulling fs layer \r\u001b[1B\u001b[2A\u001b[2K\ra1b2c3d4e5f6: Downloading [>                                                  ]      1kB/2MB\r\u001b[2B\u001b[1A\u001b[2K\r0f1e2d3c4b5a: Downloading [===================================>               ]    500kB/700kB\r\u001b[1B',
  );
});

test('progress text: bar, counts, units, time left as Go prints them', () => {
  assert.equal(progressText({}, 200, 0), '');
  assert.equal(progressText({ current: 1500 }, 200, 0), '   1.5kB');
  assert.equal(progressText({ current: 3, units: 'items' }, 200, 0), '3 items');
  assert.equal(progressText({ current: 3, total: 10, units: 'items' }, 80, 0), '3/10 items');
  assert.equal(progressText({ current: 20, total: 10 }, 80, 0), '     20B');
  assert.equal(progressText({ current: 5, total: 10, hidecounts: true }, 200, 0), `[${'='.repeat(25)}>${' '.repeat(25)}] `);
  // Started 10 s ago, a quarter done: 30 s left.
  assert.equal(progressText({ current: 250, total: 1000, start: 1000 }, 80, 1_010_000), '    250B/1kB 30s');
  assert.equal(progressText({ current: 250, total: 1000, start: 1000 }, 40, 1_010_000), '    250B/1kB');
});

test('an error in the stream stops it with the daemon\'s message', async () => {
  const lines = [
    JSON.stringify({ status: 'Pulling from t/bb', id: '2' }),
    JSON.stringify({ errorDetail: { message: 'manifest unknown' }, error: 'manifest unknown' }),
    JSON.stringify({ status: 'never shown' }),
  ];
  let out = '';
  await assert.rejects(
    displayJsonMessages([Buffer.from(`${lines[0]}\n${lines[1].slice(0, 10)}`), Buffer.from(`${lines[1].slice(10)}\n${lines[2]}\n`)], { write: (s: string) => (out += s) }, { tty: false }),
    (err: unknown) => err instanceof StreamError && err.message === 'manifest unknown',
  );
  assert.equal(out, '2: Pulling from t/bb\n');
  await assert.rejects(displayJsonMessages(['{"status":'], { write: () => {} }, { tty: false }), /invalid JSON/);
});
