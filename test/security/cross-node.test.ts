/**
 * Attacks across the nodes of a cluster: what node A stores goes through Redis to every node, so every
 * node must apply its own subscriber's rights to it, live and replayed. Two `crier serve` nodes (A and B)
 * share a key and sit behind a real nginx (deploy/nginx/crier.conf through LocalCluster); a third node (C)
 * shares their Redis log but verifies tokens with another key. All over the real Redis at 127.0.0.1:6379,
 * under a key prefix no other run uses.
 *
 * "Nothing arrived" is shown by what arrived after it: each subscriber receives a public marker published
 * after the private updates, and the private updates must not be before it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { ClusterNode, freePort, LocalCluster, nginxInstalled } from '../../src/cli/cluster.js';
import { redisAnswers } from '../../src/engines/redis/redis-server.test-helpers.js';
import { mintToken } from '../../src/mercure/publisher.js';
import { requireService } from '../../src/testing/services.test-helpers.js';
import { type Answer, publishForm, type Stream, subscribe, topicUrl } from '../support/hub-process.js';

const REDIS = 'redis://127.0.0.1:6379';
const KEY = 'cross-node-shared-key-0123456789abcdefghij';
const OTHER_KEY = 'cross-node-other-key-9876543210zyxwvutsrq';

const ALICE = 'https://example.com/users/alice/inbox';
const BOB = 'https://example.com/users/bob/inbox';
const PUBLIC = 'https://example.com/public';
const MARKER = 'https://example.com/marker';

const redisUp = await redisAnswers(6379);

/** Deletes every key under the prefix. */
async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS);
  try {
    const keys = await redis.keys(`${prefix.replace(/[[\]*?\\]/g, '\\$&')}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const hubOf = (base: string) => `${base}/.well-known/mercure`;
const dataOf = (s: Stream) => s.events.map((e) => e.data);

/** Resolves once an event with this data arrived; fails after `ms` with what did arrive. */
async function waitForData(stream: Stream, data: string, ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  while (!stream.events.some((e) => e.data === data)) {
    if (Date.now() > deadline)
      assert.fail(`"${data}" never arrived; got ${JSON.stringify(dataOf(stream).slice(-10))}`);
    await sleep(20);
  }
  return dataOf(stream);
}

/**
 * Proves a subscription on one node is registered by publishing pings on `topic` through another node
 * until one arrives (a subscriber's registration may trail its response head). Pings carry `ping:`.
 */
async function awaitLive(publishUrl: string, stream: Stream, topic: string, publisher: string) {
  for (let i = 0; i < 100; i++) {
    const answer = await publishForm(
      publishUrl,
      [
        ['topic', topic],
        ['data', `ping:${i}`],
      ],
      publisher,
    );
    assert.equal(answer.status, 200, answer.body);
    const deadline = Date.now() + 200;
    while (Date.now() < deadline) {
      if (stream.events.some((e) => e.data.startsWith('ping:'))) return;
      await sleep(10);
    }
  }
  assert.fail('the subscription never received a ping from the other node');
}

function publish(
  hubUrl: string,
  topics: string[],
  data: string,
  publisher: string,
  options: { private?: boolean } = {},
): Promise<Answer> {
  const fields: Array<[string, string]> = topics.map((t) => ['topic', t]);
  fields.push(['data', data]);
  if (options.private) fields.push(['private', 'on']);
  return publishForm(hubUrl, fields, publisher);
}

async function published(answer: Promise<Answer>): Promise<string> {
  const a = await answer;
  assert.equal(a.status, 200, a.body);
  return a.body;
}

describe('attacks across cluster nodes (Redis, nginx)', { timeout: 110_000 }, () => {
  let prefix = '';
  let cluster: LocalCluster | undefined;
  let other: ClusterNode | undefined;
  /** Node A, node B (same key), nginx in front of both, node C (other key), as Mercure hub URLs. */
  let A = '';
  let B = '';
  let NGINX = '';
  let C = '';
  let publisher = '';
  let ready = false;

  before(async () => {
    if (!redisUp || !nginxInstalled()) return;
    prefix = `{crier-xnode-${randomUUID()}}:`;
    const common = [
      '--store',
      REDIS,
      '--redis-prefix',
      prefix,
      '--anonymous',
      '--subscriptions',
      '--log-level',
      'warn',
    ];
    cluster = await LocalCluster.start({ nodes: 2, store: REDIS, nodeArgs: [...common, '--jwt-key', KEY] });
    other = new ClusterNode(await freePort(), [
      ...common,
      '--max-connections-per-ip',
      '50000',
      '--jwt-key',
      OTHER_KEY,
    ]);
    await other.start();
    A = hubOf(cluster.nodes[0]!.url);
    B = hubOf(cluster.nodes[1]!.url);
    NGINX = hubOf(cluster.url);
    C = hubOf(other.url);
    publisher = await mintToken(KEY, { publish: ['*'] });
    ready = true;
  });

  after(async () => {
    await other?.stop('SIGKILL');
    await cluster?.stop(2000);
    if (prefix !== '') await deleteKeys(prefix);
  });

  /** Skips (or fails in CI) without Redis on 6379 or nginx. */
  function present(t: TestContext): boolean {
    if (!requireService(t, 'Redis', redisUp, 'start redis-server on 127.0.0.1:6379')) return false;
    if (!requireService(t, 'nginx', nginxInstalled(), 'apt-get install nginx (/usr/sbin/nginx)'))
      return false;
    assert.ok(ready, 'the cluster started');
    return true;
  }

  test('a private update published on node A reaches a subscriber on node B (or through nginx) only when its mercure.subscribe claim matches', async (t) => {
    if (!present(t)) return;
    const topics = [ALICE, MARKER];
    const alice = await mintToken(KEY, { subscribe: ['https://example.com/users/alice/{+rest}'] });
    const streams: Record<string, Stream> = {
      anonymous: await subscribe(t, topicUrl(B, topics)),
      anonymousStar: await subscribe(t, topicUrl(B, ['*'])),
      bob: await subscribe(t, topicUrl(B, topics), bearer(await mintToken(KEY, { subscribe: [BOB] }))),
      bobStar: await subscribe(t, topicUrl(B, ['*']), bearer(await mintToken(KEY, { subscribe: [BOB] }))),
      emptyClaim: await subscribe(t, topicUrl(B, ['*']), bearer(await mintToken(KEY, { subscribe: [] }))),
      publisherToken: await subscribe(t, topicUrl(B, ['*']), bearer(publisher)),
      // Same claim, signed with node C's key: node B does not accept it at all.
      aliceForeignKey: await subscribe(
        t,
        topicUrl(B, topics),
        bearer(await mintToken(OTHER_KEY, { subscribe: ['*'] })),
      ),
      anonymousViaNginx: await subscribe(t, topicUrl(NGINX, ['*'])),
      alice: await subscribe(t, topicUrl(B, topics), bearer(alice)),
      aliceViaNginx: await subscribe(t, topicUrl(NGINX, topics), bearer(alice)),
    };
    assert.equal(streams.aliceForeignKey!.status, 401, 'a token signed with another key is refused');
    delete streams.aliceForeignKey;
    for (const [name, s] of Object.entries(streams)) {
      assert.equal(s.status, 200, `${name}: ${s.raw}`);
      await awaitLive(A, s, MARKER, publisher);
    }

    await published(publish(A, [ALICE], 'secret-alice-1', publisher, { private: true }));
    // A public alternate topic does not make a private update public.
    await published(publish(A, [ALICE, PUBLIC], 'secret-alice-2', publisher, { private: true }));
    await published(publish(A, [MARKER], 'marker', publisher));

    const received: Record<string, string[]> = {};
    for (const [name, s] of Object.entries(streams)) {
      received[name] = (await waitForData(s, 'marker')).filter((d) => !d.startsWith('ping:'));
      s.close();
    }
    for (const name of [
      'anonymous',
      'anonymousStar',
      'bob',
      'bobStar',
      'emptyClaim',
      'publisherToken',
      'anonymousViaNginx',
    ]) {
      assert.deepEqual(received[name], ['marker'], `${name} received no private update`);
      assert.ok(!streams[name]!.raw.includes('secret'), `${name}: no private data on the wire`);
    }
    for (const name of ['alice', 'aliceViaNginx'])
      assert.deepEqual(received[name], ['secret-alice-1', 'secret-alice-2', 'marker'], name);
  });

  test('a token signed with node A’s key is refused by node C, which has another key, and accepted by node B, which shares it', async (t) => {
    if (!present(t)) return;
    const subscriberA = await mintToken(KEY, { subscribe: [ALICE] });
    const subscriberC = await mintToken(OTHER_KEY, { subscribe: [ALICE] });
    const publisherC = await mintToken(OTHER_KEY, { publish: ['*'] });

    // Subscribing: refused with the foreign key (header, query parameter and cookie alike), accepted with
    // the node's own.
    const onC = await subscribe(t, topicUrl(C, [ALICE]), bearer(subscriberA));
    assert.equal(onC.status, 401, 'node C refuses a subscriber token signed with node A’s key');
    const onCQuery = await subscribe(t, topicUrl(C, [ALICE], { authorization: subscriberA }));
    assert.equal(onCQuery.status, 401, 'also in the authorization query parameter');
    const onCCookie = await subscribe(t, topicUrl(C, [ALICE]), {
      cookie: `mercureAuthorization=${subscriberA}`,
    });
    assert.equal(onCCookie.status, 401, 'also in the mercureAuthorization cookie');
    const onAWithC = await subscribe(t, topicUrl(A, [ALICE]), bearer(subscriberC));
    assert.equal(onAWithC.status, 401, 'node A refuses a token signed with node C’s key');

    // Publishing: the same.
    const refused = await publish(C, [PUBLIC], 'never stored', publisher);
    assert.equal(refused.status, 401, 'node C refuses a publisher token signed with node A’s key');
    const refusedOnA = await publish(A, [PUBLIC], 'never stored either', publisherC);
    assert.equal(refusedOnA.status, 401, 'node A refuses a publisher token signed with node C’s key');

    // The controls: C is in the same cluster (it shares the log), and B accepts A's tokens.
    const onB = await subscribe(t, topicUrl(B, [ALICE, MARKER]), bearer(subscriberA));
    assert.equal(onB.status, 200, 'node B, which shares the key, accepts the token');
    const ownOnC = await subscribe(t, topicUrl(C, [ALICE, MARKER]), bearer(subscriberC));
    assert.equal(ownOnC.status, 200, 'node C accepts a token signed with its own key');
    await awaitLive(A, onB, MARKER, publisher);
    await awaitLive(A, ownOnC, MARKER, publisher);
    await published(publish(A, [ALICE], 'secret-for-alice', publisher, { private: true }));
    await published(publish(C, [MARKER], 'marker', publisherC));
    for (const s of [onB, ownOnC]) {
      const data = (await waitForData(s, 'marker')).filter((d) => !d.startsWith('ping:'));
      assert.deepEqual(data, ['secret-for-alice', 'marker']);
      s.close();
    }
    // Nothing the refused publishes carried was stored: a replay of the whole log on A has none of it.
    const all = await subscribe(t, topicUrl(A, ['*'], { lastEventID: 'earliest' }), bearer(publisher));
    assert.equal(all.status, 200);
    await published(publish(A, [MARKER], 'end', publisher));
    const log = await waitForData(all, 'end');
    all.close();
    assert.ok(!log.some((d) => d.startsWith('never stored')), 'refused publishes were not stored');
  });

  test('a Last-Event-ID from node A resumes on node B (and through nginx) with the public updates only, unless the token grants the private ones', async (t) => {
    if (!present(t)) return;
    const alice = await mintToken(KEY, { subscribe: [ALICE] });
    const selectors = [ALICE, PUBLIC];
    // Both first subscribe on node A and keep the ID of the last update they got there.
    const firstAnonymous = await subscribe(t, topicUrl(A, selectors));
    const firstAlice = await subscribe(t, topicUrl(A, selectors), bearer(alice));
    for (const s of [firstAnonymous, firstAlice]) await awaitLive(B, s, PUBLIC, publisher);
    await published(publish(A, [ALICE], 'secret-seen-live', publisher, { private: true }));
    await published(publish(A, [PUBLIC], 'public-0', publisher));
    await waitForData(firstAnonymous, 'public-0');
    await waitForData(firstAlice, 'public-0');
    assert.ok(!dataOf(firstAnonymous).includes('secret-seen-live'));
    assert.ok(dataOf(firstAlice).includes('secret-seen-live'));
    const lastId = (s: Stream) => s.events.at(-1)!.lastEventId;
    const anonymousId = lastId(firstAnonymous);
    const aliceId = lastId(firstAlice);
    assert.equal(anonymousId, aliceId, 'both stopped at public-0');
    firstAnonymous.close();
    firstAlice.close();

    // While they are away, private and public updates go in through both nodes.
    const missed: Array<{ data: string; private: boolean }> = [];
    for (let i = 1; i <= 30; i++) {
      const isPrivate = i % 3 !== 0;
      const data = isPrivate ? `secret-${i}` : `public-${i}`;
      const via = i % 2 === 0 ? A : B;
      await published(publish(via, isPrivate ? [ALICE] : [PUBLIC], data, publisher, { private: isPrivate }));
      missed.push({ data, private: isPrivate });
    }

    // They come back on node B (Last-Event-ID header) and through nginx (lastEventID query parameter).
    const resumed = {
      anonymousOnB: await subscribe(t, topicUrl(B, selectors), { 'last-event-id': anonymousId }),
      anonymousViaNginx: await subscribe(t, topicUrl(NGINX, selectors, { lastEventID: anonymousId })),
      aliceOnB: await subscribe(t, topicUrl(B, selectors), { 'last-event-id': aliceId, ...bearer(alice) }),
      aliceViaNginx: await subscribe(t, topicUrl(NGINX, selectors, { lastEventID: aliceId }), bearer(alice)),
    };
    for (const [name, s] of Object.entries(resumed)) assert.equal(s.status, 200, `${name}: ${s.raw}`);
    for (const s of Object.values(resumed)) await waitForData(s, 'public-30');
    const publicOnly = missed.filter((m) => !m.private).map((m) => m.data);
    const everything = missed.map((m) => m.data);
    for (const name of ['anonymousOnB', 'anonymousViaNginx'] as const) {
      const s = resumed[name];
      assert.deepEqual(dataOf(s), publicOnly, `${name}: exactly the public updates it missed, in order`);
      assert.ok(!s.raw.includes('secret'), `${name}: no private data on the wire`);
    }
    for (const name of ['aliceOnB', 'aliceViaNginx'] as const)
      assert.deepEqual(dataOf(resumed[name]), everything, `${name}: everything it missed, in order`);
    for (const s of Object.values(resumed)) s.close();
  });

  test('a subscriber on node B selecting * without private rights gets none of node A’s private updates published during and after its replay', async (t) => {
    if (!present(t)) return;
    const topicOf = (i: number) => `https://example.com/users/u${i % 7}/feed`;
    const isPrivate = (i: number) => i % 3 !== 0;
    const dataFor = (i: number) => (isPrivate(i) ? `secret-${i}` : `public-${i}`);
    const publishOne = (i: number) =>
      published(publish(A, [topicOf(i)], dataFor(i), publisher, { private: isPrivate(i) }));

    // History to replay: 0 is the point both resume from, then 1..1500 (two private of every three).
    const HISTORY = 1500;
    const fromId = (await publishOne(0)).trim();
    for (let i = 1; i <= HISTORY; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => i + k).map(async (n) => publishOne(n)));
    }
    // That was 30 concurrent rounds; replay order is the stored order, which is what subscribers must see.
    const grantAll = await mintToken(KEY, { subscribe: ['*'] });
    const everyone = await subscribe(t, topicUrl(A, ['*'], { lastEventID: fromId }), bearer(grantAll));
    assert.equal(everyone.status, 200);

    // A steady publisher on A keeps going while they connect to B and replay, and for a while after.
    let next = HISTORY + 1;
    let publishing = true;
    const liveLog: Array<{ n: number; at: number }> = [];
    const live = (async () => {
      while (publishing) {
        const n = next++;
        await publishOne(n);
        liveLog.push({ n, at: Date.now() });
      }
    })();
    await sleep(100);
    const connectedAt = Date.now();
    const noRights = await subscribe(t, topicUrl(B, ['*'], { lastEventID: fromId }));
    const otherRights = await subscribe(
      t,
      topicUrl(B, ['*'], { lastEventID: fromId }),
      bearer(await mintToken(KEY, { subscribe: ['https://example.com/users/nobody/{+rest}'] })),
    );
    const allRights = await subscribe(t, topicUrl(B, ['*'], { lastEventID: fromId }), bearer(grantAll));
    for (const s of [noRights, otherRights, allRights]) assert.equal(s.status, 200, s.raw);
    const answeredAt = Date.now();
    await sleep(1500);
    publishing = false;
    await live;
    const lastN = next - 1;
    await published(publish(A, [MARKER], 'marker', publisher));

    assert.ok(
      liveLog.some((p) => isPrivate(p.n) && p.at < answeredAt) &&
        liveLog.some((p) => isPrivate(p.n) && p.at > connectedAt + 1000),
      'private updates were published while the replay started and after it',
    );
    // The stored order, from a subscriber on A allowed everything (subscription events left out).
    const ours = (d: string) => d.startsWith('secret-') || d.startsWith('public-');
    const order = (await waitForData(everyone, 'marker')).filter(ours);
    everyone.close();
    assert.equal(order.length, lastN, 'every update was stored once');
    for (const [name, s] of [
      ['no rights', noRights],
      ['rights elsewhere', otherRights],
    ] as const) {
      const got = (await waitForData(s, 'marker')).filter(ours);
      assert.ok(!s.raw.includes('secret-'), `${name}: no private data on the wire`);
      assert.deepEqual(
        got,
        order.filter((d) => d.startsWith('public-')),
        `${name}: every public update once, in order`,
      );
      s.close();
    }
    const got = (await waitForData(allRights, 'marker')).filter(ours);
    allRights.close();
    assert.deepEqual(got, order, 'the control: a * grant gets everything once, in order');
  });

  test('subscription events from node B (private, with the subscriber’s payload) reach a subscriber on node A only with a granting token', async (t) => {
    if (!present(t)) return;
    const spy = await subscribe(t, topicUrl(A, ['*']));
    const spyOtherClaim = await subscribe(
      t,
      topicUrl(A, ['*']),
      bearer(await mintToken(KEY, { subscribe: [ALICE] })),
    );
    const watcher = await subscribe(
      t,
      topicUrl(A, ['*']),
      bearer(await mintToken(KEY, { subscribe: ['*'] })),
    );
    for (const s of [spy, spyOtherClaim, watcher]) await awaitLive(B, s, MARKER, publisher);
    const someone = await subscribe(
      t,
      topicUrl(B, [BOB]),
      bearer(await mintToken(KEY, { subscribe: [BOB] }, { payload: { user: 'payload-of-bob' } })),
    );
    assert.equal(someone.status, 200);
    await sleep(200);
    someone.close();
    await waitUntil(
      () =>
        watcher.events.some((e) => e.data.includes('payload-of-bob') && e.data.includes('"active":false')),
      'the event of the disconnection on node B',
    );
    await published(publish(B, [MARKER], 'marker', publisher));
    for (const s of [spy, spyOtherClaim, watcher]) await waitForData(s, 'marker');
    assert.ok(watcher.raw.includes('payload-of-bob'), 'the control: a * grant sees the payload');
    for (const [name, s] of [
      ['anonymous', spy],
      ['other claim', spyOtherClaim],
    ] as const) {
      assert.ok(!s.raw.includes('Subscription'), `${name}: no subscription event`);
      assert.ok(!s.raw.includes('payload-of-bob'), `${name}: no payload`);
    }
    for (const s of [spy, spyOtherClaim, watcher]) s.close();
  });
});

async function waitUntil(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
