/**
 * Private updates reach only subscribers whose token grants one of their topics: never an anonymous
 * subscriber, another user, or a token whose selectors do not match — live or replayed, 0.x or 1.0.
 * Each subscriber then receives a public marker, so "nothing arrived" is proven by what did arrive after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { mintAccessToken } from '../../src/mercure/publisher.js';
import {
  type HubProcess,
  publishForm,
  SECRET,
  type Stream,
  startHub,
  subscribe,
  token,
  topicUrl,
} from '../support/hub-process.js';

const USER1 = 'https://example.com/users/1/notifications';
const USER2 = 'https://example.com/users/2/notifications';
const PUBLIC = 'https://example.com/public';
const MARKER = 'https://example.com/marker';

describe('private updates', () => {
  let hub: HubProcess;
  let publisher: string;
  before(async () => {
    hub = await startHub(undefined, { args: ['--anonymous', '--subscriptions'] });
    publisher = await token({ publish: ['*'] });
  });
  after(() => hub.stop('SIGKILL'));

  /** Opens every subscriber, publishes, then the marker; returns the events each one received. */
  async function run(
    t: TestContext,
    subscribers: Record<string, { url: string; headers?: Record<string, string> }>,
    updates: Array<Array<[string, string]>>,
  ): Promise<Record<string, string[]>> {
    const streams: Record<string, Stream> = {};
    for (const [name, s] of Object.entries(subscribers)) {
      streams[name] = await subscribe(t, s.url, s.headers ?? {});
      assert.equal(streams[name]!.status, 200, `${name}: ${streams[name]!.raw}`);
    }
    for (const fields of updates) assert.equal((await publishForm(hub.url, fields, publisher)).status, 200);
    const marker = await publishForm(
      hub.url,
      [
        ['topic', MARKER],
        ['data', 'marker'],
      ],
      publisher,
    );
    assert.equal(marker.status, 200);
    const out: Record<string, string[]> = {};
    for (const [name, stream] of Object.entries(streams)) {
      const seen = await waitForData(stream, 'marker');
      out[name] = seen;
      stream.close();
    }
    return out;
  }

  test('anonymous, another user and a non-matching token never receive a private update; its owner does', async (t) => {
    const bearer = (v: string) => ({ authorization: `Bearer ${v}` });
    const topics = [USER1, MARKER];
    const received = await run(
      t,
      {
        anonymous: { url: topicUrl(hub.url, topics) },
        anonymousStar: { url: topicUrl(hub.url, ['*']) },
        otherUser: {
          url: topicUrl(hub.url, topics),
          headers: bearer(await token({ subscribe: ['https://example.com/users/2/{+rest}'] })),
        },
        nonMatching: {
          url: topicUrl(hub.url, ['*']),
          headers: bearer(await token({ subscribe: ['https://example.com/users/1/other'] })),
        },
        emptyClaim: { url: topicUrl(hub.url, ['*']), headers: bearer(await token({ subscribe: [] })) },
        publisherOnly: { url: topicUrl(hub.url, ['*']), headers: bearer(publisher) },
        otherUser10: {
          url: `${hub.url}?match=${encodeURIComponent(USER1)}&match=${encodeURIComponent(MARKER)}`,
          headers: bearer(
            await mintAccessToken(SECRET, { audience: hub.url, subscribe: [{ match: USER2 }] }),
          ),
        },
        owner: {
          url: topicUrl(hub.url, topics),
          headers: bearer(await token({ subscribe: ['https://example.com/users/1/{+rest}'] })),
        },
        owner10: {
          url: `${hub.url}?match=${encodeURIComponent(USER1)}&match=${encodeURIComponent(MARKER)}`,
          headers: bearer(
            await mintAccessToken(SECRET, { audience: hub.url, subscribe: [{ match: USER1 }] }),
          ),
        },
      },
      [
        [
          ['topic', USER1],
          ['data', 'secret-1'],
          ['private', 'on'],
        ],
        // Alternate topics: a public alternate does not make the update public.
        [
          ['topic', USER1],
          ['topic', PUBLIC],
          ['data', 'secret-2'],
          ['private', 'on'],
        ],
      ],
    );
    for (const name of [
      'anonymous',
      'anonymousStar',
      'otherUser',
      'nonMatching',
      'emptyClaim',
      'publisherOnly',
    ]) {
      assert.deepEqual(received[name], ['marker'], name);
    }
    assert.deepEqual(received.otherUser10, ['marker']);
    assert.deepEqual(received.owner, ['secret-1', 'secret-2', 'marker']);
    // 1.0 allows one topic per update; the owner's 1.0 stream gets the single-topic one.
    assert.ok(received.owner10!.includes('secret-1'));
    assert.equal(received.owner10!.at(-1), 'marker');
  });

  test('replay with Last-Event-ID earliest skips the private updates a subscriber may not see', async (t) => {
    const secret = await publishForm(
      hub.url,
      [
        ['topic', USER1],
        ['data', 'replayed-secret'],
        ['private', 'on'],
      ],
      publisher,
    );
    assert.equal(secret.status, 200);
    const publicOne = await publishForm(
      hub.url,
      [
        ['topic', USER1],
        ['data', 'replayed-public'],
      ],
      publisher,
    );
    assert.equal(publicOne.status, 200);
    const anonymous = await subscribe(t, topicUrl(hub.url, [USER1], { lastEventID: 'earliest' }));
    const other = await subscribe(t, topicUrl(hub.url, ['*'], { lastEventID: 'earliest' }), {
      authorization: `Bearer ${await token({ subscribe: ['https://example.com/users/2/{+rest}'] })}`,
    });
    const owner = await subscribe(t, topicUrl(hub.url, [USER1], { lastEventID: 'earliest' }), {
      authorization: `Bearer ${await token({ subscribe: [USER1] })}`,
    });
    for (const s of [anonymous, other, owner]) await waitForData(s, 'replayed-public');
    const data = (s: Stream) => s.events.map((e) => e.data);
    assert.ok(!data(anonymous).some((d) => d.includes('secret')), data(anonymous).join());
    assert.ok(!data(other).some((d) => d.includes('secret')), data(other).join());
    assert.ok(data(owner).includes('replayed-secret'));
  });

  test('subscription events (private, on the hub reserved topics) do not reach an anonymous * subscriber', async (t) => {
    const spy = await subscribe(t, topicUrl(hub.url, ['*']));
    const watcher = await subscribe(t, topicUrl(hub.url, ['*']), {
      authorization: `Bearer ${await token({ subscribe: ['*'] })}`,
    });
    const someone = await subscribe(t, topicUrl(hub.url, [USER1]), {
      authorization: `Bearer ${await token({ subscribe: [USER1] }, { payload: { user: 'secret-payload' } })}`,
    });
    assert.equal(someone.status, 200);
    assert.equal(
      (
        await publishForm(
          hub.url,
          [
            ['topic', MARKER],
            ['data', 'marker'],
          ],
          publisher,
        )
      ).status,
      200,
    );
    await waitForData(spy, 'marker');
    await waitForData(watcher, 'marker');
    assert.ok(
      watcher.events.some((e) => e.data.includes('"Subscription"')),
      'the control: a subscriber granted * sees subscription events',
    );
    assert.ok(watcher.raw.includes('secret-payload'), 'the control: with the subscriber payload');
    assert.ok(!spy.raw.includes('Subscription'), 'an anonymous subscriber sees no subscription event');
    assert.ok(!spy.raw.includes('secret-payload'));
  });

  test('the subscriptions API refuses anonymous and insufficiently scoped readers', async () => {
    const anonymous = await fetch(`${hub.url}/subscriptions`);
    assert.equal(anonymous.status, 401);
    const narrow = await fetch(`${hub.url}/subscriptions`, {
      headers: { authorization: `Bearer ${await token({ subscribe: [USER1] })}` },
    });
    assert.equal(narrow.status, 403);
    const wide = await fetch(`${hub.url}/subscriptions`, {
      headers: { authorization: `Bearer ${await token({ subscribe: ['*'] })}` },
    });
    assert.equal(wide.status, 200);
  });
});

/** Resolves with the data of every event once one with this data arrived (the stream stays open). */
async function waitForData(stream: Stream, data: string): Promise<string[]> {
  for (let n = 1; ; n++) {
    const events = await stream.waitFor(n);
    if (events[n - 1]!.data === data) return events.map((e) => e.data);
  }
}
