/**
 * A publisher flooding past --publish-rate gets 429 with Retry-After, without slowing other publishers or
 * the subscribers; after waiting Retry-After it may publish again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type HubProcess,
  publishForm,
  startHub,
  subscribe,
  token,
  topicUrl,
} from '../support/hub-process.js';

const TOPIC = 'https://example.com/flood';

describe('a publisher flooding past the rate limit', () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, { args: ['--publish-rate', '5', '--anonymous'] });
  });
  after(() => hub.stop('SIGKILL'));

  test('gets 429 with Retry-After; others publish and subscribers get exactly the accepted updates', async (t) => {
    const stream = await subscribe(t, topicUrl(hub.url, [TOPIC]));
    const flooder = await token({ publish: ['*'] }, { payload: 'flooder' });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    const accepted: string[] = [];
    // 200 publishes as fast as answers come: far past 5 per second.
    for (let i = 0; i < 200; i++) {
      const res = await publishForm(
        hub.url,
        [
          ['topic', TOPIC],
          ['data', `flood-${i}`],
        ],
        flooder,
      );
      statuses.push(res.status);
      if (res.status === 200) accepted.push(`flood-${i}`);
      if (res.status === 429) retryAfter ??= res.headers.get('retry-after');
    }
    const refused = statuses.filter((s) => s === 429).length;
    assert.ok(refused > 0, `some publishes were refused (statuses: ${[...new Set(statuses)]})`);
    assert.deepEqual([...new Set(statuses)].sort(), [200, 429]);
    assert.match(retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After is a whole number of seconds');
    // Another publisher (another token) has its own budget.
    const other = await token({ publish: ['*'] }, { payload: 'other' });
    const res = await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', 'other'],
      ],
      other,
    );
    assert.equal(res.status, 200);
    accepted.push('other');
    // After Retry-After the flooder may publish again.
    await sleep(Number(retryAfter) * 1000);
    const again = await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', 'again'],
      ],
      flooder,
    );
    assert.equal(again.status, 200);
    accepted.push('again');
    const events = await stream.waitFor(accepted.length);
    assert.deepEqual(
      events.map((e) => e.data),
      accepted,
      'subscribers get each accepted update once, and no refused one',
    );
  });
});
