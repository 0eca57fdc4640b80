/**
 * The NATS engine against a NATS server that dies, restarts and pauses: a private nats-server per test
 * (its own port and store directory), never the shared one on 4222. Every test is bounded in time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireService } from '../../testing/services.test-helpers.js';
import { until as waitUntil } from '../../testing/wait.test-helpers.js';
import type { EngineFollower, StoredUpdate } from '../engine.js';
import { EngineError } from '../errors.js';
import { NatsJetStreamEngine } from './index.js';
import {
  deleteStreams,
  natsAnswers,
  natsServerInstalled,
  TestNatsServer,
  uniqueStream,
} from './nats-server.test-helpers.js';

const HINT = 'install it (Debian: `apt-get install nats-server`)';
const TIMEOUT = 60_000;

function recorder(): EngineFollower & { seen: StoredUpdate[]; resets: string[] } {
  const seen: StoredUpdate[] = [];
  const resets: string[] = [];
  return { seen, resets, update: (u) => seen.push(u), reset: (r) => resets.push(r) };
}

/** Waits as the shared `until` does, with this file's timeout. */
const until = (what: string, done: () => boolean | Promise<boolean>, timeoutMs = 20_000) =>
  waitUntil(what, done, timeoutMs);

/** What a follower must have seen: consecutive offsets, each acked update exactly as acked, in order. */
function assertGapless(seen: readonly StoredUpdate[], acked: readonly StoredUpdate[]): void {
  const offsets = seen.map((u) => u.offset);
  assert.deepEqual(
    offsets,
    offsets.map((_, i) => offsets[0]! + i),
    'consecutive offsets, no duplicate',
  );
  const byOffset = new Map(seen.map((u) => [u.offset, u]));
  for (const u of acked)
    assert.deepEqual(byOffset.get(u.offset), u, `acked update ${u.offset} seen as acked`);
}

describe('NatsJetStreamEngine with several engines on one stream', () => {
  test('six engines starting at once on a stream that does not exist yet all become ready on one stream', {
    timeout: TIMEOUT,
  }, async (t) => {
    if (!requireService(t, 'NATS with JetStream on 127.0.0.1:4222', await natsAnswers(4222), HINT)) return;
    for (let round = 0; round < 3; round++) {
      const names = uniqueStream();
      const engines = Array.from(
        { length: 6 },
        () => new NatsJetStreamEngine({ servers: '127.0.0.1:4222', ...names }),
      );
      try {
        // Their stream creations race; the server may answer the losers "subjects overlap".
        await Promise.all(engines.map((e) => e.ready));
        const stored = await engines[0]!.publish({ topics: ['t'], data: 'one log' });
        for (const e of engines) {
          const read = await e.readAll();
          assert.deepEqual(read.updates, [stored]);
        }
      } finally {
        await Promise.all(engines.map((e) => e.close()));
        await deleteStreams('127.0.0.1:4222', names.stream);
      }
    }
  });

  test('three engines publishing concurrently: every follower sees the identical sequence', {
    timeout: TIMEOUT,
  }, async (t) => {
    if (!requireService(t, 'NATS with JetStream on 127.0.0.1:4222', await natsAnswers(4222), HINT)) return;
    const names = uniqueStream();
    const engines = [0, 1, 2].map(() => new NatsJetStreamEngine({ servers: '127.0.0.1:4222', ...names }));
    try {
      await Promise.all(engines.map((e) => e.ready));
      const followers = engines.map((e) => {
        const r = recorder();
        e.follow(r);
        return r;
      });
      const acked = (
        await Promise.all(
          engines.map(async (e, n) => {
            const mine: StoredUpdate[] = [];
            for (let i = 0; i < 20; i++) {
              const batch = await Promise.all(
                Array.from({ length: 5 }, (_, j) =>
                  e.publish({
                    topics: [`t${j}`],
                    data: `${n}:${i}:${j}`,
                    id: j === 0 ? `n${n}-${i}` : undefined,
                  }),
                ),
              );
              mine.push(...batch);
            }
            return mine;
          }),
        )
      ).flat();
      assert.equal(acked.length, 300);
      await until('every follower to see 300 updates', () => followers.every((f) => f.seen.length >= 300));
      const expected = [...acked].sort((a, b) => a.offset - b.offset);
      for (const f of followers) {
        assert.deepEqual(f.seen, expected);
        assert.deepEqual(f.resets, []);
      }
      assertGapless(followers[0]!.seen, acked);
      // Any engine replays what another published.
      const read = await engines[2]!.readAfter(expected[99]!.id);
      assert.equal(read.status, 'ok');
      if (read.status === 'ok') assert.deepEqual(read.updates, expected.slice(100));
    } finally {
      await Promise.all(engines.map((e) => e.close()));
      await deleteStreams('127.0.0.1:4222', names.stream);
    }
  });
});

