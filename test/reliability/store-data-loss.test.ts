/**
 * A store that loses its data: a private redis-server SIGKILLed and started again with an empty directory
 * (no persistence) while a subscriber is live. The subscriber is told of the gap, and then gets every
 * update the new log holds — also those acknowledged and fanned out before it came back.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredUpdate } from '../../src/engines/engine.js';
import { RedisStreamsEngine } from '../../src/engines/redis/index.js';
import { redisServerInstalled, TestRedisServer } from '../../src/engines/redis/redis-server.test-helpers.js';
import { connectSse } from '../../src/server/client.test-helpers.js';
import { Hub, REPLAY_UNAVAILABLE_EVENT } from '../../src/server/hub.js';
import { requireService } from '../../src/testing/services.test-helpers.js';
import { until } from '../../src/testing/wait.test-helpers.js';

/** Publishes until the store acknowledges (it refuses while Redis is down or reconnecting). */
async function publishAcknowledged(hub: Hub, data: string): Promise<StoredUpdate> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await hub.publish('t', data);
    } catch (error) {
      if (attempt > 200) throw error;
      await sleep(50);
    }
  }
}

describe('store data loss', { timeout: 60_000 }, () => {
  test('Redis restarted with an empty directory: the subscriber is told of the gap, then gets every update acknowledged in the new log, in order, nothing twice', async (t) => {
    // Outside CI a missing redis-server skips loudly; in CI it fails (.ci/run installs it).
    if (!requireService(t, 'redis-server', redisServerInstalled, 'apt-get install redis-server')) return;
    const redis = await TestRedisServer.start({ persistent: false });
    t.after(() => redis.stop());
    const engine = new RedisStreamsEngine({ url: redis.url, blockMs: 200 });
    await engine.ready;
    const hub = new Hub({ engine, logger: null });
    const server = http.createServer((req, res) => void hub.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(async () => {
      await hub.close({ timeoutMs: 1000 });
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await engine.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?topic=t`;

    const live = await connectSse(url);
    t.after(() => live.close());
    await publishAcknowledged(hub, 'before-1');
    await publishAcknowledged(hub, 'before-2');
    await live.until((c) => c.events.length === 2);
    const lastSeen = live.events[1]!.lastEventId;

    await redis.kill();
    await redis.restart(); // same port, empty directory: the log is gone
    const acknowledged: StoredUpdate[] = [];
    for (let i = 0; i < 20; i++) acknowledged.push(await publishAcknowledged(hub, `after-${i}`));
    // The hub's follower saw the new epoch: it closed the stream so the subscriber resumes by replay, and
    // it has fanned out the new log's updates meanwhile (to no one on this topic).
    await live.ended;
    await until(
      'the hub saw the acknowledged updates live',
      () => hub.lastEventId === acknowledged.at(-1)!.id,
    );

    const resumed = await connectSse(url, { 'last-event-id': lastSeen });
    t.after(() => resumed.close());
    assert.equal(resumed.status, 200);
    assert.notEqual(resumed.headers['crier-replay'], 'ok');
    const liveAfter = await publishAcknowledged(hub, 'live');
    await resumed.until((c) => c.events.some((e) => e.data === 'live'));
    assert.equal(resumed.events[0]!.type, REPLAY_UNAVAILABLE_EVENT, 'the gap is told first');
    assert.deepEqual(
      resumed.events.slice(1).map((e) => e.data),
      [...acknowledged.map((u) => u.data), 'live'],
    );
    assert.deepEqual(
      resumed.events.slice(1).map((e) => e.lastEventId),
      [...acknowledged.map((u) => u.id), liveAfter.id],
    );
  });
});
