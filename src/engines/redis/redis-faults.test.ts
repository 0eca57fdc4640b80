/**
 * RedisStreamsEngine when Redis fails: killed and restarted (with and without persistence), paused, its
 * connections cut. Each test runs its own redis-server on a free port (see redis-server.test-helpers.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { requireService } from '../../testing/services.test-helpers.js';
import { until as waitUntil } from '../../testing/wait.test-helpers.js';
import type { EngineFollower, StoredUpdate } from '../engine.js';
import { RedisStreamsEngine, type RedisStreamsEngineOptions } from './index.js';
import {
  redisServerInstalled,
  TestRedisServer,
  type TestRedisServerOptions,
} from './redis-server.test-helpers.js';

const HINT = 'install it (Debian: apt-get install redis-server)';
const TIMEOUT = { timeout: 60_000 };

function recorder(): EngineFollower & { seen: StoredUpdate[]; resets: string[] } {
  const seen: StoredUpdate[] = [];
  const resets: string[] = [];
  return { seen, resets, update: (u) => seen.push(u), reset: (r) => resets.push(r) };
}

/** Waits as the shared `until` does, with this file's timeout. */
const until = (what: string, done: () => boolean | Promise<boolean>, timeoutMs = 15_000) =>
  waitUntil(what, done, timeoutMs);

/** Runs `body` with a private Redis and engines on it; stops everything afterwards. */
async function withServer(
  serverOptions: TestRedisServerOptions,
  body: (
    server: TestRedisServer,
    open: (options?: RedisStreamsEngineOptions) => Promise<RedisStreamsEngine>,
  ) => Promise<void>,
): Promise<void> {
  const server = await TestRedisServer.start(serverOptions);
  const engines: RedisStreamsEngine[] = [];
  try {
    await body(server, async (options = {}) => {
      const engine = new RedisStreamsEngine({ url: server.url, keyPrefix: '{faults}:', ...options });
      engines.push(engine);
      await engine.ready;
      return engine;
    });
  } finally {
    for (const engine of engines) await engine.close();
    await server.stop();
  }
}

