/**
 * Failover of a real cluster: 3 `crier serve` processes behind a real nginx (deploy/nginx/crier.conf,
 * filled in by `crier cluster`'s LocalCluster), over a private redis-server or nats-server, 210 subscribers
 * through nginx on four topics, a publisher at a steady rate to random nodes and through nginx.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalCluster, nginxInstalled } from '../../src/cli/cluster.js';
import { natsServerInstalled, TestNatsServer } from '../../src/engines/nats/test-nats-server.js';
import { redisServerInstalled, TestRedisServer } from '../../src/engines/redis/test-redis-server.js';
import { requireService } from '../../src/testing/services.js';
import { expectExactDelivery, NODE_ARGS, SteadyPublisher, type Subscriber, subscribe } from './harness.js';

const SUBSCRIBERS = 210;
const RATE = 40;

function servicesPresent(t: TestContext, backend: 'redis' | 'nats'): boolean {
  if (!requireService(t, 'nginx', nginxInstalled(), 'apt-get install nginx (/usr/sbin/nginx)')) return false;
  if (backend === 'redis')
    return requireService(t, 'redis-server', redisServerInstalled, 'apt-get install redis-server');
  return requireService(t, 'nats-server', natsServerInstalled, 'apt-get install nats-server');
}

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

const reconnected = (subscribers: Subscriber[]) => subscribers.filter((s) => s.opens > 1).length;

describe('cluster failover over Redis', { timeout: 120_000 }, () => {
  test('SIGKILL of one node mid-stream: every subscriber resumes through nginx with exactly the acknowledged updates', async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const redis = await TestRedisServer.start();
    t.after(() => redis.stop());
    const { cluster, subscribers, publisher } = await setUp(t, redis.url);
    await sleep(2000);
    await cluster.nodes[0]!.stop('SIGKILL');
    await sleep(3000);
    await publisher.stop();
    await expectExactDelivery(subscribers, publisher);
    assert.ok(reconnected(subscribers) > 0, 'the killed node’s subscribers reconnected');
  });

  test('Redis SIGKILLed and restarted with its append-only file: no update lost or repeated, no gap', async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const redis = await TestRedisServer.start({ persistent: true });
    t.after(() => redis.stop());
    const { subscribers, publisher } = await setUp(t, redis.url);
    await sleep(2000);
    await redis.kill();
    await sleep(1000);
    await redis.restart();
    await sleep(3000);
    await publisher.stop();
    assert.ok(publisher.failed > 0, 'publishes were refused while Redis was down');
    await expectExactDelivery(subscribers, publisher);
  });
});

describe('cluster failover over NATS JetStream', { timeout: 120_000 }, () => {
  test('SIGKILL of one node mid-stream: every subscriber resumes through nginx with exactly the acknowledged updates', async (t) => {
    if (!servicesPresent(t, 'nats')) return;
    const nats = await TestNatsServer.start();
    t.after(() => nats.stop());
    const { cluster, subscribers, publisher } = await setUp(t, `nats://${nats.url}`);
    await sleep(2000);
    await cluster.nodes[1]!.stop('SIGKILL');
    await sleep(3000);
    await publisher.stop();
    await expectExactDelivery(subscribers, publisher);
    assert.ok(reconnected(subscribers) > 0, 'the killed node’s subscribers reconnected');
  });
});
