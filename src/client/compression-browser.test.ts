/**
 * Compressed streams in real Chromium: the library's `Hub` with `compression` sends gzip to the browser,
 * which asks for it; native EventSource and CrierEventSource, plain and in its shared-connection mode, get
 * each event when the hub writes it (a 2 s gap between events shows nothing waits for a buffer to fill).
 * Through `crier serve` and nginx: test/cluster/compression.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { Hub } from '../server/index.js';
import {
  browserOrSkip,
  checkEachEventArrivesAtOnce,
  startPageServer,
  subscribeIn,
} from './compression-browser.test-helpers.js';

describe('compressed streams in Chromium', () => {
  test('the library hub: EventSource, CrierEventSource and its shared mode get gzip, each event as it is written', async (t) => {
    const browser = await browserOrSkip(t);
    if (!browser) return;
    const hub = new Hub({ logger: null, compression: true });
    t.after(() => hub.close({ timeoutMs: 100 }));
    const app = await startPageServer(t, (req, res) => void hub.handle(req, res));
    const pages: Page[] = [];
    for (const kind of ['EventSource', 'CrierEventSource', 'shared'] as const) {
      const page = await (await browser.newContext()).newPage();
      await subscribeIn(page, app.origin, kind, '/events?topic=prices');
      pages.push(page);
    }
    // A second tab of the shared source: served by the first one's connection.
    const follower = await pages[2]!.context().newPage();
    await subscribeIn(follower, app.origin, 'shared', '/events?topic=prices');
    pages.push(follower);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(app.streams.length, 3, 'the shared tabs use one connection');
    for (const s of app.streams) {
      assert.match(s.acceptEncoding ?? '', /gzip/);
      assert.equal(s.contentEncoding, 'gzip');
    }
    await checkEachEventArrivesAtOnce(pages, (data) => hub.publish('prices', data));
  });
});
