import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildView } from './buildview.js';

/** A terminal that keeps what was written, and a clock the test moves. */
function fakeTerminal(columns = 60) {
  let text = '';
  let t = 1000;
  const term = { columns, write: (s: string) => (text += s) };
  return { term, now: () => t, advance: (ms: number) => (t += ms), text: () => text };
}

const CLASSIC = [
  'Step 1/3 : FROM busybox\n',
  ' ---> 0123456789ab\n',
  'Step 2/3 : COPY . /app\n',
  ' ---> Using cache\n',
  ' ---> 1123456789ab\n',
  'Step 3/3 : RUN make all && make install\n',
  ' ---> Running in 2123456789ab\n',
];

test('BuildView: finished steps fold to one line with their time, CACHED marked, the running step shows its last lines', () => {
  const f = fakeTerminal();
  const v = new BuildView(f.term, { now: f.now, intervalMs: 0, tailLines: 2 });
  v.context('Sending build context to Docker daemon  2.048kB');
  for (const chunk of CLASSIC) {
    v.write(chunk);
    f.advance(500);
  }
  // Output lines may come split across chunks.
  v.write('line 1\nline');
  v.write(' 2\nline 3\n');
  f.advance(1200);
  assert.deepEqual(v.frame(), [
    '[+] Building 4.7s (2/3)',
    ' => transferring context: 2.048kB                       0.0s',
    ' => [1/3] FROM busybox                                  0.5s',
    ' => CACHED [2/3] COPY . /app                            1.0s',
    ' => [3/3] RUN make all && make install                  2.2s',
    ' => => # line 2',
    ' => => # line 3',
  ]);
  assert.ok(v.frame().every((l) => l.length <= 60));
});

test('BuildView: redraws over the last frame with cursor moves; the end folds everything and adds the summary', () => {
  const f = fakeTerminal(40);
  const v = new BuildView(f.term, { now: f.now, intervalMs: 0 });
  for (const chunk of CLASSIC) v.write(chunk);
  v.write('compiling a very long line that does not fit in forty columns at all\n');
  v.render();
  const first = f.text();
  assert.equal(first.split('\n').length - 1, 5);
  assert.ok(!first.startsWith('\x1b['));
  assert.ok(first.split('\n').slice(0, -1).every((l) => l.replace(/\x1b\[K$/, '').length <= 40));
  f.advance(300);
  v.write(' ---> 3123456789ab\nRemoving intermediate container 2123456789ab\nSuccessfully built 3123456789ab\nSuccessfully tagged app:latest\n');
  v.finish();
  const second = f.text().slice(first.length);
  // Up over the 5 lines drawn, then 4 lines and a clear of the rest below.
  assert.ok(second.startsWith('\x1b[5A\r'));
  assert.match(second, /\[\+\] Building 0\.3s \(3\/3\) FINISHED\x1b\[K\n/);
  assert.ok(!second.includes('=> => #'));
  assert.ok(second.includes('\x1b[J'));
  assert.ok(second.endsWith('Successfully built 3123456789ab\nSuccessfully tagged app:latest\n'));
});

test('BuildView: a failure marks the step ERROR and shows its whole output between rulers', () => {
  const f = fakeTerminal(50);
  const v = new BuildView(f.term, { now: f.now, intervalMs: 0, tailLines: 1 });
  v.write('Step 1/2 : FROM busybox\n ---> 0123456789ab\nStep 2/2 : RUN false\n ---> Running in 2123456789ab\nout 1\nout 2\n');
  v.fail("The command '/bin/sh -c false' returned a non-zero code: 1");
  const out = f.text();
  assert.match(out, / => ERROR \[2\/2\] RUN false +0\.0s\x1b\[K\n/);
  assert.ok(out.endsWith('------\n > [2/2] RUN false:\nout 1\nout 2\n------\n'));
});

test('BuildView: redraws on its own at most every interval, and stops', async () => {
  const f = fakeTerminal();
  const v = new BuildView(f.term, { intervalMs: 20 });
  v.write('Step 1/1 : FROM busybox\n');
  await new Promise((r) => setTimeout(r, 70));
  v.stop();
  const frames = f.text().split('[+] Building').length - 1;
  assert.ok(frames >= 1 && frames <= 4, `frames: ${frames}`);
  const after = f.text();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(f.text(), after);
});
