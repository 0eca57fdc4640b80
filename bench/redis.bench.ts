/**
 * Micro-benchmark of the Redis Streams engine: `node --import tsx bench/redis.bench.ts`.
 * It starts its own redis-server (no persistence) on a free port, so the figures are not mixed with
 * anything else using Redis, and stops it at the end.
 *
 * - publishes/s from one engine, one at a time and 100 in flight, one follower on another engine;
 * - fan-in: three engines publishing at once (100 in flight each), every follower checked to get all;
 * - publish → follower latency on another engine at a steady 1,000 publishes/s;
 * - Redis memory per million events kept: INFO memory `used_memory` before and after 100,000 updates
 *   (~56-byte JSON payloads, one topic, generated IDs, `maxCount: 1_000_000`), scaled ×10.
 *
 * Bounded: a fixed number of operations (about a minute on a busy 2-core machine).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { StoredUpdate } from '../src/engines/engine.js';
import { RedisStreamsEngine, type RedisStreamsEngineOptions } from '../src/engines/redis/index.js';
import { TestRedisServer } from '../src/engines/redis/redis-server.test-helpers.js';

const PUBLISHES = 20_000;

function payload(i: number): string {
  return JSON.stringify({
    symbol: `SYM${i % 100}`,
    price: 100 + (i % 1000) / 100,
    volume: i * 7,
    at: 1_700_000_000 + i,
  });
}

function update(i: number) {
  return { topics: [`https://example.com/ticker/SYM${i % 100}`], data: payload(i) };
}

async function publishMany(
  engine: RedisStreamsEngine,
  count: number,
  inFlight: number,
  from = 0,
): Promise<void> {
  let next = from;
  const end = from + count;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < end) await engine.publish(update(next++));
    }),
  );
}

async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('followers did not catch up in 60 s');
    await sleep(5);
  }
}

function rate(count: number, startNs: bigint): string {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  return `${count} in ${seconds.toFixed(2)} s = ${Math.round(count / seconds).toLocaleString('en')}/s`;
}

async function main(): Promise<void> {
  const server = await TestRedisServer.start();
  const engines: RedisStreamsEngine[] = [];
  const open = async (keyPrefix: string, options: RedisStreamsEngineOptions = {}) => {
    const engine = new RedisStreamsEngine({ url: server.url, keyPrefix, ...options });
    engines.push(engine);
    await engine.ready;
    return engine;
  };
  const admin = new Redis(server.url);
  try {
    console.log(
      `redis-server ${(await admin.info('server')).match(/redis_version:(\S+)/)?.[1]}, no persistence`,
    );

    // One engine publishing, a follower on another engine.
    const publisher = await open('{rate}:');
    const watcher = await open('{rate}:');
    let delivered = 0;
    watcher.follow({ update: () => delivered++, reset: () => {} });
    for (const inFlight of [1, 100]) {
      const count = inFlight === 1 ? PUBLISHES / 4 : PUBLISHES;
      const before = delivered;
      const start = process.hrtime.bigint();
      await publishMany(publisher, count, inFlight);
      const published = rate(count, start);
      await until(() => delivered - before >= count);
      console.log(
        `one engine, ${inFlight} in flight: ${published} published; follower got all ${rate(count, start)}`,
      );
    }

    const stats = await admin.info('commandstats');
    const evalsha = stats.match(/cmdstat_evalsha:calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/);
    console.log(
      `Redis CPU per script call (publish, INFO commandstats): ${evalsha?.[2]} µs over ${evalsha?.[1]} calls`,
    );

    // Fan-in: three engines publishing at once; each follows.
    const three = [await open('{fanin}:'), await open('{fanin}:'), await open('{fanin}:')];
    const seen = [0, 0, 0];
    for (const [n, engine] of three.entries()) {
      engine.follow({ update: () => seen[n]!++, reset: () => {} });
    }
    const start = process.hrtime.bigint();
    await Promise.all(three.map((engine, n) => publishMany(engine, PUBLISHES / 3, 100, n * PUBLISHES)));
    const total = 3 * Math.floor(PUBLISHES / 3);
    const published = rate(total, start);
    await until(() => seen.every((s) => s >= total));
    console.log(
      `fan-in, 3 engines × 100 in flight: ${published} published; all 3 followers got all ${rate(total, start)}`,
    );

    // Latency publish → follower on another engine at a steady rate.
    const latencies: number[] = [];
    const sentAt = new Map<string, number>();
    const far = await open('{latency}:');
    const near = await open('{latency}:');
    far.follow({
      update: (u: StoredUpdate) => {
        const t = sentAt.get(u.data);
        if (t !== undefined) latencies.push(performance.now() - t);
      },
      reset: () => {},
    });
    const steady = 3000;
    for (let i = 0; i < steady; i++) {
      const data = `latency ${i}`;
      sentAt.set(data, performance.now());
      void near.publish({ topics: ['t'], data });
      if (i % 10 === 9) await sleep(10); // ~1,000/s
    }
    await until(() => latencies.length >= steady);
    latencies.sort((a, b) => a - b);
    const q = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
    console.log(
      `publish → follower on another engine at ~1,000/s: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`,
    );

    // Memory per million events kept.
    await admin.flushall();
    const used = async () => Number((await admin.info('memory')).match(/used_memory:(\d+)/)?.[1]);
    const mem = await open('{memory}:', { history: { maxCount: 1_000_000, maxAgeMs: 24 * 3600_000 } });
    const base = await used();
    const kept = 100_000;
    await publishMany(mem, kept, 200);
    const after = await used();
    const streamBytes = Number(await admin.call('MEMORY', 'USAGE', '{memory}:stream', 'SAMPLES', '0'));
    const perEvent = (after - base) / kept;
    console.log(
      `memory: ${kept.toLocaleString('en')} updates (~${payload(0).length}-byte data, 1 topic) kept: used_memory +${((after - base) / 2 ** 20).toFixed(1)} MiB ` +
        `(${perEvent.toFixed(0)} B/update; stream key ${(streamBytes / 2 ** 20).toFixed(1)} MiB) → ${((perEvent * 1e6) / 2 ** 20).toFixed(0)} MiB per million`,
    );
    const withIds = await open('{memory-ids}:', {
      history: { maxCount: 1_000_000, maxAgeMs: 24 * 3600_000 },
    });
    const base2 = await used();
    let n = 0;
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        while (n < kept) {
          const i = n++;
          await withIds.publish({ ...update(i), id: `urn:uuid:${crypto.randomUUID()}` });
        }
      }),
    );
    const perEventIds = ((await used()) - base2) / kept;
    console.log(
      `memory with publisher IDs (urn:uuid, indexed): ${perEventIds.toFixed(0)} B/update → ${((perEventIds * 1e6) / 2 ** 20).toFixed(0)} MiB per million`,
    );
  } finally {
    for (const engine of engines) await engine.close();
    admin.disconnect();
    await server.stop();
  }
}

await main();
