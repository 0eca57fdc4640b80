/**
 * The client in real Chromium (Debian's /usr/bin/chromium driven by playwright-core): the bundle esbuild
 * makes for pages, served with a test page and an event stream (with replay by Last-Event-ID) from node:http.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { launchChromium } from '../testing/browser.test-helpers.js';

declare global {
  interface Window {
    Crier: typeof import('./index.js');
    received: string[];
    source: import('./index.js').CrierEventSource;
  }
}

const entry = fileURLToPath(new URL('./index.ts', import.meta.url));

/** The browser build of the client: one minified ESM file. */
async function bundleClient(): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
  });
  return result.outputFiles[0]!.text;
}

/** Serves the page, the bundle and /events, an event stream that replays after Last-Event-ID. */
async function startAppServer(bundle: string) {
  const history: { id: number; data: string }[] = [];
  const open = new Set<ServerResponse>();
  const stats = { connections: 0, lastEventIds: [] as (string | undefined)[] };
  const server = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    } else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(
        '<!doctype html><title>crier client</title><script type="module">' +
          "import * as Crier from '/client.js'; window.Crier = Crier; window.received = [];" +
          '</script>',
      );
    } else if (req.url?.startsWith('/events')) {
      stats.connections += 1;
      const lastEventId = req.headers['last-event-id'] as string | undefined;
      stats.lastEventIds.push(lastEventId);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      const after = lastEventId === undefined ? Number.POSITIVE_INFINITY : Number(lastEventId);
      let replay = ': open\n\n';
      for (const event of history) if (event.id > after) replay += `id: ${event.id}\ndata: ${event.data}\n\n`;
      res.write(replay);
      open.add(res);
      res.on('close', () => open.delete(res));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stats,
    active: () => open.size,
    publish(data?: string) {
      const id = history.length + 1;
      const event = { id, data: data ?? String(id) };
      history.push(event);
      for (const res of open) res.write(`id: ${id}\ndata: ${event.data}\n\n`);
      return id;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function openPage(page: Page, origin: string) {
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.Crier !== undefined);
}

/** Starts a shared source in the page that records `data@lastEventId` of every message. */
async function startShared(page: Page) {
  await page.evaluate(() => {
    window.source = new window.Crier.CrierEventSource('/events', { shared: true, retry: 50 });
    window.source.onmessage = (event) => window.received.push(`${event.data}@${event.lastEventId}`);
  });
}

const received = (page: Page) => page.evaluate(() => window.received);
const waitForCount = (page: Page, count: number) =>
  page.waitForFunction((n) => window.received.length >= n, count, { timeout: 20_000 });
const expected = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${from + i}@${from + i}`);

describe('the client in Chromium', () => {
  test('CrierEventSource works in a page: open, messages with their IDs, readyState, close', async (t) => {
    const browser = await launchChromium(t);
    if (!browser) return;
    t.after(() => browser.close());
    const app = await startAppServer(await bundleClient());
    t.after(() => app.close());
    const page = await browser.newPage();
    await openPage(page, app.origin);
    app.publish('before');
    await page.evaluate(() => {
      const source = new window.Crier.CrierEventSource('/events', { lastEventId: '0' });
      window.source = source;
      source.onopen = () => window.received.push(`open:${source.readyState}`);
      source.onmessage = (event) => window.received.push(`message:${event.data}:${event.lastEventId}`);
    });
    await waitForCount(page, 2);
    app.publish('live');
    await waitForCount(page, 3);
    const state = await page.evaluate(() => {
      const source = window.source;
      const result = {
        log: window.received,
        readyState: source.readyState,
        url: source.url,
        role: source.sharedRole,
        constants: [source.CONNECTING, source.OPEN, source.CLOSED],
      };
      source.close();
      return { ...result, closed: source.readyState };
    });
    assert.deepEqual(state.log, ['open:1', 'message:before:1', 'message:live:2']);
    assert.equal(state.readyState, 1);
    assert.equal(state.closed, 2);
    assert.equal(state.url, `${app.origin}/events`);
    assert.equal(state.role, 'off');
    assert.deepEqual(state.constants, [0, 1, 2]);
    await page.close();
  });

  test('two pages share one connection, and the other page takes over without a gap when the leader closes', async (t) => {
    const browser = await launchChromium(t);
    if (!browser) return;
    t.after(() => browser.close());
    const app = await startAppServer(await bundleClient());
    t.after(() => app.close());
    const context = await browser.newContext();
    const leader = await context.newPage();
    const follower = await context.newPage();
    await openPage(leader, app.origin);
    await openPage(follower, app.origin);

    await startShared(leader);
    await leader.waitForFunction(
      () => window.source.sharedRole === 'leader' && window.source.readyState === 1,
    );
    await startShared(follower);
    await follower.waitForFunction(() => window.source.sharedRole === 'follower');
    for (let i = 0; i < 5; i++) app.publish();
    await waitForCount(leader, 5);
    await waitForCount(follower, 5);
    assert.equal(app.stats.connections, 1);
    assert.equal(await follower.evaluate(() => window.source.readyState), 1);

    // Switching tabs never opens a second connection.
    await follower.bringToFront();
    await leader.bringToFront();
    await follower.bringToFront();
    app.publish();
    await waitForCount(follower, 6);
    assert.equal(app.stats.connections, 1);
    assert.equal(app.active(), 1);

    // Handover: keep publishing while the leader's page closes and the follower reconnects.
    const publisher = setInterval(() => app.publish(), 5);
    await leader.close();
    await follower.waitForFunction(() => window.source.sharedRole === 'leader', undefined, {
      timeout: 20_000,
    });
    while (app.stats.connections < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    clearInterval(publisher);
    const last = app.publish();
    await waitForCount(follower, last);

    assert.deepEqual(await received(follower), expected(1, last), 'every event exactly once, in order');
    assert.equal(app.stats.connections, 2);
    assert.equal(app.active(), 1);
    assert.equal(app.stats.lastEventIds[1] !== undefined, true, 'the new leader resumed with Last-Event-ID');
    assert.ok(last > 7, 'events were published during the handover');
    await context.close();
  });
});
