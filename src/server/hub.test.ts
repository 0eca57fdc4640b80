import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, test } from 'node:test';
import type { Engine, HistoryRead, StoredUpdate } from '../engines/engine.js';
import { MemoryEngine } from '../engines/memory/memory-engine.js';
import { EventStreamParser, type ParsedEvent } from '../protocol/parse.js';
import { connectSse, startHub } from './client.test-helpers.js';
import { REPLAY_UNAVAILABLE_EVENT } from './hub.js';

/** A memory engine with some of its methods replaced (a lagging live stream, a slow read, a reset). */
function engineOver(
  overrides: Partial<Engine> & { name: string },
  inner: Engine = new MemoryEngine(),
): Engine {
  return {
    publish: (u) => inner.publish(u),
    follow: (f) => inner.follow(f),
    readAll: () => inner.readAll(),
    readAfter: (id) => inner.readAfter(id),
    position: () => inner.position(),
    health: () => inner.health(),
    close: () => inner.close(),
    ...overrides,
  };
}

// The hub's behaviour — fan-out, replay, private updates, conflation, backpressure, liveness, events —
// specified over node:http, its fastest transport (hub.test.ts beside hub.ts; what is specific to each
// transport is in node-http.test.ts, node-http2.test.ts and fetch.test.ts).
describe('Hub', () => {
  test('delivers an update once to each subscriber with a matching selector, and to no one else', async () => {
    const s = await startHub();
    const a = await connectSse(`${s.url}/?topic=a`);
    const ab = await connectSse(`${s.url}/?topic=a&topic=b`);
    const b = await connectSse(`${s.url}/?topic=b`);
    const any = await connectSse(`${s.url}/?topic=*`);
    assert.equal(s.hub.subscribersOf('a'), 3);
    await s.hub.publish(['a', 'b'], 'both', { event: 'score' });
    await s.hub.publish('a', 'only a');
    await s.hub.publish('c', 'only c');
    await any.until((x) => x.events.length === 3);
    await a.until((x) => x.events.length === 2);
    await ab.until((x) => x.events.length === 2);
    await s.hub.publish('b', 'end');
    await b.until((x) => x.events.length === 2);
    await ab.until((x) => x.events.length === 3);
    assert.deepEqual(
      b.events.map((e) => e.data),
      ['both', 'end'],
    );
    assert.deepEqual(
      ab.events.map((e) => [e.type, e.data]),
      [
        ['score', 'both'],
        ['message', 'only a'],
        ['message', 'end'],
      ],
    );
    for (const c of [a, ab, b, any]) c.close();
    await s.stop();
  });

  test('a fan-out longer than the flush slice yields to I/O, joins later updates into pending writes, and keeps every stream exact', async (t) => {
    // flushSliceMs 0: the slice is spent every 64 writes, so one fan-out to 300 subscribers spans several
    // turns, and updates published meanwhile (one per turn here) join the queues not yet written.
    const s = await startHub({ flushSliceMs: 0 });
    t.after(() => s.stop());
    const clients = await Promise.all(Array.from({ length: 300 }, () => connectSse(`${s.url}/?topic=t`)));
    t.after(() => {
      for (const c of clients) c.close();
    });
    const sent: string[] = [];
    for (let i = 0; i < 40; i++) {
      sent.push(String(i));
      await s.hub.publish('t', String(i));
      await new Promise((r) => setImmediate(r)); // one update per turn: never a same-turn burst
    }
    await Promise.all(clients.map((c) => c.until((x) => x.events.length >= sent.length)));
    for (const c of clients)
      assert.deepEqual(
        c.events.map((e) => e.data),
        sent,
      );
    assert.equal(s.hub.stats.deliveries, 300 * 40);
    assert.ok(s.hub.stats.writes < s.hub.stats.deliveries, JSON.stringify(s.hub.stats));
  });

  test('matches URI template selectors through the topic index', async () => {
    const s = await startHub();
    const c = await connectSse(`${s.url}/?topic=${encodeURIComponent('https://example.com/scores/{match}')}`);
    await s.hub.publish('https://example.com/scores/42', 'goal');
    await s.hub.publish('https://example.com/news/1', 'other');
    await s.hub.publish('https://example.com/scores/7', 'card');
    await c.until((x) => x.events.length === 2);
    assert.deepEqual(
      c.events.map((e) => e.data),
      ['goal', 'card'],
    );
    c.close();
    await s.stop();
  });

  test('a burst published in one turn reaches every subscriber complete and in order (batched writes)', async () => {
    const s = await startHub();
    const all = await connectSse(`${s.url}/?topic=a&topic=b`);
    const onlyA = await connectSse(`${s.url}/?topic=a`);
    const same = await connectSse(`${s.url}/?topic=b&topic=a`); // same shape as `all`: one group
    assert.equal(s.hub.subscribersOf('a'), 3);
    assert.equal(s.hub.subscribersOf('b'), 2);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) writes.push(s.hub.publish(i % 3 === 0 ? 'b' : 'a', `e${i}`));
    await Promise.all(writes);
    await all.until((x) => x.events.length === 300);
    await onlyA.until((x) => x.events.length === 200);
    await same.until((x) => x.events.length === 300);
    assert.deepEqual(
      same.events.map((e) => e.data),
      all.events.map((e) => e.data),
    );
    assert.deepEqual(
      all.events.map((e) => e.data),
      Array.from({ length: 300 }, (_, i) => `e${i}`),
    );
    assert.deepEqual(
      onlyA.events.map((e) => e.data),
      Array.from({ length: 300 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => `e${i}`),
    );
    for (const c of [all, onlyA, same]) c.close();
    await s.stop();
  });

  test('refuses selectors costing more than maxSelectorCost with a 400 that names the option, and shares identical selectors across connections until the last leaves', async () => {
    const s = await startHub({ maxSelectorCost: 64 * 1024 });
    const templates = Array.from(
      { length: 20 },
      (_, i) => `topic=${encodeURIComponent(`https://e.x/${i}/{id}`)}`,
    );
    const refused = await connectSse(`${s.url}/?${templates.join('&')}`);
    await refused.ended;
    assert.equal(refused.status, 400);
    assert.match(refused.body, /maxSelectorCost/);
    assert.equal(s.hub.selectorPool.size, 0, 'a refused subscription gives back what it took');
    const url = `${s.url}/?topic=${encodeURIComponent('https://e.x/books/{id}')}&topic=plain`;
    const a = await connectSse(url);
    const b = await connectSse(url);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(s.hub.selectorPool.size, 2, 'two connections, one compiled selector each');
    await s.hub.publish('https://e.x/books/7', 'seven');
    await a.until((x) => x.events.length === 1);
    await b.until((x) => x.events.length === 1);
    a.close();
    await new Promise<void>((r) => s.hub.once('disconnect', () => r()));
    assert.equal(s.hub.selectorPool.size, 2, 'still held by the other connection');
    b.close();
    await new Promise<void>((r) => s.hub.once('disconnect', () => r()));
    assert.equal(s.hub.selectorPool.size, 0);
    await s.stop();
  });

  test('replays what followed Last-Event-ID (header, lastEventID or last_event_id) and then goes live', async () => {
    const s = await startHub();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await s.hub.publish(i % 2 ? 'odd' : 'even', String(i))).id);
    for (const how of ['header', 'lastEventID', 'last_event_id']) {
      const url = `${s.url}/?topic=even&topic=odd` + (how === 'header' ? '' : `&${how}=${ids[1]}`);
      const c = await connectSse(url, how === 'header' ? { 'last-event-id': ids[1]! } : {});
      assert.equal(c.headers['crier-replay'], 'ok');
      await c.until((x) => x.events.length === 3);
      assert.deepEqual(
        c.events.map((e) => e.data),
        ['2', '3', '4'],
      );
      assert.equal(c.events[2]!.lastEventId, ids[4]);
      c.close();
    }
    // Replay applies the subscription's selectors.
    const even = await connectSse(`${s.url}/?topic=even`, { 'last-event-id': ids[0]! });
    await s.hub.publish('even', 'live');
    await even.until((x) => x.events.length === 3);
    assert.deepEqual(
      even.events.map((e) => e.data),
      ['2', '4', 'live'],
    );
    even.close();
    await s.stop();
  });

  test('replays all history that matches for the reserved Last-Event-ID earliest, then goes live', async () => {
    const s = await startHub();
    for (let i = 0; i < 4; i++) await s.hub.publish(i % 2 ? 'odd' : 'even', String(i));
    const c = await connectSse(`${s.url}/?topic=even&lastEventID=earliest`);
    assert.equal(c.headers['crier-replay'], 'ok');
    await s.hub.publish('even', 'live');
    await c.until((x) => x.events.length === 3);
    assert.deepEqual(
      c.events.map((e) => e.data),
      ['0', '2', 'live'],
    );
    await assert.rejects(s.hub.publish('even', 'x', { id: 'earliest' }), /reserved/);
    c.close();
    await s.stop();
  });

  test('tells the client when Last-Event-ID cannot be replayed (reserved event and header), then sends all history still kept, then goes live', async () => {
    const s = await startHub({ engine: new MemoryEngine({ history: { maxCount: 2 } }) });
    const first = await s.hub.publish('t', 'gone');
    await s.hub.publish('t', 'lost');
    const kept = [await s.hub.publish('t', 'kept-1'), await s.hub.publish('t', 'kept-2')];
    const expired = await connectSse(`${s.url}/?topic=t`, { 'last-event-id': first.id });
    assert.equal(expired.headers['crier-replay'], 'expired');
    const unknown = await connectSse(`${s.url}/?topic=t`, { 'last-event-id': 'never-issued' });
    assert.equal(unknown.headers['crier-replay'], 'unknown');
    const live = await s.hub.publish('t', 'live');
    for (const [c, reason, id] of [
      [expired, 'expired', first.id],
      [unknown, 'unknown', 'never-issued'],
    ] as const) {
      await c.until((x) => x.events.length === 4);
      assert.equal(c.events[0]!.type, REPLAY_UNAVAILABLE_EVENT);
      assert.deepEqual(JSON.parse(c.events[0]!.data), { lastEventId: id, reason });
      // The notice moves the client's last event ID to `earliest`: a reconnect before the history below
      // arrived asks for all of it again rather than reporting the same gap.
      assert.equal(c.events[0]!.lastEventId, 'earliest');
      assert.deepEqual(
        c.events.slice(1).map((e) => [e.data, e.lastEventId]),
        [...kept, live].map((u) => [u.data, u.id]),
      );
      c.close();
    }
    await s.stop();
  });

  test('after a replay-unavailable notice, every update the store holds arrives, even one stored before the read that the lagging live stream delivers later, and none twice', async () => {
    // An engine whose live stream lags its store by 60 ms, as over Redis or NATS.
    const inner = new MemoryEngine();
    const engine = engineOver(
      {
        name: 'lagging-follow',
        follow: (f) =>
          inner.follow({
            update: (u) => void setTimeout(() => f.update(u), 60),
            reset: (r) => void setTimeout(() => f.reset(r), 60),
          }),
      },
      inner,
    );
    const s = await startHub({ engine });
    const seen = await connectSse(`${s.url}/?topic=t`);
    await s.hub.publish('t', 'a');
    await s.hub.publish('t', 'b');
    await seen.until((x) => x.events.length === 2); // the hub has seen b
    await s.hub.publish('t', 'c'); // stored; this hub sees it 60 ms from now
    const c = await connectSse(`${s.url}/?topic=t`, { 'last-event-id': 'never-issued' });
    await c.until((x) => x.events.length === 4);
    await s.hub.publish('t', 'd');
    await c.until((x) => x.events.length === 5);
    assert.equal(c.events[0]!.type, REPLAY_UNAVAILABLE_EVENT);
    assert.deepEqual(
      c.events.slice(1).map((e) => e.data),
      ['a', 'b', 'c', 'd'],
    );
    seen.close();
    c.close();
    await s.stop();
  });

  test('a replay longer than the write buffer goes out in slices as the client reads; live updates published meanwhile follow it with no gap and no duplicate', async () => {
    // 8 MB of history, a 64 KiB write buffer: far more than the socket buffers hold, so the replay waits
    // for this client, which reads nothing for a while.
    const s = await startHub({
      engine: new MemoryEngine({ history: { maxBytes: 64 * 1024 ** 2 } }),
      maxBufferedBytes: 64 * 1024,
    });
    const big = 'r'.repeat(20_000);
    const history: StoredUpdate[] = [];
    for (let i = 0; i < 400; i++) history.push(await s.hub.publish('t', `${i} ${big}`));
    const events: ParsedEvent[] = [];
    const parser = new EventStreamParser({ onEvent: (e) => events.push(e) });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(
        `${s.url}/?topic=t`,
        { headers: { 'last-event-id': history[0]!.id }, agent: false },
        resolve,
      );
      req.on('error', reject);
    });
    res.pause();
    res.on('data', (chunk: Buffer) => parser.push(chunk));
    await new Promise((r) => setTimeout(r, 100));
    const live: StoredUpdate[] = [];
    for (let i = 0; i < 20; i++) {
      live.push(await s.hub.publish('t', `live ${i}`));
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.hub.stats.slowDisconnects, 0, 'the reader was not dropped: its backlog is small');
    res.resume();
    const want = [...history.slice(1), ...live].map((u) => u.id);
    while (events.length < want.length) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      events.map((e) => e.lastEventId),
      want,
    );
    res.destroy();
    await s.stop();
  });

  test('a replay over many pages sends only the updates the subscriber asked for, in order, even across pages holding none of them, then live updates', async () => {
    const s = await startHub({ engine: new MemoryEngine(), maxBufferedBytes: 64 * 1024 });
    const wanted: StoredUpdate[] = [];
    for (let i = 0; i < 300; i++) {
      const u = await s.hub.publish(i % 3 === 0 ? 'a' : 'b', `${i}`);
      if (i % 3 === 0) wanted.push(u);
    }
    // 600 updates the subscriber does not want: whole pages with nothing to write.
    for (let i = 0; i < 600; i++) await s.hub.publish('b', `skip ${i}`);
    for (let i = 0; i < 50; i++) wanted.push(await s.hub.publish('a', `late ${i}`));
    const c = await connectSse(`${s.url}/?topic=a`, { 'last-event-id': 'earliest' });
    const live = await s.hub.publish('a', 'live');
    await c.until((x) => x.events.length >= wanted.length + 1);
    await new Promise((r) => setTimeout(r, 50)); // a duplicate would arrive now
    assert.deepEqual(
      c.events.map((e) => e.lastEventId),
      [...wanted, live].map((u) => u.id),
    );
    c.close();
    await s.stop();
  });

  test('history trimmed between two pages of a replay closes the stream after the last update sent, and the client resuming from it is told of the gap', async () => {
    // 400 × 20 KB of history, a 64 KiB write buffer: history is read a page at a time as the client reads.
    // While it reads nothing, 400 small updates push the unread history out of the 400-update bound.
    const s = await startHub({
      engine: new MemoryEngine({ history: { maxCount: 400, maxBytes: 64 * 1024 ** 2 } }),
      maxBufferedBytes: 64 * 1024,
    });
    const big = 'r'.repeat(20_000);
    const history: StoredUpdate[] = [];
    for (let i = 0; i < 400; i++) history.push(await s.hub.publish('t', `${i} ${big}`));
    const events: ParsedEvent[] = [];
    const parser = new EventStreamParser({ onEvent: (e) => events.push(e) });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(
        `${s.url}/?topic=t`,
        { headers: { 'last-event-id': 'earliest' }, agent: false },
        resolve,
      );
      req.on('error', reject);
    });
    res.pause();
    const ended = new Promise((r) => res.on('close', r));
    res.on('data', (chunk: Buffer) => parser.push(chunk));
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 400; i++) await s.hub.publish('t', `live ${i}`);
    res.resume();
    await ended;
    const ids = events.filter((e) => e.data !== '').map((e) => e.lastEventId);
    assert.ok(ids.length > 0 && ids.length < 400, `${ids.length} history updates arrived before the gap`);
    assert.deepEqual(
      ids,
      history.slice(0, ids.length).map((u) => u.id),
      'a prefix of history, in order, and no live update after it',
    );
    const again = await connectSse(`${s.url}/?topic=t`, { 'last-event-id': ids.at(-1)! });
    assert.equal(again.headers['crier-replay'], 'expired');
    again.close();
    await s.stop();
  });

  test('a replay of many small events goes out in joined slices, in order, then live updates', async () => {
    const s = await startHub({ maxBufferedBytes: 16 * 1024 });
    const first = await s.hub.publish('t', 'first');
    const history: StoredUpdate[] = [];
    for (let i = 0; i < 2000; i++) history.push(await s.hub.publish('t', `small ${i}`));
    const c = await connectSse(`${s.url}/?topic=t`, { 'last-event-id': first.id });
    const live = await s.hub.publish('t', 'live');
    await c.until((x) => x.events.length === 2001);
    assert.deepEqual(
      c.events.map((e) => e.lastEventId),
      [...history, live].map((u) => u.id),
    );
    c.close();
    await s.stop();
  });

  test('replay joins the live stream with no gap and no duplicate while events are published concurrently', async () => {
    // An engine whose history read takes a while and lands at a random moment, as over a network.
    const inner = new MemoryEngine();
    const pause = () => new Promise((r) => setTimeout(r, Math.random() * 15));
    const engine = engineOver(
      {
        name: 'slow-read',
        readAfter: async (id): Promise<HistoryRead> => {
          await pause();
          const read = await inner.readAfter(id);
          await pause();
          return read;
        },
      },
      inner,
    );
    const s = await startHub({ engine });
    const TOTAL = 400;
    const ids: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; i < TOTAL; i++) {
        ids.push((await s.hub.publish('t', String(i))).id);
        if (i % 4 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      publishing = false;
    })();
    const clients: { from: number; client: Awaited<ReturnType<typeof connectSse>> }[] = [];
    while (publishing) {
      if (ids.length > 0) {
        const from = Math.floor(Math.random() * ids.length);
        clients.push({
          from,
          client: await connectSse(`${s.url}/?topic=t`, { 'last-event-id': ids[from]! }),
        });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await publisher;
    assert.ok(clients.length >= 5, `only ${clients.length} clients connected during publishing`);
    for (const { from, client } of clients) {
      const want = TOTAL - from - 1;
      await client.until((x) => x.events.length >= want);
      const got = client.events.map((e) => Number(e.data));
      const expected = Array.from({ length: want }, (_, k) => from + 1 + k);
      assert.deepEqual(got, expected);
      client.close();
    }
    await s.stop();
  });

  test('sends heartbeat comments to an idle connection', async () => {
    const s = await startHub({ heartbeatMs: 60 });
    const c = await connectSse(`${s.url}/?topic=a`);
    await c.until((x) => x.comments.length >= 2);
    assert.deepEqual(c.comments.slice(0, 2), ['', '']);
    c.close();
    await s.stop();
  });

  test('delivers private updates only to subscribers authorised for their topic', async () => {
    const s = await startHub({}, (req) => ({
      privateTopics: req.headers['x-user'] === 'alice' ? ['user/alice'] : [],
    }));
    const alice = await connectSse(`${s.url}/?topic=*`, { 'x-user': 'alice' });
    const bob = await connectSse(`${s.url}/?topic=*`, { 'x-user': 'bob' });
    await s.hub.publish('user/alice', 'secret', { private: true });
    await s.hub.publish('user/alice', 'public');
    await alice.until((x) => x.events.length === 2);
    await bob.until((x) => x.events.length === 1);
    assert.deepEqual(
      bob.events.map((e) => e.data),
      ['public'],
    );
    assert.deepEqual(
      alice.events.map((e) => e.data),
      ['secret', 'public'],
    );
    // Replay honours it too.
    const first = alice.events[0]!.lastEventId;
    const late = await connectSse(`${s.url}/?topic=*`, { 'x-user': 'bob', 'last-event-id': first });
    await s.hub.publish('x', 'end');
    await late.until((x) => x.events.length === 2);
    assert.deepEqual(
      late.events.map((e) => e.data),
      ['public', 'end'],
    );
    for (const c of [alice, bob, late]) c.close();
    await s.stop();
  });

  test('conflation: with maxRate a subscriber gets the latest event of a topic, not a backlog', async () => {
    const s = await startHub();
    const slow = await connectSse(`${s.url}/?topic=*&maxRate=4`);
    const full = await connectSse(`${s.url}/?topic=*`);
    for (let i = 0; i < 50; i++) {
      await s.hub.publish('AAPL', `a${i}`);
      await s.hub.publish('MSFT', `m${i}`);
    }
    await slow.until((x) => x.events.some((e) => e.data === 'a49') && x.events.some((e) => e.data === 'm49'));
    await full.until((x) => x.events.length === 100);
    assert.deepEqual(
      slow.events.map((e) => e.data),
      ['a0', 'm0', 'a49', 'm49'],
    );
    for (const c of [slow, full]) c.close();
    await s.stop();
  });

  test('a subscriber that stops reading is disconnected and counted; the others get every event; memory stays bounded', async () => {
    const warnings: Record<string, unknown>[] = [];
    const s = await startHub({
      maxBufferedBytes: 128 * 1024,
      engine: new MemoryEngine({ history: { maxCount: 100 } }),
      logger: { warn: (_m, fields) => warnings.push(fields ?? {}) },
    });
    const reasons: string[] = [];
    s.hub.on('disconnect', (_info, reason) => reasons.push(reason));
    // The stalled client: sends its request, then never reads a byte.
    const port = Number(new URL(s.url).port);
    const stalled = net.connect(port, '127.0.0.1');
    stalled.pause();
    stalled.write('GET /?topic=t HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await new Promise<void>((r) => s.hub.once('connect', () => r()));
    const healthy = await connectSse(`${s.url}/?topic=t`);
    const payload = 'x'.repeat(2000);
    for (let i = 0; i < 10_000; i++) {
      await s.hub.publish('t', `${i} ${payload}`);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await healthy.until((x) => x.events.length === 10_000);
    assert.ok(healthy.events.every((e, i) => e.data.startsWith(`${i} `)));
    assert.deepEqual(reasons, ['slow']);
    assert.equal(s.hub.stats.slowDisconnects, 1);
    assert.equal(s.hub.connectionCount, 1);
    // 10,000 events of 2 KB would be 20 MB if the stalled subscriber's share were kept: it never held
    // more than its bound (plus the event that crossed it) before it was dropped and logged.
    assert.equal(warnings.length, 1);
    assert.ok((warnings[0]!.bufferedBytes as number) <= 128 * 1024 + 2100, JSON.stringify(warnings[0]));
    stalled.destroy();
    healthy.close();
    await s.stop();
  });

  test('closes a connection at its jittered maximum lifetime with a retry:', async () => {
    const s = await startHub({ maxLifetimeMs: 200, heartbeatMs: 60 });
    const reasons: string[] = [];
    s.hub.on('disconnect', (_i, r) => reasons.push(r));
    const c = await connectSse(`${s.url}/?topic=t`);
    await c.ended;
    assert.equal(c.retries.length, 2);
    assert.deepEqual(reasons, ['lifetime']);
    await s.stop();
  });

  test('reports connects and disconnects and keeps subscriber counts right', async () => {
    const s = await startHub();
    const seen: string[] = [];
    s.hub.on('connect', (i) => seen.push(`+${i.selectors.join(',')}`));
    s.hub.on('disconnect', (i, r) => seen.push(`-${i.selectors.join(',')}:${r}`));
    const c = await connectSse(`${s.url}/?topic=a&topic=b`);
    await c.until((x) => x.retries.length === 1);
    assert.equal(s.hub.subscribersOf('b'), 1);
    c.close();
    await new Promise<void>((r) => s.hub.once('disconnect', () => r()));
    assert.equal(s.hub.subscribersOf('b'), 0);
    assert.deepEqual(seen, ['+a,b', '-a,b:client']);
    await s.stop();
  });

  test('an engine reset closes subscribers with a retry: so they recover by replay', async () => {
    let follower: Parameters<Engine['follow']>[0] | undefined;
    const inner = new MemoryEngine();
    const engine = engineOver(
      {
        name: 'resettable',
        follow: (f) => {
          follower = f;
          return inner.follow(f);
        },
      },
      inner,
    );
    const s = await startHub({ engine });
    const c = await connectSse(`${s.url}/?topic=t`);
    await c.until((x) => x.retries.length === 1);
    follower!.reset('lost the broker');
    await c.ended;
    assert.equal(c.retries.length, 2);
    await s.stop();
  });
});
