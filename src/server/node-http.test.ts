import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { connectSse, startHub } from './client.test-helpers.js';

// What is specific to the node:http adapter: the response head, refusals as HTTP statuses, dropping
// newcomers during shutdown, and a socket that stops draining. The hub's behaviour is in hub.test.ts.
describe('Hub over node:http', () => {
  test('answers with the SSE headers and a jittered retry: right after the handshake', async () => {
    const s = await startHub();
    const c = await connectSse(`${s.url}/events?topic=a`);
    assert.equal(c.status, 200);
    assert.equal(c.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(c.headers['cache-control'], 'no-cache, no-transform');
    assert.equal(c.headers['x-accel-buffering'], 'no');
    assert.equal(c.headers['transfer-encoding'], 'chunked');
    // The stream's socket is closed when it ends: keep-alive clients must not queue a request behind it.
    assert.equal(c.headers.connection, 'close');
    await c.until((x) => x.retries.length === 1);
    assert.ok(c.retries[0]! >= 3000 && c.retries[0]! <= 4500, `retry ${c.retries[0]}`);
    c.close();
    await s.stop();
  });

  test('refuses bad subscriptions with a 400 and a message that says what is wrong', async () => {
    const s = await startHub({ maxSelectors: 3, maxLastEventIdLength: 10, maxQueryLength: 200 });
    const cases: [string, Record<string, string>, RegExp][] = [
      ['/', {}, /at least one topic/],
      ['/?topic=a&syntax=regex', {}, /Unknown selector syntax "regex"/],
      ['/?topic=a&topic=b&topic=c&topic=d', {}, /4 topic selectors; the most accepted is 3/],
      ['/?topic=a', { 'last-event-id': 'x'.repeat(11) }, /Last-Event-ID is 11 characters/],
      ['/?topic=a&lastEventID=' + 'y'.repeat(11), {}, /Last-Event-ID is 11 characters/],
      ['/?topic=' + 'z'.repeat(300), {}, /query string is 306 characters long/],
      ['/?topic=a&maxRate=fast', {}, /maxRate must be a positive number/],
    ];
    for (const [path, headers, message] of cases) {
      const c = await connectSse(s.url + path, headers);
      await c.ended;
      assert.equal(c.status, 400, path);
      assert.match(c.body, message);
    }
    assert.equal(s.hub.connectionCount, 0);
    await s.stop();
  });

  test('closes a half-open connection whose buffer stops draining, before it reaches the byte bound', async () => {
    const s = await startHub({ heartbeatMs: 60, stallTimeoutMs: 300, maxBufferedBytes: 256 * 1024 * 1024 });
    const reasons: string[] = [];
    s.hub.on('disconnect', (_info, reason) => reasons.push(reason));
    const port = Number(new URL(s.url).port);
    const peer = net.connect(port, '127.0.0.1');
    peer.pause(); // like a peer that vanished: nothing is ever read (or acknowledged by the application)
    peer.write('GET /?topic=t HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((r) => s.hub.once('connect', () => r()));
    const megabyte = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 24; i++) await s.hub.publish('t', megabyte); // more than the kernel buffers hold
    await new Promise<void>((r) => s.hub.once('disconnect', () => r()));
    assert.deepEqual(reasons, ['stalled']);
    assert.equal(s.hub.stats.stalledDisconnects, 1);
    assert.equal(s.hub.stats.slowDisconnects, 0);
    peer.destroy();
    await s.stop();
  });

  test('graceful shutdown sends each client a jittered retry:, closes in waves, drops newcomers so they retry, resolves when drained', async () => {
    const s = await startHub();
    const clients = await Promise.all(Array.from({ length: 5 }, () => connectSse(`${s.url}/?topic=t`)));
    await Promise.all(clients.map((c) => c.until((x) => x.retries.length === 1)));
    const closing = s.hub.close({ waveSize: 2, waveIntervalMs: 20 });
    // A newcomer is dropped without an answer (a network error, which an EventSource retries), not a 503.
    await assert.rejects(connectSse(`${s.url}/?topic=t`), /socket hang up|ECONNRESET/);
    await closing;
    await Promise.all(clients.map((c) => c.ended));
    for (const c of clients) {
      assert.equal(c.retries.length, 2);
      assert.ok(c.retries[1]! >= 3000 && c.retries[1]! <= 4500);
    }
    assert.equal(s.hub.connectionCount, 0);
    await s.stop();
  });
});
