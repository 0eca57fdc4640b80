// Reading a subscription with selectors the application compiled itself (`SubscribeOptions.compiled`), as
// the Mercure hub does: each of its matchers has its own syntax, which one `syntax` per request cannot say.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { compileSelector } from '../topics/index.js';
import { connectSse } from './client.test-helpers.js';
import { Hub } from './hub.js';

describe('SubscribeOptions.compiled', () => {
  test('the given selectors are used as they are: topic, syntax and privateTopics are not read, the pool is not used', async () => {
    const hub = new Hub({ logger: null });
    const selectors = [compileSelector('/books/{id}', 'template'), compileSelector('/a', 'exact')];
    const privateSelectors = [compileSelector('/secret', 'exact')];
    const subscription = hub.readSubscription('/events?topic=ignored&syntax=bogus&lastEventID=7', undefined, {
      compiled: { selectors, privateSelectors },
      topics: ['also-ignored'],
      privateTopics: ['ignored-too'],
      resumeHeader: 'last-event-id',
    });
    assert.deepEqual(subscription.selectors, selectors);
    assert.deepEqual(subscription.privateSelectors, privateSelectors);
    assert.equal(subscription.lastEventId, '7');
    assert.equal(subscription.resumeHeader, 'last-event-id');
    assert.equal(subscription.release, undefined);
    assert.equal(hub.selectorPool.size, 0);
    await hub.close();
  });

  test("lastEventId '' and maxRate 0 say none: the Last-Event-ID header and the query's lastEventID and maxRate are not read", async () => {
    const hub = new Hub({ logger: null });
    const selectors = [compileSelector('/a', 'exact')];
    const subscription = hub.readSubscription('/events?lastEventID=7&maxRate=bogus', '9', {
      compiled: { selectors, privateSelectors: null },
      lastEventId: '',
      maxRate: 0,
    });
    assert.equal(subscription.lastEventId, undefined);
    assert.equal(subscription.maxRate, 0);
    await hub.close();
  });

  test('they count towards maxSelectors, and none at all is refused', async () => {
    const hub = new Hub({ logger: null, maxSelectors: 2 });
    const one = compileSelector('/a', 'exact');
    assert.throws(
      () =>
        hub.readSubscription('/?', undefined, {
          compiled: { selectors: [one, one], privateSelectors: [one] },
        }),
      { code: 'TOO_MANY_SELECTORS' },
    );
    assert.throws(
      () => hub.readSubscription('/?', undefined, { compiled: { selectors: [], privateSelectors: null } }),
      {
        code: 'NO_SELECTOR',
      },
    );
    await hub.close();
  });

  test('a subscriber with compiled selectors receives what they match, private updates by its private selectors', async (t) => {
    const hub = new Hub({ logger: null });
    const server = http.createServer((req, res) => {
      void hub.handle(req, res, {
        compiled: {
          selectors: [compileSelector('/books/{id}', 'template')],
          privateSelectors: [compileSelector('/books/2', 'exact')],
        },
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(async () => {
      await hub.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const client = await connectSse(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/?topic=/other`,
    );
    assert.equal(client.status, 200);
    await hub.publish(['/other'], 'not matched');
    await hub.publish(['/books/1'], 'private, not granted', { private: true });
    await hub.publish(['/books/2'], 'private, granted', { private: true });
    await hub.publish(['/books/3'], 'public');
    await client.until((c) => c.events.length >= 2);
    assert.deepEqual(
      client.events.map((e) => e.data),
      ['private, granted', 'public'],
    );
    client.close();
  });
});