describe('NatsJetStreamEngine when the NATS server fails', () => {
  test('SIGKILL and restart on the same store: the follower resumes with no gap and no duplicate; publishes meanwhile reject', {
    timeout: TIMEOUT,
  }, async (t) => {
    if (!requireService(t, 'nats-server', natsServerInstalled, HINT)) return;
    const server = await TestNatsServer.start();
    const names = uniqueStream();
    const engine = new NatsJetStreamEngine({ servers: server.url, ...names, requestTimeoutMs: 1000 });
    const other = new NatsJetStreamEngine({ servers: server.url, ...names, requestTimeoutMs: 1000 });
    try {
      await Promise.all([engine.ready, other.ready]);
      const follower = recorder();
      engine.follow(follower);
      const acked: StoredUpdate[] = [];
      for (let i = 0; i < 20; i++) acked.push(await other.publish({ topics: ['t'], data: `before ${i}` }));
      await until('the updates before the kill', () => follower.seen.length === 20);

      await server.kill();
      await until('the engine to notice', async () => !(await engine.health()).ready);
      const started = Date.now();
      await assert.rejects(other.publish({ topics: ['t'], data: 'during' }), (error) => {
        assert.ok(error instanceof EngineError);
        assert.equal(error.code, 'ENGINE_UNAVAILABLE');
        return true;
      });
      assert.ok(Date.now() - started < 5000, 'rejected within a bounded time');

      await server.restart();
      await until('a publish to go through again', async () => {
        try {
          acked.push(await other.publish({ topics: ['t'], data: 'after 0' }));
          return true;
        } catch {
          return false;
        }
      });
      for (let i = 1; i < 20; i++) acked.push(await other.publish({ topics: ['t'], data: `after ${i}` }));
      await until('the updates after the restart', () => follower.seen.length >= 40);
      assert.deepEqual(follower.seen, acked);
      assertGapless(follower.seen, acked);
      assert.deepEqual(follower.resets, []);
      assert.equal((await engine.health()).ready, true);
      // History survived: the first ID replays everything after it.
      const read = await engine.readAfter(acked[0]!.id);
      assert.equal(read.status, 'ok');
      if (read.status === 'ok') assert.deepEqual(read.updates, acked.slice(1));
    } finally {
      await engine.close();
      await other.close();
      await server.stop();
    }
  });

  test('a steady publisher across a SIGKILL and restart: followers see every acked update once, in order', {
    timeout: TIMEOUT,
  }, async (t) => {
    if (!requireService(t, 'nats-server', natsServerInstalled, HINT)) return;
    const server = await TestNatsServer.start();
    const names = uniqueStream();
    const engines = [0, 1].map(
      () => new NatsJetStreamEngine({ servers: server.url, ...names, requestTimeoutMs: 1000 }),
    );
    try {
      await Promise.all(engines.map((e) => e.ready));
      const followers = engines.map((e) => {
        const r = recorder();
        e.follow(r);
        return r;
      });
      const acked: StoredUpdate[] = [];
      const rejected: string[] = [];
      let stop = false;
      const publishing = (async () => {
        for (let i = 0; !stop; i++) {
          const data = `${i}`;
          try {
            acked.push(await engines[i % 2]!.publish({ topics: ['t'], data }));
          } catch (error) {
            assert.equal((error as EngineError).code, 'ENGINE_UNAVAILABLE');
            rejected.push(data);
            await sleep(20);
          }
          await sleep(2);
        }
      })();
      await until('some updates', () => acked.length >= 30);
      await server.kill();
      await until('a publish to reject', () => rejected.length > 0);
      await server.restart();
      const resumedAt = acked.length;
      await until('publishes after the restart', () => acked.length >= resumedAt + 30);
      stop = true;
      await publishing;
      assert.ok(rejected.length > 0, 'publishes during the downtime rejected');
      const newest = Math.max(...acked.map((u) => u.offset));
      await until('the followers to catch up', () =>
        followers.every((f) => f.seen.at(-1)?.offset === newest),
      );
      for (const f of followers) {
        assertGapless(f.seen, acked);
        // Anything seen that was not acked is a publish that was in flight when the server died.
        const ackedOffsets = new Set(acked.map((u) => u.offset));
        for (const u of f.seen) if (!ackedOffsets.has(u.offset)) assert.ok(rejected.includes(u.data));
        assert.deepEqual(f.resets, []);
      }
      assert.deepEqual(followers[0]!.seen, followers[1]!.seen);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
      await server.stop();
    }
  });

  test('SIGSTOP: publishes reject within a bounded time saying they may have been stored, health says not ready; after SIGCONT all recovers', {
    timeout: TIMEOUT,
  }, async (t) => {
    if (!requireService(t, 'nats-server', natsServerInstalled, HINT)) return;
    const server = await TestNatsServer.start();
    const names = uniqueStream();
    const engine = new NatsJetStreamEngine({ servers: server.url, ...names, requestTimeoutMs: 1000 });
    try {
      await engine.ready;
      const follower = recorder();
      engine.follow(follower);
      const acked: StoredUpdate[] = [];
      for (let i = 0; i < 5; i++) acked.push(await engine.publish({ topics: ['t'], data: `${i}` }));
      await until('the first updates', () => follower.seen.length === 5);

      server.pause();
      const rejected: string[] = [];
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        // Sent but not acknowledged: NATS may store it on SIGCONT, and the error says so.
        await assert.rejects(engine.publish({ topics: ['t'], data: `paused ${i}` }), {
          code: 'ENGINE_UNAVAILABLE',
          mayBeStored: true,
        });
        rejected.push(`paused ${i}`);
        assert.ok(Date.now() - started < 3000, 'rejected within a bounded time');
      }
      assert.equal((await engine.health()).ready, false);

      server.resume();
      await until('a publish to go through again', async () => {
        try {
          acked.push(await engine.publish({ topics: ['t'], data: 'resumed' }));
          return true;
        } catch {
          return false;
        }
      });
      await until('health to be ready', async () => (await engine.health()).ready);
      const newest = acked.at(-1)!.offset;
      await until('the follower to catch up', () => follower.seen.at(-1)?.offset === newest);
      assertGapless(follower.seen, acked);
      for (const u of follower.seen)
        if (!acked.some((a) => a.offset === u.offset)) assert.ok(rejected.includes(u.data));
      assert.deepEqual(follower.resets, []);
    } finally {
      server.resume();
      await engine.close();
      await server.stop();
    }
  });

  test('no NATS at all: publish and readAfter reject with ENGINE_UNAVAILABLE within a bounded time, health is not ready', {
    timeout: TIMEOUT,
  }, async (t) => {
    if (!requireService(t, 'nats-server', natsServerInstalled, HINT)) return;
    const server = await TestNatsServer.start();
    await server.kill(); // a port where nothing listens now
    const engine = new NatsJetStreamEngine({ servers: server.url, ...uniqueStream(), requestTimeoutMs: 500 });
    try {
      const started = Date.now();
      await assert.rejects(engine.publish({ topics: ['t'], data: 'x' }), { code: 'ENGINE_UNAVAILABLE' });
      await assert.rejects(engine.readAfter('x'), { code: 'ENGINE_UNAVAILABLE' });
      assert.ok(Date.now() - started < 5000, 'rejected within a bounded time');
      const health = await engine.health();
      assert.equal(health.ready, false);
      assert.match(health.detail ?? '', /unavailable/);
    } finally {
      await engine.close();
      await server.stop();
    }
  });

  test('a stream deleted and recreated is a new epoch: followers are reset and old IDs expire', {
    timeout: TIMEOUT,
  }, async (t) => {
    if (!requireService(t, 'nats-server', natsServerInstalled, HINT)) return;
    const server = await TestNatsServer.start();
    const names = uniqueStream();
    const engine = new NatsJetStreamEngine({ servers: server.url, ...names, epochCheckMs: 200 });
    try {
      await engine.ready;
      const follower = recorder();
      engine.follow(follower);
      const old = await engine.publish({ topics: ['t'], data: 'old' });
      await until('the old update', () => follower.seen.length === 1);
      await deleteStreams(server.url, names.stream);
      await until('a publish in a new epoch', async () => {
        try {
          return (await engine.publish({ topics: ['t'], data: 'probe' })).epoch !== old.epoch;
        } catch {
          return false;
        }
      });
      await until('the follower to be reset', () => follower.resets.length > 0);
      const fresh = await engine.publish({ topics: ['t'], data: 'new' });
      assert.notEqual(fresh.epoch, old.epoch);
      assert.equal((await engine.readAfter(old.id)).status, 'expired');
      await until('the follower to see the new epoch', () =>
        follower.seen.some((u) => u.offset === fresh.offset && u.epoch === fresh.epoch),
      );
    } finally {
      await engine.close();
      await server.stop();
    }
  });
});
