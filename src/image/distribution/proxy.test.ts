import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyConfig } from './proxy.js';

const u = (s: string) => new URL(s);

test('HTTPS_PROXY for https, HTTP_PROXY for http, upper case first, scheme-less means http', () => {
  const p = new ProxyConfig({ HTTPS_PROXY: 'proxy:3128', http_proxy: 'http://p2:8080', HTTP_PROXY: 'http://p1:8080' });
  assert.equal(p.proxyFor(u('https://reg.example/v2/')), 'http://proxy:3128');
  assert.equal(p.proxyFor(u('http://reg.example/v2/')), 'http://p1:8080');
  assert.equal(new ProxyConfig({ https_proxy: 'http://low:1' }).proxyFor(u('https://x/')), 'http://low:1');
  assert.equal(new ProxyConfig({}).proxyFor(u('https://x/')), undefined);
  assert.equal(new ProxyConfig({ ALL_PROXY: 'socks5://s:1080' }).proxyFor(u('https://x/')), 'socks5://s:1080');
  assert.equal(new ProxyConfig({ ALL_PROXY: 'socks5://s:1080', HTTPS_PROXY: 'http://h:1' }).proxyFor(u('https://x/')), 'http://h:1');
});

test('loopback and localhost are never proxied', () => {
  const p = new ProxyConfig({ HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128' });
  for (const s of ['http://127.0.0.1:5000/', 'https://127.8.9.1/', 'http://localhost:5000/', 'http://[::1]:5000/']) assert.equal(p.proxyFor(u(s)), undefined, s);
  assert.equal(p.proxyFor(u('http://registry.test:5000/')), 'http://proxy:3128');
});

test('NO_PROXY: host and subdomains, .domain, *.domain, host:port, IP, CIDR, *', () => {
  const p = new ProxyConfig({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'example.com, .corp, *.lan,reg.io:5000,10.1.2.3,192.168.0.0/16, [fd00::1]:443' });
  const direct = ['https://example.com/', 'https://a.example.com/', 'https://x.corp/', 'https://x.lan/', 'https://reg.io:5000/', 'https://10.1.2.3/', 'https://192.168.7.7/', 'https://[fd00::1]/'];
  const proxied = ['https://notexample.com/', 'https://corp/', 'https://lan/', 'https://reg.io/', 'https://10.1.2.4/', 'https://192.169.0.1/', 'https://[fd00::2]/'];
  for (const s of direct) assert.equal(p.proxyFor(u(s)), undefined, s);
  for (const s of proxied) assert.equal(p.proxyFor(u(s)), 'http://proxy:3128', s);
  assert.equal(new ProxyConfig({ HTTPS_PROXY: 'http://p:1', no_proxy: '*' }).proxyFor(u('https://any/')), undefined);
  assert.equal(new ProxyConfig({ HTTPS_PROXY: 'http://p:1', NO_PROXY: 'EXAMPLE.com' }).proxyFor(u('https://Example.COM/')), undefined);
});
