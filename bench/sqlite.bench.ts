/**
 * Micro-benchmark of the SQLite engine: `node --import tsx bench/sqlite.bench.ts [--million]`.
 *
 * - publishes/s into a file with the default bounds (10,000 updates kept, so batched deletes are
 *   included), with `synchronous` NORMAL (the default) and FULL, one follower attached;
 * - readAfter of the last 100 updates (what a reconnecting subscriber 100 events behind costs), served
 *   from the in-memory recent cache (the default) and from the file (`recentCount: 1`);
 * - with `--million`: the file size after one million updates (~100-byte JSON payloads, one topic,
 *   generated IDs) kept with `maxCount: 1_000_000`, checkpointed, i.e. disk use per million events.
 *
 * Single-threaded, bounded (a fixed number of operations), temp files removed afterwards.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredUpdate } from '../src/engines/engine.js';
import { SqliteEngine, type SqliteEngineOptions } from '../src/engines/sqlite/index.js';

const PUBLISHES = 50_000;
const READS = 2_000;

function payload(i: number): string {
  return JSON.stringify({
    symbol: `SYM${i % 100}`,
    price: 100 + (i % 1000) / 100,
    volume: i * 7,
    at: 1_700_000_000 + i,
  });
}

async function publishRate(dir: string, synchronous: SqliteEngineOptions['synchronous']): Promise<void> {
  const engine = new SqliteEngine({ path: join(dir, `rate-${synchronous}.db`), synchronous });
  let delivered = 0;
  engine.follow({ update: () => delivered++, reset: () => {} });
  const count = synchronous === 'full' ? PUBLISHES / 10 : PUBLISHES;
  for (const together of [1, 100]) {
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    for (let i = 0; i < count; i += together) {
      const batch: Promise<StoredUpdate>[] = [];
      for (let j = i; j < i + together; j++) {
        batch.push(
          engine.publish({ topics: [`https://example.com/ticker/SYM${j % 100}`], data: payload(j) }),
        );
      }
      await Promise.all(batch);
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    console.log(
      `publish (synchronous=${synchronous}, ${together} at a time): ${count} in ${seconds.toFixed(2)} s = ${Math.round(
        count / seconds,
      )}/s wall; CPU ${(((used.user + used.system) / count) * 1).toFixed(1)} µs each (user ${(
        used.user / count
      ).toFixed(1)}, system ${(used.system / count).toFixed(1)}); ${engine.stored().updates} rows kept`,
    );
  }
  console.log(`  delivered to the follower: ${delivered}`);
  await engine.close();
}

async function readRate(dir: string, recentCount: number | undefined): Promise<void> {
  const engine = new SqliteEngine({ path: join(dir, `read-${recentCount}.db`), recentCount });
  const published: StoredUpdate[] = [];
  for (let i = 0; i < 10_000; i++) {
    published.push(
      await engine.publish({ topics: [`https://example.com/ticker/SYM${i % 100}`], data: payload(i) }),
    );
  }
  const id = published[published.length - 101]!.id;
  const start = process.hrtime.bigint();
  let n = 0;
  for (let i = 0; i < READS; i++) {
    const read = await engine.readAfter(id);
    if (read.status === 'ok') n += read.updates.length;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `readAfter of 100 updates (of 10,000 kept, ${recentCount === undefined ? 'from the recent cache' : 'from the file'}): ${READS} reads in ${seconds.toFixed(2)} s = ${Math.round(
      READS / seconds,
    )}/s, ${((seconds / READS) * 1e6).toFixed(0)} µs each (${n / READS} updates per read)`,
  );
  await engine.close();
}

async function diskPerMillion(dir: string): Promise<void> {
  const path = join(dir, 'million.db');
  const engine = new SqliteEngine({ path, history: { maxCount: 1_000_000, maxBytes: 1024 ** 3 } });
  const start = process.hrtime.bigint();
  let dataBytes = 0;
  // 100 at a time (as a busy hub's group commit would), which fills pages as one at a time does.
  for (let i = 0; i < 1_000_000; i += 100) {
    const batch: Promise<StoredUpdate>[] = [];
    for (let j = i; j < i + 100; j++) {
      const data = payload(j);
      dataBytes += data.length;
      batch.push(engine.publish({ topics: [`https://example.com/ticker/SYM${j % 100}`], data }));
    }
    await Promise.all(batch);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const stored = engine.stored();
  await engine.close(); // closing checkpoints the WAL into the file and removes it
  const size = statSync(path).size;
  console.log(
    `1,000,000 updates (${Math.round(dataBytes / 1e6)} MB of data, avg ${Math.round(dataBytes / 1e6)} B each; ${
      stored.updates
    } kept) in ${seconds.toFixed(1)} s: file ${(size / 1024 ** 2).toFixed(1)} MiB = ${Math.round(size / 1e6)} B per update`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'crier-sqlite-bench-'));
try {
  console.log(`node ${process.version}, ${process.platform} ${process.arch}, temp dir ${dir}`);
  await publishRate(dir, 'normal');
  await publishRate(dir, 'full');
  await readRate(dir, undefined);
  await readRate(dir, 1);
  if (process.argv.includes('--million')) await diskPerMillion(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
