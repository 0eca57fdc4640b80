import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { connectSseHttp2 } from './client.test-helpers.js';
import { Hub } from './hub.js';

// A self-signed certificate for 127.0.0.1, valid until 2125, for the TLS test only.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXEzKiaeoSSbeoQ6i
HbhY/IBPB+Ztb69MMLa+4SfY24+hRANCAASORoXp5DqwVQ9GA6uM6xLzak3FDxo3
i6sJ0VYJiM7kMwHHfy3CbyeHwqXz8qfRep1GLslMgDNaPscB1DXvIOer
-----END PRIVATE KEY-----`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUWQFSczWO53BbJCkICxTEEQAk1QUwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMzE5NDgxMloYDzIxMjYxMDMw
MTk0ODEyWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASORoXp5DqwVQ9GA6uM6xLzak3FDxo3i6sJ0VYJiM7kMwHHfy3CbyeH
wqXz8qfRep1GLslMgDNaPscB1DXvIOero28wbTAdBgNVHQ4EFgQUf4F2B/CupC0K
cRynpvnCn30r5FUwHwYDVR0jBBgwFoAUf4F2B/CupC0KcRynpvnCn30r5FUwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIgI8qa4ON2n2Xm+przPNvX0rtvpd0p9Gcl6ixRvsuQBQsCIQCX
Z2NGf6U91mu69kdyMvfYD8IYTJ42uxNsfYkywpG89A==
-----END CERTIFICATE-----`;

describe('Hub over node:http2', () => {
  test('a replay longer than the write buffer goes out in slices over an HTTP/2 stream, then live updates', async () => {
    const hub = new Hub({ logger: null, maxBufferedBytes: 16 * 1024 });
    const server = http2.createServer();
    server.on('stream', (stream, headers) => void hub.handleStream(stream, headers));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const first = await hub.publish('t', 'first');
    const history = [];
    for (let i = 0; i < 300; i++) history.push(await hub.publish('t', `${i} ${'h'.repeat(1000)}`));
    const c = await connectSseHttp2(`${url}/?topic=t`, { 'last-event-id': first.id });
    const live = await hub.publish('t', 'live');
    await c.until((x) => x.events.length === 301);
    assert.deepEqual(
      c.events.map((e) => e.lastEventId),
      [...history, live].map((u) => u.id),
    );
    // The stream is live after the replay: a later update arrives alone, after it.
    const later = await hub.publish('t', 'later');
    await c.until((x) => x.events.length === 302);
    assert.equal(c.events[301]!.lastEventId, later.id);
    c.close();
    await hub.close({ timeoutMs: 100 });
    await new Promise((r) => server.close(r));
  });

  test('streams over cleartext HTTP/2 (raw stream API) with no Connection header, and replays', async () => {
    const hub = new Hub({ logger: null });
    const server = http2.createServer();
    server.on('stream', (stream, headers) => void hub.handleStream(stream, headers));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const first = await hub.publish('t', 'before');
    const c = await connectSseHttp2(`${url}/?topic=t`, { 'last-event-id': first.id });
    assert.equal(c.status, 200);
    assert.equal(c.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(c.headers['cache-control'], 'no-cache, no-transform');
    assert.equal(c.headers.connection, undefined);
    assert.equal(c.headers['crier-replay'], 'ok');
    await hub.publish('t', 'one');
    await hub.publish('t', 'two');
    await c.until((x) => x.events.length === 2);
    assert.deepEqual(
      c.events.map((e) => e.data),
      ['one', 'two'],
    );
    const bad = await connectSseHttp2(`${url}/?topic=a&syntax=nope`);
    assert.equal(bad.status, 400);
    await bad.ended;
    assert.match(bad.body, /Unknown selector syntax/);
    bad.close();
    c.close();
    await hub.close();
    await new Promise((r) => server.close(r));
  });

  test('streams over HTTP/2 with TLS through the compatibility API (req, res), and shuts down gracefully', async () => {
    const hub = new Hub({ logger: null });
    const server = http2.createSecureServer(
      { key: KEY, cert: CERT },
      (req, res) => void hub.handle(req, res),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = await connectSseHttp2(`${url}/?topic=t`, {}, { ca: CERT });
    assert.equal(c.status, 200);
    assert.equal(c.headers.connection, undefined);
    await c.until((x) => x.retries.length === 1);
    assert.equal(hub.subscribersOf('t'), 1);
    await hub.publish('t', 'secure');
    await c.until((x) => x.events.length === 1);
    assert.equal(c.events[0]!.data, 'secure');
    await hub.close();
    await c.ended;
    assert.equal(c.retries.length, 2);
    c.close();
    await new Promise((r) => server.close(r));
  });
});
