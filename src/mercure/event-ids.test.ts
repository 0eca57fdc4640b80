import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  natsServerInstalled,
  TestNatsServer,
  uniqueStream,
} from '../engines/nats/nats-server.test-helpers.js';
import { redisServerInstalled, TestRedisServer } from '../engines/redis/redis-server.test-helpers.js';
import { requireService } from '../testing/services.test-helpers.js';
import { loadConfig } from './config.js';
import { opaqueIds, sequenceIds } from './event-ids.js';
import { legacyToken, publish, SECRET, startHub, subscribe } from './hub.test-helpers.js';
import { MercureServer } from './server.js';

const KEY = 'an-ids-key-of-32-characters-long!';
const pub = await legacyToken({ publish: ['*'] });
const sub = await legacyToken({ subscribe: ['*'] });

async function publishMany(
  hub: MercureServer,
  n: number,
  extra: Array<[string, string]> = [],
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await publish(hub, [['topic', 'https://example.com/t'], ['data', `d${i}`], ...extra], pub);
    assert.equal(res.status, 200, res.body);
    ids.push(res.body);
  }
  return ids;
}

/** Subscribes resuming after `lastEventId` and reads `n` events. */
async function replay(
  t: Parameters<typeof subscribe>[0],
  hub: MercureServer,
  lastEventId: string,
  n: number,
) {
  const url = `${hub.url}?topic=${encodeURIComponent('https://example.com/t')}`;
  const s = await subscribe(t, url, { authorization: `Bearer ${sub}`, 'last-event-id': lastEventId });
  assert.equal(s.status, 200);
  const got = [];
  for (let i = 0; i < n; i++) got.push(await s.next());
  s.close();
  return got;
}