/** Publishes every `everyMs` until stopped, recording what was stored and what was refused. */
function steadyPublisher(engine: RedisStreamsEngine, everyMs: number) {
  const stored: StoredUpdate[] = [];
  const refused: { data: string; code: string; message: string }[] = [];
  let running = true;
  let n = 0;
  const done = (async () => {
    while (running) {
      const data = `u${n++}`;
      try {
        stored.push(await engine.publish({ topics: ['t'], data }));
      } catch (error) {
        const e = error as { code: string; message: string };
        refused.push({ data, code: e.code, message: e.message });
      }
      await sleep(everyMs);
    }
  })();
  return {
    stored,
    refused,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Offsets consecutive, one epoch, no duplicate. */
function assertGapless(seen: readonly StoredUpdate[]): void {
  const first = seen[0]!.offset;
  assert.deepEqual(
    seen.map((u) => u.offset),
    seen.map((_, i) => first + i),
    'consecutive offsets',
  );
  assert.equal(new Set(seen.map((u) => u.epoch)).size, 1, 'one epoch');
  assert.equal(new Set(seen.map((u) => u.data)).size, seen.length, 'no duplicate');
}

describe('RedisStreamsEngine when Redis fails', () => {
  test(
    'Redis killed and restarted with its data: publishes during the outage reject, followers resume with no gap and no duplicate',
    TIMEOUT,
    async (t) => {
      if (!requireService(t, 'redis-server', redisServerInstalled, HINT)) return;
      await withServer({ persistent: true }, async (server, open) => {
        const a = await open();
        const b = await open();
        const onA = recorder();
        const onB = recorder();
        a.follow(onA);
        b.follow(onB);
        const publisher = steadyPublisher(a, 5);
        await until('updates before the kill', () => onB.seen.length >= 20);
        await server.kill();
        await until('publishes refused during the outage', () => publisher.refused.length >= 3);
        assert.equal((await a.health()).ready, false);
        assert.equal((await b.health()).ready, false);
        await server.restart();
        const storedBefore = publisher.stored.length;
        await until('publishes after the restart', () => publisher.stored.length >= storedBefore + 20);
        await publisher.stop();
        const last = publisher.stored.at(-1)!;
        for (const follower of [onA, onB]) {
          await until('the followers to catch up', () => follower.seen.at(-1)?.offset === last.offset);
          assert.deepEqual(follower.resets, [], 'no reset: the log survived');
          assertGapless(follower.seen);
          // Everything stored was delivered; anything else delivered is a publish whose answer was lost with
          // the connection (stored by Redis just before it died): never one that Redis refused.
          const delivered = new Set(follower.seen.map((u) => u.data));
          for (const u of publisher.stored) assert.ok(delivered.has(u.data), `${u.data} delivered`);
          const ambiguous = new Set(
            publisher.refused.filter((r) => /connection .* lost/.test(r.message)).map((r) => r.data),
          );
          const stored = new Set(publisher.stored.map((u) => u.data));
          for (const u of follower.seen)
            assert.ok(stored.has(u.data) || ambiguous.has(u.data), `${u.data} was published`);
        }
        for (const r of publisher.refused) assert.equal(r.code, 'ENGINE_UNAVAILABLE');
        assert.equal((await a.health()).ready, true);
        // History survived too: the first ID still replays everything after it.
        const read = await b.readAfter(onB.seen[0]!.id);
        assert.equal(read.status, 'ok');
        assert.deepEqual(read.status === 'ok' ? read.updates : [], onB.seen.slice(1));
      });
    },
  );

  test(
    'Redis restarted without persistence: a new epoch, followers are reset, old IDs answer expired',
    TIMEOUT,
    async (t) => {
      if (!requireService(t, 'redis-server', redisServerInstalled, HINT)) return;
      await withServer({ persistent: false }, async (server, open) => {
        const engine = await open();
        const follower = recorder();
        engine.follow(follower);
        const before: StoredUpdate[] = [];
        for (let i = 0; i < 5; i++) before.push(await engine.publish({ topics: ['t'], data: `before ${i}` }));
        await until('the updates before', () => follower.seen.length === 5);
        await server.kill();
        await assert.rejects(engine.publish({ topics: ['t'], data: 'lost' }), { code: 'ENGINE_UNAVAILABLE' });
        await server.restart();
        await until('a reset', () => follower.resets.length > 0);
        let after: StoredUpdate | undefined;
        await until('a publish to succeed', async () => {
          after = await engine.publish({ topics: ['t'], data: 'after' }).catch(() => undefined);
          return after !== undefined;
        });
        assert.notEqual(after!.epoch, before[0]!.epoch);
        assert.equal((await engine.readAfter(before[4]!.id)).status, 'expired');
        await until('the update after', () => follower.seen.at(-1)?.data === 'after');
        assert.deepEqual(follower.seen.at(-1), after);
        assert.equal(follower.resets.length, 1);
      });
    },
  );

  test(
    'Redis paused (SIGSTOP): publishes reject after the timeout instead of hanging, nothing refused is stored, all recovers on SIGCONT',
    TIMEOUT,
    async (t) => {
      if (!requireService(t, 'redis-server', redisServerInstalled, HINT)) return;
      await withServer({ persistent: false }, async (server, open) => {
        const engine = await open({ commandTimeoutMs: 300, blockMs: 200 });
        const follower = recorder();
        engine.follow(follower);
        const stored: StoredUpdate[] = [];
        for (let i = 0; i < 3; i++) stored.push(await engine.publish({ topics: ['t'], data: `${i}` }));
        server.pause();
        try {
          // A timeout is ambiguous (Redis may run it before its deadline): the error says so.
          await assert.rejects(engine.publish({ topics: ['t'], data: 'paused 1' }), {
            code: 'ENGINE_UNAVAILABLE',
            mayBeStored: true,
          });
          // While Redis does not answer, further publishes reject at once (never sent: certainly not stored).
          await assert.rejects(engine.publish({ topics: ['t'], data: 'paused 2' }), {
            code: 'ENGINE_UNAVAILABLE',
            mayBeStored: false,
          });
          assert.equal((await engine.health()).ready, false);
          await sleep(700); // past the refused publish's deadline
        } finally {
          server.resume();
        }
        await until('a publish to succeed', async () => {
          const u = await engine.publish({ topics: ['t'], data: 'resumed' }).catch(() => undefined);
          if (u !== undefined) stored.push(u);
          return u !== undefined;
        });
        await until('health', async () => (await engine.health()).ready);
        await until('the follower', () => follower.seen.at(-1)?.data === 'resumed');
        assert.deepEqual(follower.seen, stored, 'the refused publishes were not stored');
        assert.deepEqual(follower.resets, []);
      });
    },
  );

  test(
    'the follow connection cut (CLIENT KILL): it reconnects and resumes from its last offset, no reset',
    TIMEOUT,
    async (t) => {
      if (!requireService(t, 'redis-server', redisServerInstalled, HINT)) return;
      await withServer({ persistent: false }, async (server, open) => {
        const follows = await open();
        const publishes = await open();
        const follower = recorder();
        follows.follow(follower);
        const admin = new Redis(server.url);
        try {
          const publisher = steadyPublisher(publishes, 2);
          for (let cut = 0; cut < 3; cut++) {
            await until('some updates', () => follower.seen.length >= (cut + 1) * 20);
            await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
          }
          await until('more updates', () => publisher.stored.length >= 100);
          await publisher.stop();
          await until('the follower', () => follower.seen.at(-1)?.offset === publisher.stored.at(-1)?.offset);
          assertGapless(follower.seen);
          assert.deepEqual(follower.resets, []);
          // Every stored update was delivered once (cut connections also fail some publishes: never stored twice).
          const delivered = new Set(follower.seen.map((u) => u.data));
          for (const u of publisher.stored) assert.ok(delivered.has(u.data));
        } finally {
          admin.disconnect();
        }
      });
    },
  );
});
