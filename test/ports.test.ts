// Published ports and network options as clients send them: each -p form gives the same
// PortBindings through both CLIs, bad specs fail in both with docker's text before anything is
// sent, the daemon refuses what an SDK sends without a CLI in front, and port, ps and network
// ls/inspect print the same through both CLIs. No container is started: nothing touches the host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type RunResult, type TestDaemon } from './harness.js';

let d: TestDaemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d?.stop();
});

const CLIS = ['docker', 'wharf'] as const;
const cli = (which: (typeof CLIS)[number], args: string[]): Promise<RunResult> => (which === 'docker' ? d.docker(args) : d.wharf(args));

const FORMS: [string[], string][] = [
  [['-p', '8080:80'], '{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}'],
  [['-p', '127.0.0.1:8080:80'], '{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}'],
  [['-p', '127.0.0.1::80'], '{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}'],
  [['-p', '80'], '{"80/tcp":[{"HostIp":"","HostPort":""}]}'],
  [['-p', '8125:8125/udp'], '{"8125/udp":[{"HostIp":"","HostPort":"8125"}]}'],
  [['-p', '8000-8002:9000-9002'], '{"9000/tcp":[{"HostIp":"","HostPort":"8000"}],"9001/tcp":[{"HostIp":"","HostPort":"8001"}],"9002/tcp":[{"HostIp":"","HostPort":"8002"}]}'],
  [['-p', '[::1]:8080:80'], '{"80/tcp":[{"HostIp":"::1","HostPort":"8080"}]}'],
  [['-p', '8000-8010:80'], '{"80/tcp":[{"HostIp":"","HostPort":"8000-8010"}]}'],
  [['-p', '122:22', '-p', '180:80', '-p', '1443:443'], '{"22/tcp":[{"HostIp":"","HostPort":"122"}],"443/tcp":[{"HostIp":"","HostPort":"1443"}],"80/tcp":[{"HostIp":"","HostPort":"180"}]}'],
  [['-p', 'published=8081,target=81,protocol=udp'], '{"81/udp":[{"HostIp":"","HostPort":"8081"}]}'],
];

test('create with each -p form: the same PortBindings through both CLIs', async () => {
  let i = 0;
  for (const [flags, want] of FORMS) {
    i++;
    const got: string[] = [];
    for (const which of CLIS) {
      const name = `wt-ports-${which}-${i}`;
      const c = await cli(which, ['create', '--name', name, ...flags, 'busybox', 'true']);
      assert.equal(c.code, 0, `${which} create ${flags.join(' ')}: ${c.stderr}`);
      const r = await cli(which, ['inspect', '-f', '{{json .HostConfig.PortBindings}}', name]);
      assert.equal(r.code, 0, r.stderr);
      got.push(r.stdout.trim());
      await cli(which, ['rm', name]);
    }
    assert.deepEqual(got, [want, want], flags.join(' '));
  }
});

test('-P and --expose: the same create and port output through both CLIs', async () => {
  const fmt = '{{json .Config.ExposedPorts}} {{.HostConfig.PublishAllPorts}} {{json .HostConfig.Links}}';
  const got: string[] = [];
  for (const which of CLIS) {
    const name = `wt-ports-all-${which}`;
    const c = await cli(which, ['create', '--name', name, '-P', '--expose', '7000-7001/udp', '-p', '80', 'busybox', 'true']);
    assert.equal(c.code, 0, c.stderr);
    got.push((await cli(which, ['inspect', '-f', fmt, name])).stdout);
    got.push((await cli(which, ['port', name])).stdout);
    await cli(which, ['rm', name]);
  }
  assert.equal(got[0], got[2]);
  assert.equal(got[1], got[3]);
  assert.match(got[0], /^\{"7000\/udp":\{\},"7001\/udp":\{\},"80\/tcp":\{\}\} true /);
});

