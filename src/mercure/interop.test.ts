/**
 * Interop with a third-party client: npm has no maintained Mercure client library, so this is the
 * `eventsource` package (the WHATWG EventSource for Node that Mercure's documentation points Node users
 * to), with the Bearer token added through its `fetch` option, the way Mercure users send headers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import { until } from '../testing/wait.test-helpers.js';
import { accessToken, legacyToken, publish, startHub } from './hub.test-helpers.js';

/**
 * An EventSource that sends `Authorization: Bearer` on every connect and records each request's headers.
 * eventsource 4 (the last major for Node 20) puts the last event ID into `Last-Event-ID` as it is, and
 * fetch refuses a header value beyond Latin-1; like a browser, the wrapper sends the ID's UTF-8 bytes.
 */
function open(url: string, token: string) {
  const requests: Record<string, string>[] = [];
  const source = new EventSource(url, {
    fetch: (input, init) => {
      const headers: Record<string, string> = {
        ...((init.headers ?? {}) as Record<string, string>),
        Authorization: `Bearer ${token}`,
      };
      const id = headers['Last-Event-ID'];
      if (id !== undefined) headers['Last-Event-ID'] = Buffer.from(id, 'utf8').toString('latin1');
      requests.push(headers);
      return fetch(input, { ...init, headers });
    },
  });
  const messages: MessageEvent[] = [];
  source.addEventListener('message', (e) => messages.push(e));
  let errors = 0;
  source.addEventListener('error', () => errors++);
  return {
    source,
    requests,
    messages,
    get errors() {
      return errors;
    },
  };
}

describe('interop with the eventsource package', () => {
  for (const protocol of ['0.x', '1.0'] as const) {
    test(`${protocol}: a private update reaches it through the Bearer header, and after the hub ends the stream it resumes with Last-Event-ID (a non-ASCII one) and misses nothing`, async (t) => {
      // Lifetimes are checked on the heartbeat's tick (a third of it): 1 s heartbeats end the stream soon after 1 s.
      const hub = await startHub(t, ['--retry', '200ms', '--max-lifetime', '1s', '--heartbeat', '1s']);
      const topic = 'https://example.com/users/1/inbox';
      const subscriber =
        protocol === '0.x'
          ? await legacyToken({ subscribe: [topic] })
          : await accessToken(hub, { subscribe: [{ match: topic }] });
      const publisher = await legacyToken({ publish: ['*'] });
      const query =
        protocol === '0.x' ? `topic=${encodeURIComponent(topic)}` : `match=${encodeURIComponent(topic)}`;
      const client = open(`${hub.url}?${query}`, subscriber);
      t.after(() => client.source.close());
      await until('the stream to open', () => client.source.readyState === EventSource.OPEN);
      const send = async (data: string, id: string) => {
        const res = await publish(
          hub,
          [
            ['topic', topic],
            ['data', data],
            ['id', id],
            ['private', 'on'],
          ],
          publisher,
        );
        assert.equal(res.status, 200, res.body);
      };
      await send('a', `a-€-${protocol}`);
      await until('the first update', () => client.messages.length === 1);
      assert.equal(client.messages[0]!.lastEventId, `a-€-${protocol}`);
      // The hub ends the stream at its lifetime; publish while the client waits to reconnect.
      await until('the stream to end', () => client.errors > 0, 5_000);
      await send('b', `b-${protocol}`);
      await send('c', `c-${protocol}`);
      await until('the missed updates', () => client.messages.length >= 3);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        client.messages.map((m) => m.data),
        ['a', 'b', 'c'],
      );
      const resumed = client.requests[1]!;
      assert.equal(
        Buffer.from(resumed['Last-Event-ID'] ?? resumed['last-event-id'] ?? '', 'latin1').toString('utf8'),
        `a-€-${protocol}`,
      );
    });
  }
});
