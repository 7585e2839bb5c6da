import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from './changes.js';

test('CMD and ENTRYPOINT: JSON form as is, shell form through /bin/sh -c', () => {
  assert.deepEqual(applyChanges({}, ['CMD ["echo","hi"]']).Cmd, ['echo', 'hi']);
  assert.deepEqual(applyChanges({}, ['CMD echo hi there']).Cmd, ['/bin/sh', '-c', 'echo hi there']);
  assert.deepEqual(applyChanges({}, ['cmd [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
  assert.deepEqual(applyChanges({}, ['ENTRYPOINT ["/bin/top", "-b"]']).Entrypoint, ['/bin/top', '-b']);
  assert.deepEqual(applyChanges({}, ['ENTRYPOINT top -b']).Entrypoint, ['/bin/sh', '-c', 'top -b']);
});

test('ENV and LABEL: key=value pairs with quotes, legacy form, replacing earlier values', () => {
  const c = applyChanges({ Env: ['PATH=/bin', 'A=old'] }, ['ENV A=1 B="x y" C=a\\ b', 'ENV LEGACY some value=here']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=1', 'B=x y', 'C=a b', 'LEGACY=some value=here']);
  const l = applyChanges({ Labels: { keep: '1' } }, ['LABEL a=b "c d"="e f"', "LABEL single='q v'"]);
  assert.deepEqual(l.Labels, { keep: '1', a: 'b', 'c d': 'e f', single: 'q v' });
  assert.throws(() => applyChanges({}, ['ENV =x']), /names can not be blank/);
  assert.throws(() => applyChanges({}, ['ENV A']), /ENV must have two arguments/);
});

test('EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ONBUILD', () => {
  const c = applyChanges({ WorkingDir: '/app' }, [
    'EXPOSE 80 53/udp 8000-8001',
    'VOLUME /data /logs',
    'VOLUME ["/json"]',
    'USER nobody:nogroup',
    'WORKDIR sub/',
    'STOPSIGNAL SIGINT',
    'ONBUILD RUN echo hi',
  ]);
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} });
  assert.deepEqual(c.Volumes, { '/data': {}, '/logs': {}, '/json': {} });
  assert.equal(c.User, 'nobody:nogroup');
  assert.equal(c.WorkingDir, '/app/sub');
  assert.equal(applyChanges({ WorkingDir: '/app' }, ['WORKDIR /x/../y/']).WorkingDir, '/y');
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.OnBuild, ['RUN echo hi']);
  assert.throws(() => applyChanges({}, ['ONBUILD ONBUILD RUN x']), /Chaining ONBUILD/);
  assert.throws(() => applyChanges({}, ['EXPOSE http']), /invalid containerPort: http/);
});

test('unsupported instructions, blank lines, multi-line changes and the input left alone', () => {
  assert.throws(() => applyChanges({}, ['RUN echo']), { message: 'run is not a valid change command' });
  assert.throws(() => applyChanges({}, ['FROM x']), /from is not a valid change command/);
  const base = { Env: ['A=1'] };
  const c = applyChanges(base, ['', '  ', 'ENV B=2\nUSER 1000', 'CMD echo \\\n  continued']);
  assert.deepEqual(c.Env, ['A=1', 'B=2']);
  assert.equal(c.User, '1000');
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo   continued']);
  assert.deepEqual(base, { Env: ['A=1'] });
});

test('HEALTHCHECK: shell and JSON forms, durations in nanoseconds, NONE, and Docker error texts', () => {
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK CMD curl -f http://localhost/ || exit 1']).Healthcheck, { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'] });
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK --interval=5s --timeout=1m30s --start-period=100ms --start-interval=2s --retries=3 CMD ["true"]']).Healthcheck, {
    Test: ['CMD', 'true'],
    Interval: 5e9,
    Timeout: 90e9,
    StartPeriod: 1e8,
    StartInterval: 2e9,
    Retries: 3,
  });
  assert.deepEqual(applyChanges({ Healthcheck: { Test: ['CMD', 'x'] } }, ['healthcheck none']).Healthcheck, { Test: ['NONE'] });
  assert.throws(() => applyChanges({}, ['HEALTHCHECK']), /^InvalidArgumentError: HEALTHCHECK requires at least one argument$/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK NONE x']), /HEALTHCHECK NONE takes no arguments/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK RUN x']), /Unknown type "RUN" in HEALTHCHECK \(try CMD\)/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK CMD']), /Missing command after HEALTHCHECK CMD/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --interval=1us CMD x']), /Interval "interval" cannot be less than 1ms/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --timeout=-1s CMD x']), /Interval "timeout" cannot be negative/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --interval=5 CMD x']), /time: missing unit in duration "5"/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --retries=-1 CMD x']), /--retries cannot be negative \(-1\)/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --toString=1 CMD x']), /Unknown flag: toString/);
});
