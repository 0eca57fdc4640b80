/**
 * `--store`: the engine a hub node keeps its history in and shares with the other nodes.
 *
 * - `memory` (default): one process, history lost on restart.
 * - `sqlite:PATH`: one process, history survives a restart.
 * - `redis://[user:password@]host:port[/db]` (or `rediss://`): Redis Streams; every node with the same
 *   URL and `--redis-prefix` shares one log (docs/redis.md, docs/cluster.md).
 * - `nats://host:port[,host:port…]`: NATS JetStream; every node with the same servers and `--nats-stream`
 *   shares one log (docs/nats.md, docs/cluster.md).
 *
 * The engines for SQLite, Redis and NATS are loaded only when named, so a memory hub does not load their
 * drivers, which are optional peer dependencies; a missing one fails with `DRIVER_MISSING` naming the
 * package to install (src/engines/driver.ts).
 */
import type { Engine } from '../engines/engine.js';
import { MemoryEngine } from '../engines/memory/index.js';
import { formatDuration, type HubConfig } from './config.js';
import { HubError } from './errors.js';

/** The options `openStore` reads. */
export type StoreConfig = Pick<
  HubConfig,
  'store' | 'historySize' | 'historyBytes' | 'historyAge' | 'redisPrefix' | 'natsStream'
>;

/** What `--store` names, opened. Redis and NATS engines connect in the background; `/readyz` follows them. */
export async function openStore(config: StoreConfig): Promise<Engine> {
  const history = {
    maxCount: config.historySize,
    maxBytes: config.historyBytes,
    maxAgeMs: config.historyAge,
  };
  const store = config.store;
  if (store === 'memory') return new MemoryEngine({ history });
  if (store.startsWith('sqlite:')) {
    const { SqliteEngine } = await import('../engines/sqlite/index.js');
    return new SqliteEngine({ path: store.slice('sqlite:'.length), history });
  }
  if (/^rediss?:\/\//.test(store)) {
    const { RedisStreamsEngine } = await import('../engines/redis/index.js');
    return new RedisStreamsEngine({ url: store, keyPrefix: config.redisPrefix, history });
  }
  if (store.startsWith('nats://')) {
    const { NatsJetStreamEngine } = await import('../engines/nats/index.js');
    return new NatsJetStreamEngine({
      servers: natsServers(store),
      stream: config.natsStream,
      // Two streams may not share subjects, so each stream name gets its own subject prefix.
      subjectPrefix: config.natsStream === 'CRIER' ? 'crier' : config.natsStream,
      history,
    });
  }
  throw new HubError(
    'UNAVAILABLE',
    `--store ${store}: unknown store; use memory, sqlite:PATH, redis://HOST:PORT[/DB] or nats://HOST:PORT.`,
  );
}

/** `nats://a:4222,b:4222` → `['a:4222', 'b:4222']` (a comma-separated list of seed servers). */
export function natsServers(store: string): string[] {
  return store
    .slice('nats://'.length)
    .split(',')
    .map((s) =>
      s
        .trim()
        .replace(/^nats:\/\//, '')
        .replace(/\/+$/, ''),
    )
    .filter((s) => s !== '');
}

/**
 * Waits for the store to answer at start (`--start-timeout`): the first read of history is retried while it
 * fails, so a Redis or NATS that comes up a few seconds after the hub is fine. Past the bound the engine is
 * closed (so no reconnect timer keeps the process alive) and a `HubError` names the last reason.
 */
export async function waitForStore(
  engine: {
    init(): Promise<void>;
    close(): Promise<void>;
    health(): Promise<{ ready: boolean; detail?: string }>;
    readonly name: string;
  },
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reason = 'no answer';
  for (let attempt = 0; ; attempt++) {
    const left = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        engine.init(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), Math.max(left, 1));
        }),
      ]);
      return;
    } catch (error) {
      reason = (error as Error).message;
    } finally {
      clearTimeout(timer);
    }
    const pause = Math.min(250 * 2 ** Math.min(attempt, 3), deadline - Date.now());
    if (pause <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  if (reason === 'no answer') {
    // An engine that waits for its connection rather than failing says why in its health (Redis reconnecting).
    const health = await Promise.race([
      engine.health().catch(() => undefined),
      new Promise<undefined>((resolve) => setTimeout(resolve, 500)),
    ]);
    if (health?.detail !== undefined) reason = health.detail;
  }
  // Closing a client that never connected can itself wait on the network: give it a moment, no more.
  await Promise.race([engine.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000))]);
  throw new HubError(
    'UNAVAILABLE',
    `The store (${engine.name}) did not answer within ${formatDuration(timeoutMs)} (--start-timeout): ${reason}`,
  );
}
