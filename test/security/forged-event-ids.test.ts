/**
 * Event IDs cannot be forged across topics. A publisher allowed only topic A publishes with `id=` set to an
 * ID of topic B's stream. Resolving that ID to the NEWEST update carrying it made B's subscribers resuming
 * from it skip B's updates in between, told `Crier-Replay: ok`. Mercure (spec/mercure.md §7, commit
 * 7eb6580) requires the EARLIEST: the resume then sends every B update after the original, and the forged
 * copy (on topic A) never reaches B's subscriber. Run against each store a single hub uses.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { requireService } from '../../src/testing/services.test-helpers.js';
import { until } from '../../src/testing/wait.test-helpers.js';
import { publishForm, startHub, subscribe, token, topicUrl } from '../support/hub-process.js';

const TOPIC_A = 'https://example.com/a';
const TOPIC_B = 'https://example.com/b';

const redisUp = await new Promise<boolean>((resolve) => {
  const probe = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 0 });
  probe
    .connect()
    .then(() => probe.ping())
    .then(
      () => resolve(true),
      () => resolve(false),
    )
    .finally(() => probe.disconnect());
});

const dir = mkdtempSync(join(tmpdir(), 'crier-forged-ids-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const stores: Array<{ name: string; args: () => string[]; cleanup?: () => Promise<void> }> = [
  { name: 'memory', args: () => [] },
  { name: 'sqlite', args: () => ['--store', `sqlite:${join(dir, `${randomUUID()}.db`)}`] },
];
const redisPrefix = `{crier-forged-${randomUUID()}}:`;
stores.push({
  name: 'redis',
  args: () => ['--store', 'redis://127.0.0.1:6379', '--redis-prefix', redisPrefix],
  cleanup: async () => {
    const redis = new Redis({ host: '127.0.0.1', port: 6379 });
    try {
      for (const k of ['log', 'stream', 'ids']) await redis.del(`${redisPrefix}${k}`);
    } finally {
      redis.disconnect();
    }
  },
});

describe('event IDs cannot be forged across topics', () => {
  for (const store of stores) {
    test(`${store.name}: a publisher allowed only topic A reusing B's event ID does not make B's resuming subscriber skip B's updates`, async (t) => {
      if (store.name === 'redis' && !redisUp) {
        requireService(t, 'Redis on 127.0.0.1:6379', false, 'start redis-server on port 6379');
        return;
      }
      if (store.cleanup !== undefined) t.after(store.cleanup);
      const hub = await startHub(t, { args: ['--anonymous', ...store.args()] });
      const publisherB = await token({ publish: [TOPIC_B] });
      const attacker = await token({ publish: [TOPIC_A] });
      const publishB = async (data: string) => {
        const answer = await publishForm(
          hub.url,
          [
            ['topic', TOPIC_B],
            ['data', data],
          ],
          publisherB,
        );
        assert.equal(answer.status, 200, answer.body);
        return answer.body;
      };

      const original = await publishB('b1');
      await publishB('b2');
      await publishB('b3');
      // The attacker may not publish to B, but may choose any ID for its own topic: B's.
      const forged = await publishForm(
        hub.url,
        [
          ['topic', TOPIC_A],
          ['data', 'forged'],
          ['id', original],
        ],
        attacker,
      );
      assert.equal(forged.status, 200, forged.body);
      assert.equal(forged.body, original, 'the hub took the forged ID (it is a valid ID for topic A)');
      await publishB('b4');

      // B's subscriber had received b1, was disconnected, and resumes from its ID.
      const stream = await subscribe(t, topicUrl(hub.url, [TOPIC_B]), { 'last-event-id': original });
      assert.equal(stream.status, 200, stream.raw);
      assert.equal(stream.headers['crier-replay'], 'ok');
      assert.equal(stream.headers['last-event-id'], original, 'it resumes from the ID it asked for');
      await publishB('b5');
      await until('b5', () => stream.events.some((e) => e.data === 'b5'));
      assert.deepEqual(
        stream.events.map((e) => e.data),
        ['b2', 'b3', 'b4', 'b5'],
        'every B update after the original, none of topic A',
      );
    });
  }
});
