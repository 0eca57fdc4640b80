/**
 * No private event ID volunteered. A subscriber that does not resume is told where a later resume can start
 * (`Last-Event-ID` in 0.x, `Mercure-Last-Event-ID` in 1.0); that used to be the newest update's ID, private
 * ones and subscription events included, so an anonymous subscriber to a public topic learned that a private
 * update had just happened, and when. It is now the newest PUBLIC update's ID (`earliest` when there is
 * none): one every subscriber may read. The replay-gap notice a subscriber with an unknown `Last-Event-ID`
 * gets names `earliest` (the whole history it may read follows), never an update. See docs/security.md
 * ("Event IDs").
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { mintAccessToken } from '../../src/mercure/publisher.js';
import { until } from '../../src/testing/wait.test-helpers.js';
import { publishForm, SECRET, startHub, subscribe, token, topicUrl } from '../support/hub-process.js';

const PUBLIC = 'https://example.com/news';
const PRIVATE = 'https://example.com/users/1/inbox';

const dir = mkdtempSync(join(tmpdir(), 'crier-volunteered-ids-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The response headers of a subscribe request, read from its head (the stream is then closed). */
function headOf(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      resolve(res.headers);
      req.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

describe('no private event ID volunteered', () => {
  test('a fresh anonymous subscriber is told the newest public update, never a private one or a subscription event (0.x and 1.0, GET and HEAD)', async (t) => {
    const hub = await startHub(t, { args: ['--anonymous', '--subscriptions'] });
    const publisher = await token({ publish: ['*'] });
    const v0 = topicUrl(hub.url, [PUBLIC]);
    const v1 = `${hub.url}?match=${encodeURIComponent(PUBLIC)}`;

    // Nothing public yet, while subscription events (private) are published for these very subscribers.
    assert.equal((await headOf(v0))['last-event-id'], 'earliest');
    assert.equal((await headOf(v1))['mercure-last-event-id'], 'earliest');

    const pub = await publishForm(
      hub.url,
      [
        ['topic', PUBLIC],
        ['data', 'public'],
      ],
      publisher,
    );
    const secret = await publishForm(
      hub.url,
      [
        ['topic', PRIVATE],
        ['data', 'secret'],
        ['private', 'on'],
      ],
      publisher,
    );
    assert.equal(pub.status, 200);
    assert.equal(secret.status, 200);
    // Hub-made IDs are random (UUIDv4), never ordered: a cursor tells neither how many updates came
    // before it nor when (Mercure §7 asks this where private updates are sensitive).
    const uuidV4 = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    assert.match(pub.body, uuidV4);
    assert.match(secret.body, uuidV4);

    for (const method of ['GET', 'HEAD']) {
      assert.equal((await headOf(v0, {}, method))['last-event-id'], pub.body, `0.x ${method}`);
      assert.equal((await headOf(v1, {}, method))['mercure-last-event-id'], pub.body, `1.0 ${method}`);
    }
    // A subscriber that may read the private update is given the public one too: a safe resume point
    // (resuming from it replays what it may read since, the private update included).
    const owner = await token({ subscribe: [PRIVATE] });
    assert.equal((await headOf(v0, { authorization: `Bearer ${owner}` }))['last-event-id'], pub.body);
    const owner10 = await mintAccessToken(SECRET, { audience: hub.url, subscribe: [{ match: PRIVATE }] });
    assert.equal(
      (await headOf(v1, { authorization: `Bearer ${owner10}` }))['mercure-last-event-id'],
      pub.body,
    );
  });

  test('a resume from an unknown ID gets a gap notice that names earliest, not a private update, then the public history', async (t) => {
    const hub = await startHub(t, { args: ['--anonymous'] });
    const publisher = await token({ publish: ['*'] });
    const pub = await publishForm(
      hub.url,
      [
        ['topic', PUBLIC],
        ['data', 'public'],
      ],
      publisher,
    );
    const secret = await publishForm(
      hub.url,
      [
        ['topic', PRIVATE],
        ['data', 'secret'],
        ['private', 'on'],
      ],
      publisher,
    );
    assert.equal(pub.status, 200);
    assert.equal(secret.status, 200);
    const stream = await subscribe(t, topicUrl(hub.url, [PUBLIC]), { 'last-event-id': 'never-published' });
    assert.equal(stream.headers['crier-replay'], 'unknown');
    const [notice] = await stream.waitFor(1);
    assert.equal(notice!.type, 'crier-replay-unavailable');
    assert.equal(notice!.lastEventId, 'earliest');
    // The history the subscriber may read follows (the public update, not the private one), then live ones.
    await until('the public history', () => stream.events.some((e) => e.data === 'public'));
    assert.ok(!stream.events.some((e) => e.data === 'secret' || e.lastEventId === secret.body));
    const later = await publishForm(
      hub.url,
      [
        ['topic', PUBLIC],
        ['data', 'later'],
      ],
      publisher,
    );
    assert.equal(later.status, 200);
    await until('the later update', () => stream.events.some((e) => e.data === 'later'));
  });

  test('after a restart on a durable store, the hub finds the newest public update in history', async (t) => {
    const args = ['--anonymous', '--store', `sqlite:${join(dir, 'restart.db')}`];
    const first = await startHub(t, { args });
    const publisher = await token({ publish: ['*'] });
    const pub = await publishForm(
      first.url,
      [
        ['topic', PUBLIC],
        ['data', 'public'],
      ],
      publisher,
    );
    assert.equal(pub.status, 200);
    assert.equal(
      (
        await publishForm(
          first.url,
          [
            ['topic', PRIVATE],
            ['data', 'secret'],
            ['private', 'on'],
          ],
          publisher,
        )
      ).status,
      200,
    );
    await first.stop('SIGTERM');
    const second = await startHub(t, { args });
    assert.equal((await headOf(topicUrl(second.url, [PUBLIC])))['last-event-id'], pub.body);
  });
});
