/**
 * Micro-benchmark of the NATS JetStream engine: `node --import tsx bench/nats.bench.ts`.
 * Starts a private nats-server (JetStream, file storage, temp store dir) on a free port on 127.0.0.1.
 *
 * - publishes/s with one follower attached: one at a time, 100 in flight, and 100 in flight with
 *   publisher-given IDs (which also write the "seen" record);
 * - readAfter latency (p50/p99) for a subscriber 1, 10, 100 and 1,000 updates behind, of 10,000 kept;
 * - the stream's bytes per update for a ~100-byte JSON payload.
 *
 * Bounded: a fixed number of operations; the server and its store are removed afterwards.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { StoredUpdate } from '../src/engines/engine.js';
import { NatsJetStreamEngine } from '../src/engines/nats/index.js';
import { TestNatsServer, uniqueStream } from '../src/engines/nats/nats-server.test-helpers.js';

const PUBLISHES = 20_000;
const READS = 300;

function payload(i: number): string {
  return JSON.stringify({
    symbol: `SYM${i % 100}`,
    price: 100 + (i % 1000) / 100,
    volume: i * 7,
    at: 1_700_000_000 + i,
  });
}

async function publishRate(servers: string, together: number, withIds: boolean): Promise<void> {
  const engine = new NatsJetStreamEngine({ servers, ...uniqueStream() });
  await engine.ready;
  let delivered = 0;
  engine.follow({ update: () => delivered++, reset: () => {} });
  const count = together === 1 ? PUBLISHES / 4 : PUBLISHES;
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i += together) {
    const batch: Promise<StoredUpdate>[] = [];
    for (let j = i; j < i + together; j++) {
      const id = withIds ? `urn:uuid:bench-${j}` : undefined;
      batch.push(
        engine.publish({ topics: [`https://example.com/ticker/SYM${j % 100}`], data: payload(j), id }),
      );
    }
    await Promise.all(batch);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const deadline = Date.now() + 10_000;
  while (delivered < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  console.log(
    `publish (${together} in flight${withIds ? ', publisher IDs' : ''}): ${count} in ${seconds.toFixed(2)} s = ${Math.round(
      count / seconds,
    )}/s; client CPU ${((used.user + used.system) / count).toFixed(0)} µs each; delivered to the follower: ${delivered}`,
  );
  await engine.close();
}

async function readLatency(servers: string): Promise<void> {
  const names = uniqueStream();
  const engine = new NatsJetStreamEngine({ servers, ...names });
  await engine.ready;
  const published: StoredUpdate[] = [];
  for (let i = 0; i < 10_000; i += 100) {
    const batch: Promise<StoredUpdate>[] = [];
    for (let j = i; j < i + 100; j++)
      batch.push(engine.publish({ topics: [`https://example.com/ticker/SYM${j % 100}`], data: payload(j) }));
    published.push(...(await Promise.all(batch)));
  }
  published.sort((a, b) => a.offset - b.offset);
  for (const behind of [1, 10, 100, 1000]) {
    const id = published[published.length - 1 - behind]!.id;
    const reads = behind >= 1000 ? READS / 10 : READS;
    const times: number[] = [];
    for (let i = 0; i < reads; i++) {
      const start = process.hrtime.bigint();
      const read = await engine.readAfter(id);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (read.status !== 'ok' || read.updates.length !== behind) throw new Error(`bad read: ${read.status}`);
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2);
    console.log(
      `readAfter ${behind} behind (of 10,000 kept): ${reads} reads, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`,
    );
  }
  const position = await engine.position();
  const all = await engine.readAll();
  console.log(`readAll: ${all.updates.length} updates up to offset ${position.offset}`);
  const nc = await connect({ servers });
  const { state } = await (await jetstreamManager(nc)).streams.info(names.stream);
  await nc.close();
  const avg = all.updates.reduce((n, u) => n + u.data.length, 0) / all.updates.length;
  console.log(
    `stream: ${state.messages} updates in ${(state.bytes / 1024 ** 2).toFixed(2)} MiB = ${Math.round(state.bytes / state.messages)} B per update (payload ${Math.round(avg)} B)`,
  );
  await engine.close();
}

const server = await TestNatsServer.start();
try {
  console.log(
    `node ${process.version}, ${process.platform} ${process.arch}, nats-server on ${server.url}, store ${server.dir}`,
  );
  await publishRate(server.url, 1, false);
  await publishRate(server.url, 100, false);
  await publishRate(server.url, 100, true);
  await readLatency(server.url);
} finally {
  await server.stop();
}
