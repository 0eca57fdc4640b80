/**
 * Compressed streams through `crier serve` and through nginx (deploy/nginx/crier.conf, `gzip off`): real
 * Chromium asks for gzip and gets the hub's own encoding, untouched by nginx, each event when the hub writes
 * it (a 2 s gap between two events).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LocalCluster } from '../../src/cli/cluster.js';
import {
  browserOrSkip,
  checkEachEventArrivesAtOnce,
  type Kind,
  recordEncodings,
  startPageServer,
  subscribeIn,
} from '../../src/client/compression-browser.test-helpers.js';
import { mintPublisherToken } from '../../src/mercure/publisher.js';
import { JWT_KEY, NODE_ARGS, servicesPresent, startStore } from './harness.js';

describe('compression through the hub and nginx', () => {
  test('Chromium gets gzip from crier serve directly and through nginx, each event as it is published', async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const browser = await browserOrSkip(t);
    if (!browser) return;
    const { store } = await startStore(t, 'redis');
    const cluster = await LocalCluster.start({
      nodes: 1,
      store,
      nodeArgs: [...NODE_ARGS, '--cors-origins', '*'],
      nginxWorkers: 1,
    });
    t.after(() => cluster.stop());
    const app = await startPageServer(t);
    const topic = 'https://example.com/prices';
    const path = `/.well-known/mercure?topic=${encodeURIComponent(topic)}`;
    const pages = [];
    const routes: [string, Kind][] = [
      [cluster.nodes[0]!.url, 'EventSource'],
      [cluster.url, 'EventSource'],
      [cluster.url, 'CrierEventSource'],
    ];
    for (const [origin, kind] of routes) {
      const context = await browser.newContext();
      const encodings = recordEncodings(context, '/.well-known/mercure');
      const page = await context.newPage();
      await subscribeIn(page, app.origin, kind, `${origin}${path}`);
      assert.deepEqual(encodings, ['gzip'], `${kind} via ${origin}`);
      pages.push(page);
    }
    const token = await mintPublisherToken(JWT_KEY, ['*']);
    await checkEachEventArrivesAtOnce(pages, async (data) => {
      const res = await fetch(`${cluster.url}/.well-known/mercure`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ topic, data }),
      });
      assert.equal(res.status, 200);
    });
  });
});