const BAD: [string[], string][] = [
  [['-p', '99999'], 'docker: invalid containerPort: 99999'],
  [['-p', '99999:80'], 'docker: invalid hostPort: 99999'],
  [['-p', '80/foo'], 'docker: invalid proto: foo'],
  [['-p', '8000-8001:80-82'], 'docker: invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
  [['-p', '300.1.1.1:80:80'], 'docker: invalid IP address: 300.1.1.1'],
  [['-p', ''], 'docker: no port specified: <empty>'],
  [['--expose', '80:80'], 'docker: invalid port format for --expose: 80:80'],
  [['--expose', 'abc'], 'docker: invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax'],
  [['--network-alias', 'x'], 'docker: network-scoped aliases are only supported for user-defined networks'],
  [['--mac-address', 'zz'], 'docker: zz is not a valid mac address'],
  [['--link', 'a:b:c'], 'invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c'],
];

test('bad -p, --expose and network flags: exit 125 with docker\'s text, from both CLIs', async () => {
  for (const [flags, text] of BAD) {
    for (const which of CLIS) {
      const r = await cli(which, ['create', ...flags, 'busybox', 'true']);
      assert.equal(r.code, 125, `${which} ${flags.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n')[0], which === 'docker' ? text : text.replace(/^docker:/, 'wharf:'), `${which} ${flags.join(' ')}`);
    }
  }
});

test('the API refuses bad ports at create with moby\'s text (400), and creates nothing', async () => {
  const create = (body: object) => d.api('POST', '/containers/create?name=wt-ports-api', { Image: 'busybox', Cmd: ['true'], ...body });
  const cases: [object, string][] = [
    [{ HostConfig: { PortBindings: { '99999/tcp': [{ HostPort: '80' }] } } }, 'invalid port specification: "99999"'],
    [{ HostConfig: { PortBindings: { '0/tcp': [] } } }, 'invalid port specification: "0"'],
    [{ HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '70000' }] } } }, 'invalid port specification: "70000"'],
    [{ HostConfig: { PortBindings: { '80/quic': [{ HostPort: '80' }] } } }, 'invalid port specification: "80/quic"'],
    [{ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: 'nope', HostPort: '80' }] } } }, 'invalid IP address: nope'],
    [{ ExposedPorts: { '99999/tcp': {} } }, 'invalid port specification: "99999"'],
  ];
  for (const [body, message] of cases) {
    const r = await create(body);
    assert.equal(r.status, 400, r.body);
    assert.deepEqual(JSON.parse(r.body), { message });
  }
  assert.equal((await d.api('GET', '/containers/wt-ports-api/json')).status, 404);
  const ok = await create({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8000-8010' }] } } });
  assert.equal(ok.status, 201, ok.body);
  await d.api('DELETE', '/containers/wt-ports-api');
});

test('port, ps PORTS, network ls and network inspect: the same output through both CLIs', async () => {
  assert.equal((await d.wharf(['create', '--name', 'wt-ports-show', '-p', '127.0.0.1:8080:80', '-p', '53:53/udp', '--expose', '443', 'busybox', 'true'])).code, 0);
  const views = [
    ['port', 'wt-ports-show'],
    ['port', 'wt-ports-show', '80'],
    ['port', 'wt-ports-show', '443'],
    ['port', 'wt-ports-show', '99999'],
    ['ps', '-a', '--filter', 'name=wt-ports-show', '--format', '{{.Names}} {{.Ports}}'],
    ['network', 'ls'],
    ['network', 'ls', '-q', '--no-trunc'],
    ['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.IPv6}} {{.Internal}} {{.CreatedAt}}'],
    ['network', 'ls', '--format', 'json'],
    ['network', 'ls', '--filter', 'name=host'],
    ['network', 'inspect', 'host'],
    ['network', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'host', 'none'],
    ['network', 'inspect', 'wt-no-such-network'],
  ];
  try {
    for (const args of views) {
      const [dr, wr] = [await d.docker(args), await d.wharf(args)];
      assert.deepEqual([wr.code, wr.stdout, wr.stderr], [dr.code, dr.stdout, dr.stderr], args.join(' '));
    }
  } finally {
    await d.wharf(['rm', 'wt-ports-show']);
  }
});

test('network create, connect, disconnect, rm, prune: the same texts through both CLIs for the daemon\'s answers', async () => {
  const mask = (r: RunResult, name: string) => [r.code, r.stdout.replace(/\b[0-9a-f]{64}\b/g, 'ID').replaceAll(name, 'NAME'), r.stderr.replaceAll(name, 'NAME')];
  const both = async (args: (name: string) => string[]) => {
    const dr = await d.docker(args('wt-net-d'));
    const wr = await d.wharf(args('wt-net-w'));
    assert.deepEqual(mask(wr, 'wt-net-w'), mask(dr, 'wt-net-d'), args('NAME').join(' '));
  };
  try {
    // A subnet each: the second create of one subnet would overlap the first.
    const subnets: Record<string, string> = { 'wt-net-d': '10.249.10.0/24', 'wt-net-w': '10.249.11.0/24' };
    await both((n) => ['network', 'create', '--subnet', subnets[n] ?? '10.249.12.0/24', '--label', 'wt=1', n]);
    await both((n) => ['network', 'create', '--gateway', '10.231.0.1', n]);
    await both((n) => ['network', 'connect', '--alias', 'a', n, 'wt-no-such-container']);
    await both((n) => ['network', 'disconnect', n, 'wt-no-such-container']);
    await both((n) => ['network', 'rm', n]);
    await both((n) => ['network', 'rm', '-f', `${n}-never`]);
    await both(() => ['network', 'prune', '-f', '--filter', 'label=wt-never']);
  } finally {
    for (const n of ['wt-net-d', 'wt-net-w']) await d.docker(['network', 'rm', '-f', n]);
  }
});
