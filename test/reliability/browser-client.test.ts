/**
 * The client as browsers run it — bundled by esbuild, in real Chromium — against `crier serve` with its
 * durable store (SQLite in a temp dir), while the hub is killed and restarted under it: a plain source in
 * one page and a shared source (Web Locks + BroadcastChannel) in two tabs of another browser context each
 * receive every update exactly once, in order. Updates published while the clients are away come back by
 * replay (Last-Event-ID) from the store; then the leader tab closes and the follower takes over.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { launchChromium } from '../../src/testing/browser.test-helpers.js';
import { type HubProcess, publishForm, startHub, token, topicUrl } from '../support/hub-process.js';

declare global {
  interface Window {
    Crier: typeof import('../../src/client/index.js');
    received: string[];
    opens: number;
    source: import('../../src/client/index.js').CrierEventSource;
  }
}

const TOPIC = 'https://example.com/restart-under-browser';
const entry = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url));

async function startPageServer() {
  const bundle = (
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', write: false })
  ).outputFiles[0]!.text;
  const server = createServer((req, res) => {
    if (req.url === '/client.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(
        '<!doctype html><title>crier client</title><script type="module">' +
          "import * as Crier from '/client.js'; window.Crier = Crier; window.received = []; window.opens = 0;" +
          '</script>',
      );
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function openSource(page: Page, origin: string, url: string, shared: boolean): Promise<void> {
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.Crier !== undefined);
  await page.evaluate(
    ({ url, shared }) => {
      const source = new window.Crier.CrierEventSource(url, { shared, maxRetryDelay: 2000 });
      window.source = source;
      source.onopen = () => window.opens++;
      source.onmessage = (event) => window.received.push(event.data as string);
    },
    { url, shared },
  );
  await page.waitForFunction(() => window.opens > 0, undefined, { timeout: 20_000 });
}

const received = (page: Page) => page.evaluate(() => window.received);
const waitForCount = (page: Page, count: number) =>
  page.waitForFunction((n) => window.received.length >= n, count, { timeout: 30_000 });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `u${from + i}`);

async function publishRange(hub: HubProcess, bearer: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const res = await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', `u${i}`],
      ],
      bearer,
    );
    assert.equal(res.status, 200, res.body);
  }
}

test('in Chromium, plain and tab-shared sources lose and repeat nothing while the hub is killed and restarted', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  t.after(() => browser.close());
  const pages = await startPageServer();
  t.after(() => pages.close());
  const dir = mkdtempSync(join(tmpdir(), 'crier-browser-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = [
    '--store',
    `sqlite:${join(dir, 'hub.db')}`,
    '--anonymous',
    '--cors-origins',
    pages.origin,
    '--retry',
    '500',
  ];
  let hub = await startHub(t, { args });
  const port = hub.port;
  const publisher = await token({ publish: ['*'] });
  const url = topicUrl(hub.url, [TOPIC]);

  const plain = await (await browser.newContext()).newPage();
  const tabs = await browser.newContext();
  const leader = await tabs.newPage();
  const follower = await tabs.newPage();
  await openSource(plain, pages.origin, url, false);
  await openSource(leader, pages.origin, url, true);
  await openSource(follower, pages.origin, url, true);
  assert.equal(await leader.evaluate(() => window.source.sharedRole), 'leader');
  assert.equal(await follower.evaluate(() => window.source.sharedRole), 'follower');

  await publishRange(hub, publisher, 0, 20);
  for (const page of [plain, leader, follower]) await waitForCount(page, 20);

  // The hub dies mid-stream and comes back on the same port with the same store.
  await hub.stop('SIGKILL');
  hub = await startHub(t, { args, port });
  // Published before the clients are back (they wait at least the hub's retry: 500 ms): replayed.
  await publishRange(hub, publisher, 20, 40);
  for (const page of [plain, leader, follower]) await waitForCount(page, 40);
  // Then live.
  await publishRange(hub, publisher, 40, 60);
  for (const page of [plain, leader, follower]) await waitForCount(page, 60);

  // The leader tab goes away; the follower takes the lock and resumes from its last event ID.
  await leader.close();
  await follower.waitForFunction(() => window.source.sharedRole === 'leader', undefined, { timeout: 20_000 });
  await publishRange(hub, publisher, 60, 80);
  for (const page of [plain, follower]) await waitForCount(page, 80);
  await new Promise((resolve) => setTimeout(resolve, 300)); // room for a duplicate to show up

  assert.deepEqual(await received(plain), range(0, 80));
  assert.deepEqual(await received(follower), range(0, 80));
  assert.ok((await plain.evaluate(() => window.opens)) >= 2, 'the plain source reconnected');
});