describe('--ids: the form of generated event IDs', () => {
  test('the default stays urn:uuid', async (t) => {
    const hub = await startHub(t);
    const [id] = await publishMany(hub, 1);
    assert.match(id!, /^urn:uuid:[0-9a-f-]{36}$/);
  });

  test('sequence IDs are #<epoch>-<offset> fragments, and a Last-Event-ID in that form replays without gap or duplicate', async (t) => {
    const hub = await startHub(t, ['--ids', 'sequence']);
    const ids = await publishMany(hub, 5);
    for (const id of ids) assert.match(id, /^#[0-9a-z]{8}-\d+$/);
    const got = await replay(t, hub, ids[1]!, 3);
    assert.deepEqual(
      got.map((e) => [e.lastEventId, e.data]),
      [2, 3, 4].map((i) => [ids[i], `d${i}`]),
    );
  });

  test('opaque IDs are 22 base64url characters that show neither order nor count, and replay like the others', async (t) => {
    const hub = await startHub(t, ['--ids', 'opaque', '--ids-key', KEY]);
    const ids = await publishMany(hub, 6);
    for (const id of ids) assert.match(id, /^#[A-Za-z0-9_-]{22}$/);
    assert.notDeepEqual([...ids].sort(), ids, 'sorted opaque IDs are not in publish order (1 chance in 720)');
    const got = await replay(t, hub, ids[2]!, 3);
    assert.deepEqual(
      got.map((e) => [e.lastEventId, e.data]),
      [3, 4, 5].map((i) => [ids[i], `d${i}`]),
    );
  });

  test('publisher-given IDs are kept as they are, and replay from one works, in every form', async (t) => {
    const hub = await startHub(t, ['--ids', 'opaque', '--ids-key', KEY]);
    const mine = await publish(
      hub,
      [
        ['topic', 'https://example.com/t'],
        ['data', 'x'],
        ['id', 'mine-1'],
      ],
      pub,
    );
    assert.equal(mine.body, 'mine-1');
    const ids = await publishMany(hub, 2);
    const got = await replay(t, hub, 'mine-1', 2);
    assert.deepEqual(
      got.map((e) => e.lastEventId),
      ids,
    );
  });

  test('a forged or foreign # ID is reported as a gap (unknown), never replayed from a wrong place', async (t) => {
    const hub = await startHub(t, ['--ids', 'opaque', '--ids-key', KEY]);
    const ids = await publishMany(hub, 2);
    const other = opaqueIds('another-key-of-enough-length').issue('abcdefgh-1');
    for (const forged of [other, '#AAAAAAAAAAAAAAAAAAAAAA', '#nonsense']) {
      const [notice] = await replay(t, hub, forged, 1);
      assert.equal(notice!.type, 'crier-replay-unavailable', forged);
      assert.deepEqual(JSON.parse(notice!.data), { lastEventId: forged, reason: 'unknown' });
    }
    assert.equal(ids.length, 2);
  });

  test('with a durable store, sequence and opaque IDs still resolve after a restart', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-ids-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const form of [
      ['--ids', 'sequence'],
      ['--ids', 'opaque', '--ids-key', KEY],
    ]) {
      const argv = [
        '--port',
        '0',
        '--jwt-key',
        SECRET,
        '--log-level',
        'silent',
        '--store',
        `sqlite:${join(dir, `${form[1]}.db`)}`,
        ...form,
      ];
      const first = await MercureServer.create(loadConfig({ argv }).config);
      await first.listen();
      const before = await publishMany(first, 3);
      await first.close();
      const second = await MercureServer.create(loadConfig({ argv }).config);
      await second.listen();
      t.after(() => second.close());
      const after = await publishMany(second, 2);
      assert.equal(new Set([...before, ...after]).size, 5, 'IDs are unique across the restart');
      const got = await replay(t, second, before[0]!, 4);
      assert.deepEqual(
        got.map((e) => e.lastEventId),
        [before[1], before[2], ...after],
      );
    }
  });

  for (const store of ['redis', 'nats'] as const) {
    test(`in a cluster over ${store === 'redis' ? 'Redis' : 'NATS'}, an ID one node issued replays from the same place on another node`, async (t) => {
      const installed = store === 'redis' ? redisServerInstalled : natsServerInstalled;
      if (!requireService(t, `${store}-server`, installed, `apt-get install ${store}-server`)) return;
      const server = store === 'redis' ? await TestRedisServer.start() : await TestNatsServer.start();
      t.after(() => server.stop());
      const where =
        store === 'redis'
          ? ['--store', server.url, '--redis-prefix', `{ids${Date.now()}}:`]
          : ['--store', `nats://${server.url}`, '--nats-stream', uniqueStream().stream];
      // The hubs close before the store's server stops, not after (their clients would write to a closed socket).
      const hubs: MercureServer[] = [];
      try {
        for (const form of [
          ['--ids', 'sequence'],
          ['--ids', 'opaque', '--ids-key', KEY],
        ]) {
          const a = await startHub(t, [...where, ...form]);
          const b = await startHub(t, [...where, ...form]);
          hubs.push(a, b);
          const ids = await publishMany(a, 4);
          for (const id of ids) assert.match(id, /^#/);
          const got = await replay(t, b, ids[0]!, 3);
          assert.deepEqual(
            got.map((e) => [e.lastEventId, e.data]),
            [1, 2, 3].map((i) => [ids[i], `d${i}`]),
          );
        }
      } finally {
        await Promise.all(hubs.map((hub) => hub.close()));
      }
    });
  }

  test('--ids opaque without a key of 16 characters is a configuration error naming --ids-key', () => {
    assert.throws(() => loadConfig({ argv: ['--ids', 'opaque'] }), /--ids-key/);
    assert.throws(() => loadConfig({ argv: ['--ids', 'opaque', '--ids-key', 'short'] }), /--ids-key/);
    assert.throws(() => loadConfig({ argv: ['--ids', 'counter'] }), /--ids/);
  });

  test('opaque IDs decode to the engine ID they encode, and nothing else decodes (property)', () => {
    const codec = opaqueIds(KEY);
    const epoch = fc.stringMatching(/^[0-9a-z]{8}$/);
    const run = fc.option(
      fc.integer({ min: 0, max: 36 ** 4 - 1 }).map((n) => n.toString(36)),
      { nil: undefined },
    );
    const offset = fc.oneof(
      fc.integer({ min: 1, max: 2 ** 40 - 1 }),
      fc.integer({ min: 2 ** 40, max: 2 ** 53 - 1 }),
    );
    fc.assert(
      fc.property(epoch, run, offset, (e, r, o) => {
        const id = `${e}${r === undefined ? '' : `.${r}`}-${o}`;
        const wire = codec.issue(id);
        assert.match(wire, /^#[A-Za-z0-9_-]+$/);
        if (o < 2 ** 40) assert.equal(wire.length, 23);
        assert.equal(codec.resolve(wire), id);
        assert.equal(sequenceIds.resolve(sequenceIds.issue(id)), id);
      }),
      { numRuns: 500 },
    );
  });
});
