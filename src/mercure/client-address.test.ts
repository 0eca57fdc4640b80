import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClientAddress, parseProxyEntry } from './client-address.js';

describe('the client address behind reverse proxies', () => {
  test('without trusted proxies the peer address counts and X-Forwarded-For is ignored', () => {
    const a = new ClientAddress([]);
    assert.equal(a.of('10.1.1.1', '203.0.113.9'), '10.1.1.1');
    assert.equal(a.of('::ffff:10.1.1.1', undefined), '10.1.1.1');
  });

  test('from a trusted proxy, the rightmost address that is not a trusted proxy counts', () => {
    const a = new ClientAddress(['127.0.0.1', '10.0.0.0/8', '::1']);
    assert.equal(a.of('127.0.0.1', '203.0.113.9'), '203.0.113.9');
    // The client wrote the leftmost entry itself; the proxies appended the rest.
    assert.equal(a.of('127.0.0.1', '1.2.3.4, 203.0.113.9, 10.2.3.4'), '203.0.113.9');
    assert.equal(a.of('::1', '2001:db8::7'), '2001:db8::7');
    assert.equal(a.of('::ffff:127.0.0.1', '198.51.100.1'), '198.51.100.1');
    // Every hop is a proxy: the first one is the client.
    assert.equal(a.of('127.0.0.1', '10.9.9.9, 10.1.1.1'), '10.9.9.9');
  });

  test('X-Forwarded-For from an untrusted peer, a missing header or garbage in it changes nothing', () => {
    const a = new ClientAddress(['127.0.0.1']);
    assert.equal(a.of('192.0.2.5', '203.0.113.9'), '192.0.2.5');
    assert.equal(a.of('127.0.0.1', undefined), '127.0.0.1');
    assert.equal(a.of('127.0.0.1', '203.0.113.9, not-an-address'), '127.0.0.1');
  });

  test('entries are addresses or CIDR ranges with a valid prefix', () => {
    assert.deepEqual(parseProxyEntry('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseProxyEntry('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
    assert.match(parseProxyEntry('10.0.0.0/x') as string, /prefix length/);
    assert.match(parseProxyEntry('localhost') as string, /not an IP address/);
    assert.match(parseProxyEntry('1.2.3.4/8/8') as string, /not an IP address/);
  });
});
