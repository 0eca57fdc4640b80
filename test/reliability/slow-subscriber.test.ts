/**
 * A subscriber that stops reading while thousands of events are published: the hub drops it once its
 * bounded buffer (--write-buffer) is full, its memory stays bounded, and the subscribers that do read get
 * every event.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type HubProcess, startHub, subscribe, token, topicUrl, treeRssKiB } from '../support/hub-process.js';

const TOPIC = 'https://example.com/firehose';
const EVENTS = 4000;
const DATA = 'x'.repeat(4096);

describe('a subscriber that stops reading', () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, {
      args: ['--anonymous', '--history-bytes', '4MiB', '--max-body', '4MiB'],
    });
  });
  after(() => hub.stop('SIGKILL'));

  test('is dropped, the hub memory stays bounded, and readers get all 4,000 events', {
    timeout: 60_000,
  }, async (t) => {
    const path = new URL(topicUrl(hub.url, [TOPIC])).pathname + new URL(topicUrl(hub.url, [TOPIC])).search;
    // The stalled subscriber: a raw socket with a small receive buffer that reads nothing after the head.
    const stalled = connect({ port: hub.port, host: '127.0.0.1' });
    t.after(() => stalled.destroy());
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()));
    stalled.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    await new Promise<void>((resolve) => stalled.once('data', () => resolve()));
    stalled.pause();
    let stalledClosed = false;
    stalled.once('close', () => {
      stalledClosed = true;
    });
    const readers = await Promise.all([1, 2, 3].map(() => subscribe(t, topicUrl(hub.url, [TOPIC]))));
    const rssBefore = treeRssKiB(hub.pid)!;
    const publisher = await token({ publish: ['*'] });
    let peakRss = rssBefore;
    // Batches of 50 (200 KB): one batch is enqueued at once, and must fit in a reader's --write-buffer (1 MiB).
    for (let sent = 0; sent < EVENTS; sent += 50) {
      const batch = Array.from({ length: 50 }, (_, i) => ({
        topics: [TOPIC],
        id: `e${sent + i}`,
        data: DATA,
      }));
      const res = await fetch(new URL('/v1/publish', hub.origin), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher}` },
        body: JSON.stringify(batch),
      });
      assert.equal(res.status, 200, await res.text());
      peakRss = Math.max(peakRss, treeRssKiB(hub.pid)!);
    }
    for (const reader of readers) {
      const events = await reader.waitFor(EVENTS);
      assert.equal(events.length, EVENTS);
      assert.deepEqual(
        events.map((e) => e.lastEventId),
        Array.from({ length: EVENTS }, (_, i) => `e${i}`),
      );
    }
    // 16 MB went to each subscriber; the stalled one may hold only --write-buffer (1 MiB) in the hub.
    const growth = peakRss - rssBefore;
    assert.ok(growth < 120 * 1024, `hub RSS grew ${growth} KiB while a subscriber stalled`);
    // Now read what the stalled socket got: the hub closed it long before the end.
    let received = 0;
    stalled.on('data', (c: Buffer) => {
      received += c.length;
    });
    stalled.resume();
    await new Promise<void>((resolve) =>
      stalledClosed ? resolve() : stalled.once('close', () => resolve()),
    );
    assert.ok(
      received < EVENTS * DATA.length,
      `the stalled subscriber got ${received} bytes, less than everything`,
    );
    const metrics = await (await fetch(new URL('/metrics', hub.origin))).text();
    const slow = /crier_slow_disconnects_total(?:\{[^}]*\})? (\d+)/.exec(metrics);
    assert.ok(slow && Number(slow[1]) >= 1, `slow disconnects in /metrics: ${slow?.[0]}`);
  });
});
