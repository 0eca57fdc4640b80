/**
 * Failover of a real cluster: 3 `crier serve` processes behind a real nginx (deploy/nginx/crier.conf,
 * filled in by `crier cluster`'s LocalCluster), over a private redis-server or nats-server, 210 subscribers
 * through nginx on four topics, a publisher at a steady rate to random nodes and through nginx.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalCluster } from '../../src/cli/cluster.js';
import { TestRedisServer } from '../../src/engines/redis/redis-server.test-helpers.js';
import {
  expectExactDelivery,
  NODE_ARGS,
  SteadyPublisher,
  type Subscriber,
  servicesPresent,
  startStore,
  subscribe,
} from './harness.js';

const SUBSCRIBERS = 210;
const RATE = 40;

/** A cluster with its subscribers and publisher, all stopped in t.after. */
async function setUp(t: TestContext, store: string, nodeArgs: string[] = []) {
  const cluster = await LocalCluster.start({ nodes: 3, store, nodeArgs: [...NODE_ARGS, ...nodeArgs] });
  let subscribers: Subscriber[] = [];
  t.after(async () => {
    for (const s of subscribers) s.close();
    await cluster.stop(2000);
  });
  subscribers = await subscribe(cluster, SUBSCRIBERS);
  const publisher = new SteadyPublisher(cluster, RATE);
  t.after(() => publisher.stop());
  return { cluster, subscribers, publisher };
}

/**
 * A cluster over a private Redis that is SIGKILLed mid-stream and started again a second later (with its
 * append-only file, or without persistence: a new epoch); publishing stops `settleMs` after the restart.
 */
async function killAndRestartRedis(t: TestContext, options: { persistent: boolean; settleMs: number }) {
  const redis = await TestRedisServer.start({ persistent: options.persistent });
  t.after(() => redis.stop());
  const { subscribers, publisher } = await setUp(t, redis.url);
  await sleep(2000);
  await redis.kill();
  await sleep(1000);
  await redis.restart();
  const restartedAt = Date.now();
  await sleep(options.settleMs);
  await publisher.stop();
  return { subscribers, publisher, restartedAt };
}

const reconnected = (subscribers: Subscriber[]) => subscribers.filter((s) => s.opens > 1).length;

describe('cluster failover over Redis', { timeout: 120_000 }, () => {
  test('SIGKILL of one node mid-stream: every subscriber resumes through nginx with exactly the acknowledged updates', async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const { store } = await startStore(t, 'redis');
    const { cluster, subscribers, publisher } = await setUp(t, store);
    await sleep(2000);
    await cluster.nodes[0]!.stop('SIGKILL');
    await sleep(3000);
    await publisher.stop();
    await expectExactDelivery(subscribers, publisher);
    assert.ok(reconnected(subscribers) > 0, 'the killed node’s subscribers reconnected');
  });

  test('Redis SIGKILLed and restarted with its append-only file: no update lost or repeated, no gap', async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const { subscribers, publisher } = await killAndRestartRedis(t, { persistent: true, settleMs: 3000 });
    assert.ok(publisher.failed > 0, 'publishes were refused while Redis was down');
    await expectExactDelivery(subscribers, publisher);
  });
});

describe('cluster over a Redis that loses its data', { timeout: 120_000 }, () => {
  test('Redis restarted without persistence: every subscriber is told of the gap, then gets every update acknowledged after it, nothing twice', async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const { subscribers, publisher, restartedAt } = await killAndRestartRedis(t, {
      persistent: false,
      settleMs: 4000,
    });
    // No update twice, nothing unacknowledged; the gap itself is allowed (the log is gone).
    await expectExactDelivery(subscribers, publisher, { allowGaps: true });
    for (const s of subscribers) {
      assert.ok(s.gaps >= 1, `the subscriber on ${s.topics.join(' ')} was told of the gap`);
      // Acknowledged well after the notice reached it: it must have it.
      const after = publisher.acked
        .filter((p) => s.topics.includes(p.topic) && (p.at ?? 0) > s.lastGapAt + 500)
        .map((p) => p.n);
      assert.ok(after.length > 0, 'updates were acknowledged after the gap');
      const missing = after.filter((n) => !s.received.includes(n));
      assert.deepEqual(
        missing,
        [],
        `updates acknowledged after the gap notice were delivered (${s.topics.join(' ')})`,
      );
      // Acknowledged once Redis was back, so in the new log: told of the gap or not, it must have them all,
      // also those stored before it reconnected.
      const inNewLog = publisher.acked
        .filter((p) => s.topics.includes(p.topic) && (p.at ?? 0) > restartedAt)
        .map((p) => p.n);
      assert.deepEqual(
        inNewLog.filter((n) => !s.received.includes(n)),
        [],
        `updates acknowledged in the new log were delivered (${s.topics.join(' ')})`,
      );
    }
  });
});

for (const backend of ['redis', 'nats'] as const) {
  describe(`cluster rolling restart over ${backend === 'redis' ? 'Redis' : 'NATS JetStream'}`, {
    timeout: 120_000,
  }, () => {
    test('every node restarted in turn (SIGTERM, start again, next): every subscriber ends with exactly the acknowledged updates', async (t) => {
      if (!servicesPresent(t, backend)) return;
      const { store } = await startStore(t, backend);
      const { cluster, subscribers, publisher } = await setUp(t, store);
      await sleep(1500);
      for (const node of cluster.nodes) {
        const started = Date.now();
        await node.stop('SIGTERM');
        t.diagnostic(`node ${node.port} stopped gracefully in ${Date.now() - started} ms`);
        await node.start();
        await sleep(1500);
      }
      await sleep(1500);
      await publisher.stop();
      await expectExactDelivery(subscribers, publisher);
      assert.ok(reconnected(subscribers) >= subscribers.length, 'every subscriber was moved at least once');
    });
  });
}

describe('cluster failover over NATS JetStream', { timeout: 120_000 }, () => {
  test('SIGKILL of one node mid-stream: every subscriber resumes through nginx with exactly the acknowledged updates', async (t) => {
    if (!servicesPresent(t, 'nats')) return;
    const { store } = await startStore(t, 'nats');
    const { cluster, subscribers, publisher } = await setUp(t, store);
    await sleep(2000);
    await cluster.nodes[1]!.stop('SIGKILL');
    await sleep(3000);
    await publisher.stop();
    await expectExactDelivery(subscribers, publisher);
    assert.ok(reconnected(subscribers) > 0, 'the killed node’s subscribers reconnected');
  });
});
