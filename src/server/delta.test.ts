/**
 * Delta updates over real sockets: what a delta subscriber receives (full, then patches against what it
 * was sent), what everyone else receives (unchanged), and when a patch must not be sent.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyPatch, parseDeltaField } from '../protocol/delta.js';
import { EventStreamParser } from '../protocol/parse.js';
import { Hub } from './index.js';

interface Received {
  id: string;
  type: string;
  data: string;
  /** The `delta:` field, when there was one. */
  delta: string | undefined;
  /** The event's bytes as they came (for checking that subscribers share them). */
  raw: string;
}

interface Reader {
  events: Received[];
  next(): Promise<Received>;
  close(): void;
}

async function start(t: { after(fn: () => unknown): void }, hub: Hub) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    void hub.handle(req, res, {
      privateTopics: req.headers['x-user'] === 'alice' ? ['scores/1'] : [],
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  t.after(async () => {
    await hub.close({ timeoutMs: 100 });
    server.close();
  });
  return { base: `http://127.0.0.1:${port}`, sockets };
}

/** Reads a stream over a real socket: each event with its `delta:` field and raw bytes. */
function read(url: string, headers: Record<string, string> = {}): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const events: Received[] = [];
      const waiting: Array<(e: Received) => void> = [];
      let delta: string | undefined;
      let text = '';
      const parser = new EventStreamParser({
        onField: (field, value) => {
          if (field === 'delta') delta = value;
        },
        onEvent: (e) => {
          const end = text.indexOf('\n\n');
          const raw = text.slice(0, end + 2);
          text = text.slice(end + 2);
          const got = { id: e.lastEventId, type: e.type, data: e.data, delta, raw };
          const w = waiting.shift();
          if (w) w(got);
          else events.push(got);
        },
        onBlockEnd: () => {
          delta = undefined;
          // Blocks that dispatch nothing (retry:, heartbeats) are dropped from the raw text.
          const end = text.indexOf('\n\n');
          if (end !== -1 && !/^(?:.*\n)*data/.test(text.slice(0, end))) text = text.slice(end + 2);
        },
      });
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        parser.push(chunk);
      });
      resolve({
        events,
        next: () => {
          const e = events.shift();
          return e
            ? Promise.resolve(e)
            : new Promise((r, fail) => {
                const timer = setTimeout(() => fail(new Error('no event within 3 s')), 3_000);
                waiting.push((got) => {
                  clearTimeout(timer);
                  r(got);
                });
              });
        },
        close: () => req.destroy(),
      });
    });
    req.end();
  });
}

const doc = (score: [number, number], minute: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ match: 'm1', home: 'Lions', away: 'Tigers', score, minute, ...extra });

