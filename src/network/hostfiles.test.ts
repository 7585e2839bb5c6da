import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostsContent, resolvConfContent } from './hostfiles.js';

const DEFAULTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

test('hosts: the defaults, --add-host entries, then the container\'s addresses with its names', () => {
  assert.equal(hostsContent({ hostname: 'h', hostNetwork: false, hostHosts: 'ignored' }), DEFAULTS);
  assert.equal(
    hostsContent({ hostname: 'h', domainname: 'ex.com', hostNetwork: false, hostHosts: '', addresses: ['10.0.0.2'], extraHosts: ['foo:1.2.3.4', 'bar:::1', 'a b c:5.6.7.8'] }),
    `${DEFAULTS}1.2.3.4\tfoo\n::1\tbar\n5.6.7.8\ta b c\n10.0.0.2\th.ex.com h\n`,
  );
  assert.equal(hostsContent({ hostname: 'web.lan', hostNetwork: false, hostHosts: '', addresses: ['10.0.0.2'] }), `${DEFAULTS}10.0.0.2\tweb.lan web\n`);
  assert.equal(hostsContent({ hostname: 'h', hostNetwork: false, hostHosts: '', addresses: ['10.0.0.2'] }), `${DEFAULTS}10.0.0.2\th\n`);
});

test('hosts: the host network shows the host\'s own file, or with --add-host the defaults and the entries (moby#48823)', () => {
  assert.equal(hostsContent({ hostname: 'h', hostNetwork: true, hostHosts: '127.0.0.1 localhost\n' }), '127.0.0.1 localhost\n');
  assert.equal(hostsContent({ hostname: 'h', hostNetwork: true, hostHosts: '127.0.0.1 localhost\n', extraHosts: ['foo:1.2.3.4'] }), `${DEFAULTS}1.2.3.4\tfoo\n`);
});

test('hosts: an entry without a separator is dropped', () => {
  assert.equal(hostsContent({ hostname: 'h', hostNetwork: true, hostHosts: '', extraHosts: ['nosep', ':1.2.3.4'] }), '');
});

const HOST = '# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch lan corp\noptions edns0 trust-ad\n';

test('resolv.conf: the host\'s, less the loopback resolvers a new namespace cannot reach', () => {
  assert.equal(resolvConfContent({ hostNetwork: false, hostResolvConf: HOST }), 'nameserver 10.1.1.1\nsearch lan corp\noptions edns0 trust-ad\n');
  assert.equal(resolvConfContent({ hostNetwork: true, hostResolvConf: HOST }), 'nameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch lan corp\noptions edns0 trust-ad\n');
});

test('resolv.conf: Google\'s resolvers when none of the host\'s is reachable', () => {
  assert.equal(resolvConfContent({ hostNetwork: false, hostResolvConf: 'nameserver 127.0.0.1\nnameserver ::1\n' }), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConfContent({ hostNetwork: false, hostResolvConf: '' }), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConfContent({ hostNetwork: true, hostResolvConf: '' }), '');
});

test('resolv.conf: --dns, --dns-search and --dns-option each replace the host\'s; search "." means none', () => {
  assert.equal(
    resolvConfContent({ hostNetwork: false, hostResolvConf: HOST, dns: ['9.9.9.9'], dnsSearch: ['ex.com'], dnsOptions: ['ndots:2'] }),
    'nameserver 9.9.9.9\nsearch ex.com\noptions ndots:2\n',
  );
  assert.equal(resolvConfContent({ hostNetwork: false, hostResolvConf: HOST, dnsSearch: ['.'] }), 'nameserver 10.1.1.1\noptions edns0 trust-ad\n');
  assert.equal(resolvConfContent({ hostNetwork: false, hostResolvConf: HOST, dns: [], dnsSearch: [], dnsOptions: [] }), 'nameserver 10.1.1.1\nsearch lan corp\noptions edns0 trust-ad\n');
});
