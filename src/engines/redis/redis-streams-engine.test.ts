import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { requireService } from '../../testing/services.test-helpers.js';
import { until } from '../../testing/wait.test-helpers.js';
import { engineContract } from '../contract.test-helpers.js';
import type { EngineFollower, StoredUpdate } from '../engine.js';
import { RedisStreamsEngine, type RedisStreamsEngineOptions } from './index.js';
import { redisAnswers } from './redis-server.test-helpers.js';

const URL_ = 'redis://127.0.0.1:6379';
const available = await redisAnswers(6379);
const HINT = 'start one with `redis-server --port 6379 --save "" --appendonly no`';

/** A key prefix no other test run uses; the hash tag keeps the keys in one slot. */
function uniquePrefix(): string {
  return `{crier-test-${randomUUID()}}:`;
}

/** Deletes every key under the prefix. */
async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(URL_);
  try {
    const keys = await redis.keys(`${prefix.replace(/[[\]*?\\]/g, '\\$&')}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

async function open(options: RedisStreamsEngineOptions): Promise<RedisStreamsEngine> {
  const engine = new RedisStreamsEngine({ url: URL_, ...options });
  await engine.ready;
  return engine;
}

if (available) {
  engineContract(
    'RedisStreamsEngine',
    async ({ history }) => {
      const keyPrefix = uniquePrefix();
      let engine = await open({ keyPrefix, history });
      return {
        engine,
        restart: async () => {
          await engine.close();
          engine = await open({ keyPrefix, history });
          return engine;
        },
        cleanup: () => deleteKeys(keyPrefix),
      };
    },
    { durable: true },
  );
} else {
  test('RedisStreamsEngine engine contract', (t) => {
    requireService(t, 'Redis on 127.0.0.1:6379', false, HINT);
  });
}

/** A follower that records what it sees. */
function recorder(): EngineFollower & { seen: StoredUpdate[]; resets: string[] } {
  const seen: StoredUpdate[] = [];
  const resets: string[] = [];
  return { seen, resets, update: (u) => seen.push(u), reset: (r) => resets.push(r) };
}

/** Runs `body` with engines on one fresh prefix; closes them and deletes the keys afterwards. */
async function withPrefix(
  body: (
    openOne: (options?: RedisStreamsEngineOptions) => Promise<RedisStreamsEngine>,
    prefix: string,
  ) => Promise<void>,
): Promise<void> {
  const keyPrefix = uniquePrefix();
  const engines: RedisStreamsEngine[] = [];
  try {
    await body(async (options = {}) => {
      const engine = await open({ keyPrefix, ...options });
      engines.push(engine);
      return engine;
    }, keyPrefix);
  } finally {
    for (const engine of engines) await engine.close();
    await deleteKeys(keyPrefix);
  }
}

describe('RedisStreamsEngine', () => {
  test('three engines on one Redis publishing concurrently: every follower sees the identical sequence', async (t) => {
    if (!requireService(t, 'Redis on 127.0.0.1:6379', available, HINT)) return;
    await withPrefix(async (openOne) => {
      const engines = [await openOne(), await openOne(), await openOne()];
      const followers = engines.map((engine) => {
        const follower = recorder();
        engine.follow(follower);
        return follower;
      });
      const perEngine = 200;
      const published = (
        await Promise.all(
          engines.map(async (engine, n) => {
            const mine: StoredUpdate[] = [];
            for (let i = 0; i < perEngine; i += 10) {
              // Ten at a time from each engine, the three engines interleaving.
              const batch = await Promise.all(
                Array.from({ length: 10 }, (_, j) =>
                  engine.publish({
                    topics: [`node-${n}`],
                    data: `${n}:${i + j}`,
                    id: j === 0 ? `n${n}-${i}` : undefined,
                  }),
                ),
              );
              mine.push(...batch);
            }
            return mine;
          }),
        )
      )
        .flat()
        .sort((a, b) => a.offset - b.offset);
      assert.equal(published.length, 3 * perEngine);
      const first = published[0]!.offset;
      assert.deepEqual(
        published.map((u) => u.offset),
        published.map((_, i) => first + i),
        'offsets are consecutive across the three engines',
      );
      for (const follower of followers) {
        await until('every update on every follower', () => follower.seen.length >= published.length);
        assert.deepEqual(follower.seen, published);
        assert.deepEqual(follower.resets, []);
      }
      // Each engine publishes in its own call order.
      for (let n = 0; n < 3; n++) {
        const mine = published.filter((u) => u.topics[0] === `node-${n}`).map((u) => u.data);
        assert.deepEqual(
          mine,
          Array.from({ length: perEngine }, (_, i) => `${n}:${i}`),
        );
      }
    });
  });

  test('an ID handed out by one engine resumes on another: same updates after it', async (t) => {
    if (!requireService(t, 'Redis on 127.0.0.1:6379', available, HINT)) return;
    await withPrefix(async (openOne) => {
      const a = await openOne();
      const b = await openOne();
      const fromA = await a.publish({ topics: ['t'], data: 'a' });
      const given = await b.publish({ topics: ['t'], data: 'b', id: 'given-on-b' });
      const later = await a.publish({ topics: ['t'], data: 'c' });
      const onB = await b.readAfter(fromA.id);
      assert.equal(onB.status, 'ok');
      assert.deepEqual(onB.status === 'ok' ? onB.updates : [], [given, later]);
      const onA = await a.readAfter('given-on-b');
      assert.deepEqual(onA.status === 'ok' ? onA.updates : [], [later]);
      assert.deepEqual(await a.position(), await b.position());
    });
  });

  test('a generated ID of another epoch is expired; an unknown one is unknown; one for a publisher-ID offset is unknown', async (t) => {
    if (!requireService(t, 'Redis on 127.0.0.1:6379', available, HINT)) return;
    await withPrefix(async (openOne) => {
      const engine = await openOne();
      const u = await engine.publish({ topics: ['t'], data: '1', id: 'mine' });
      assert.equal((await engine.readAfter('zzzzzzzz-1')).status, 'expired');
      assert.equal((await engine.readAfter(`${u.epoch}-${u.offset}`)).status, 'unknown');
      assert.equal((await engine.readAfter(`${u.epoch}-${u.offset + 5}`)).status, 'unknown');
      assert.equal((await engine.readAfter('mine')).status, 'ok');
    });
  });

  test('keys deleted under a running engine (FLUSHALL): a new epoch, followers are reset, old IDs expired', async (t) => {
    if (!requireService(t, 'Redis on 127.0.0.1:6379', available, HINT)) return;
    await withPrefix(async (openOne, prefix) => {
      const engine = await openOne({ blockMs: 100 });
      const follower = recorder();
      engine.follow(follower);
      const old = [];
      for (let i = 0; i < 5; i++) old.push(await engine.publish({ topics: ['t'], data: `${i}` }));
      await until('the old updates', () => follower.seen.length === 5);
      await deleteKeys(prefix);
      // The idle follower notices within blockMs and a new epoch begins.
      await until('a reset', () => follower.resets.length > 0);
      const fresh = await engine.publish({ topics: ['t'], data: 'new' });
      assert.notEqual(fresh.epoch, old[0]!.epoch);
      assert.equal(fresh.offset, 1);
      assert.equal((await engine.readAfter(old[2]!.id)).status, 'expired');
      await until('the update of the new epoch', () => follower.seen.at(-1)?.data === 'new');
      assert.deepEqual(follower.seen.at(-1), fresh);
    });
  });

  test('keys deleted while the follower is busy: the next entry carries the new epoch and followers are reset', async (t) => {
    if (!requireService(t, 'Redis on 127.0.0.1:6379', available, HINT)) return;
    await withPrefix(async (openOne, prefix) => {
      // A long block: the follower can only notice through the entries themselves.
      const a = await openOne({ blockMs: 60_000 });
      const b = await openOne({ blockMs: 60_000 });
      const follower = recorder();
      a.follow(follower);
      for (let i = 0; i < 3; i++) await a.publish({ topics: ['t'], data: `${i}` });
      await until('the old updates', () => follower.seen.length === 3);
      await deleteKeys(prefix);
      // b knows nothing of the old log: it starts the new epoch at offset 1, below the follower's position.
      const published: StoredUpdate[] = [];
      for (let i = 0; i < 5; i++) published.push(await b.publish({ topics: ['t'], data: `new ${i}` }));
      await until('the new epoch', () => follower.seen.length >= 3 + 5);
      assert.equal(follower.resets.length, 1);
      assert.deepEqual(follower.seen.slice(3), published);
    });
  });

  test('a Redis that does not exist: publish rejects with ENGINE_UNAVAILABLE within the timeout, health not ready', async () => {
    const engine = new RedisStreamsEngine({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 300 });
    try {
      await assert.rejects(engine.publish({ topics: ['t'], data: 'x' }), { code: 'ENGINE_UNAVAILABLE' });
      await assert.rejects(engine.readAfter('x'), { code: 'ENGINE_UNAVAILABLE' });
      const health = await engine.health();
      assert.equal(health.ready, false);
      assert.match(health.detail ?? '', /127\.0\.0\.1:1/);
    } finally {
      await engine.close();
    }
    await assert.rejects(engine.ready, { code: 'ENGINE_CLOSED' });
  });

  test('a follower that throws does not keep the others from getting every update', async (t) => {
    if (!requireService(t, 'Redis on 127.0.0.1:6379', available, HINT)) return;
    await withPrefix(async (openOne) => {
      const engine = await openOne();
      engine.follow({
        update: () => {
          throw new Error('a broken follower');
        },
        reset: () => {},
      });
      const follower = recorder();
      engine.follow(follower);
      const published: StoredUpdate[] = [];
      for (let i = 0; i < 3; i++) published.push(await engine.publish({ topics: ['t'], data: `${i}` }));
      await until('the updates', () => follower.seen.length === 3);
      assert.deepEqual(follower.seen, published);
      assert.deepEqual(follower.resets, []);
    });
  });

  test('a large backlog past the age bound is trimmed over several publishes; reads apply the bound at once', async (t) => {
    if (!requireService(t, 'Redis on 127.0.0.1:6379', available, HINT)) return;
    await withPrefix(async (openOne, prefix) => {
      let now = Date.now();
      const engine = await openOne({ history: { maxAgeMs: 60_000, now: () => now } });
      const old: StoredUpdate[] = [];
      for (let i = 0; i < 5000; i += 250) {
        const batch = Array.from({ length: 250 }, (_, j) =>
          engine.publish({ topics: ['t'], data: `${i + j}` }),
        );
        old.push(...(await Promise.all(batch)));
      }
      now += 120_000;
      const fresh = await engine.publish({ topics: ['t'], data: 'fresh' });
      const admin = new Redis(URL_);
      try {
        const first = async () => Number(await admin.hget(`${prefix}log`, 'first'));
        // One publish looked at no more than 2,048 updates: the old ones are not all trimmed yet...
        assert.ok((await first()) <= 2049, `first is ${await first()}`);
        // ...but no read returns them.
        assert.equal((await engine.readAfter(old[4000]!.id)).status, 'expired');
        const all = await engine.readAll();
        assert.deepEqual(all.updates, [fresh]);
        // Later publishes finish the job.
        for (let i = 0; i < 3; i++) await engine.publish({ topics: ['t'], data: `later ${i}` });
        assert.equal(await first(), fresh.offset);
        assert.ok((await admin.xlen(`${prefix}stream`)) < 200, 'the stream itself was trimmed');
      } finally {
        admin.disconnect();
      }
    });
  });

  test('rejects IDs with CR, LF or NUL and empty IDs, storing nothing', async (t) => {
    if (!requireService(t, 'Redis on 127.0.0.1:6379', available, HINT)) return;
    await withPrefix(async (openOne) => {
      const engine = await openOne();
      const before = await engine.position();
      for (const id of ['', 'a\nb', 'a\rb', 'a\0b']) {
        await assert.rejects(engine.publish({ topics: ['t'], data: 'x', id }), { code: 'INVALID_UPDATE' });
      }
      assert.deepEqual(await engine.position(), before);
    });
  });
});