describe('delta updates', () => {
  test('a delta subscriber gets a topic in full (delta: <slot>), then patches that rebuild each update exactly; id and type are kept', async (t) => {
    const hub = new Hub({ logger: null });
    const { base } = await start(t, hub);
    const delta = await read(`${base}/?topic=scores%2F%7Bid%7D&delta=1`);
    const plain = await read(`${base}/?topic=scores%2F%7Bid%7D`);
    const updates = [doc([0, 0], 1), doc([0, 0], 2), doc([1, 0], 3), doc([1, 0], 4, { card: 'yellow' })];
    const ids: string[] = [];
    for (const data of updates) ids.push((await hub.publish('scores/1', data, { event: 'match' })).id);
    let baseData = '';
    for (let i = 0; i < updates.length; i++) {
      const p = await plain.next();
      assert.deepEqual([p.id, p.type, p.data, p.delta], [ids[i], 'match', updates[i], undefined]);
      const d = await delta.next();
      assert.equal(d.id, ids[i]);
      assert.equal(d.type, 'match');
      const field = parseDeltaField(d.delta ?? '');
      assert.ok(field !== null, `event ${i} has a delta field`);
      if (i === 0) {
        assert.equal(field.format, null, 'the first update of a topic is full');
        assert.equal(d.data, updates[0]);
        baseData = d.data;
      } else {
        assert.notEqual(field.format, null, `update ${i} is a patch`);
        assert.ok(d.data.length < updates[i]!.length, 'the patch is smaller than the update');
        baseData = applyPatch(baseData, field.format!, d.data);
        assert.equal(baseData, updates[i]);
      }
    }
    delta.close();
    plain.close();
  });

  test('every delta subscriber gets the same bytes for an update (encoded once), and topics have their own slots', async (t) => {
    const hub = new Hub({ logger: null });
    const { base } = await start(t, hub);
    const a = await read(`${base}/?topic=scores%2F%7Bid%7D&delta=1`);
    const b = await read(`${base}/?topic=scores%2F%7Bid%7D&delta=1`);
    await hub.publish('scores/1', doc([0, 0], 1));
    await hub.publish('scores/2', doc([2, 2], 1));
    await hub.publish('scores/1', doc([0, 1], 2));
    await hub.publish('scores/2', doc([2, 3], 2));
    const fromA = [await a.next(), await a.next(), await a.next(), await a.next()];
    const fromB = [await b.next(), await b.next(), await b.next(), await b.next()];
    assert.deepEqual(
      fromA.map((e) => e.raw),
      fromB.map((e) => e.raw),
    );
    const slots = fromA.map((e) => parseDeltaField(e.delta!)!.slot);
    assert.equal(slots[0], slots[2]);
    assert.equal(slots[1], slots[3]);
    assert.notEqual(slots[0], slots[1]);
    a.close();
    b.close();
  });

  test('a reconnect with Last-Event-ID restarts from a full update: replayed events carry no delta, the first live one is full', async (t) => {
    const hub = new Hub({ logger: null });
    const { base } = await start(t, hub);
    const first = await read(`${base}/?topic=scores/1&delta=1`);
    const one = await hub.publish('scores/1', doc([0, 0], 1));
    await hub.publish('scores/1', doc([0, 0], 2));
    assert.equal(parseDeltaField((await first.next()).delta!)!.format, null);
    assert.notEqual(parseDeltaField((await first.next()).delta!)!.format, null);
    first.close();
    const again = await read(`${base}/?topic=scores/1&delta=1`, { 'last-event-id': one.id });
    const replayed = await again.next();
    assert.deepEqual([replayed.data, replayed.delta], [doc([0, 0], 2), undefined]);
    await hub.publish('scores/1', doc([1, 0], 3));
    const live = await again.next();
    assert.equal(live.data, doc([1, 0], 3));
    assert.equal(
      parseDeltaField(live.delta!)!.format,
      null,
      'full, not a patch against what the replay sent',
    );
    await hub.publish('scores/1', doc([1, 0], 4));
    assert.notEqual(parseDeltaField((await again.next()).delta!)!.format, null);
    again.close();
  });

  test('a patch never carries a private update the subscriber could not receive: the next public update is full', async (t) => {
    const hub = new Hub({ logger: null });
    const { base } = await start(t, hub);
    const bob = await read(`${base}/?topic=scores/1&delta=1`);
    const alice = await read(`${base}/?topic=scores/1&delta=1`, { 'x-user': 'alice' });
    await hub.publish('scores/1', doc([0, 0], 1));
    await hub.publish('scores/1', doc([0, 0], 2, { secret: 'the-private-bit' }), { private: true });
    await hub.publish('scores/1', doc([0, 0], 3));
    const bobs = [await bob.next(), await bob.next()];
    assert.deepEqual(
      bobs.map((e) => [e.data, parseDeltaField(e.delta!)!.format]),
      [
        [doc([0, 0], 1), null],
        [doc([0, 0], 3), null],
      ],
    );
    await sleep(50);
    assert.equal(bob.events.length, 0);
    assert.ok(!bobs.some((e) => e.raw.includes('private-bit') || e.raw.includes('secret')));
    // Alice was allowed the private update: she gets patches, against exactly what she was sent.
    const alices = [await alice.next(), await alice.next(), await alice.next()];
    let data = alices[0]!.data;
    for (const e of alices.slice(1)) {
      const f = parseDeltaField(e.delta!)!;
      assert.notEqual(f.format, null);
      data = applyPatch(data, f.format!, e.data);
    }
    assert.equal(data, doc([0, 0], 3));
    bob.close();
    alice.close();
  });

  test('a gap (conflation skipped the previous update) restarts that topic from a full update', async (t) => {
    const hub = new Hub({ logger: null });
    const { base } = await start(t, hub);
    const slow = await read(`${base}/?topic=scores/1&delta=1&maxRate=5`);
    await hub.publish('scores/1', doc([0, 0], 1));
    assert.equal((await slow.next()).data, doc([0, 0], 1));
    await hub.publish('scores/1', doc([0, 0], 2)); // waits for the interval…
    await hub.publish('scores/1', doc([0, 0], 3)); // …and replaces the one waiting: 2 is never sent
    const next = await slow.next();
    assert.equal(next.data, doc([0, 0], 3));
    assert.equal(parseDeltaField(next.delta!)!.format, null, 'full: its previous update was not sent');
    slow.close();
  });

  test('updates that are not JSON still go as Fossil deltas, and those no patch makes smaller go in full', async (t) => {
    const hub = new Hub({ logger: null });
    const { base } = await start(t, hub);
    const s = await read(`${base}/?topic=log&delta=1`);
    const line = (n: number) => `line one of the log\nline two, which does not change\ncounter ${n}\n`;
    await hub.publish('log', line(1));
    await hub.publish('log', line(2));
    await hub.publish('log', 'x');
    const [a, b, c] = [await s.next(), await s.next(), await s.next()];
    assert.equal(parseDeltaField(a.delta!)!.format, null);
    assert.equal(parseDeltaField(b.delta!)!.format, 'f');
    assert.equal(applyPatch(a.data, 'f', b.data), line(2));
    assert.deepEqual([c.data, parseDeltaField(c.delta!)!.format], ['x', null]);
    s.close();
  });

  test('a bad delta parameter is a 400 that says what is accepted', async (t) => {
    const hub = new Hub({ logger: null });
    const { base } = await start(t, hub);
    const res = await fetch(`${base}/?topic=scores/1&delta=yes`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /delta must be 1 or 0/);
  });
});
