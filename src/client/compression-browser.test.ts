/**
 * Compressed streams in real Chromium: the hub (the library's `Hub` with `compression`, and `crier serve`)
 * sends gzip to the browser, which asks for it; native EventSource and CrierEventSource, plain and in its
 * shared-connection mode, get each event when the hub writes it (a 2 s gap between events shows nothing
 * waits for a buffer to fill).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { Hub } from '../server/index.js';
import { launchChromium } from '../testing/browser.test-helpers.js';

declare global {
  interface Window {
    Crier: typeof import('./index.js');
    received: { data: string; at: number }[];
  }
}

const entry = fileURLToPath(new URL('./index.ts', import.meta.url));

async function bundleClient(): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  return result.outputFiles[0]!.text;
}

/**
 * A page and its client bundle on one origin; `/events…` goes to `events` (a hub). Records the
 * `Content-Encoding` each event stream was answered with.
 */
async function startPageServer(t: TestContext, events: (req: IncomingMessage, res: ServerResponse) => void) {
  const bundle = await bundleClient();
  const streams: { acceptEncoding: string | undefined; contentEncoding: unknown }[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    } else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(
        '<!doctype html><title>compressed</title><script type="module">' +
          "import * as Crier from '/client.js'; window.Crier = Crier; window.received = [];" +
          '</script>',
      );
    } else if (req.url?.startsWith('/events')) {
      const stream = {
        acceptEncoding: req.headers['accept-encoding'],
        contentEncoding: undefined as unknown,
      };
      streams.push(stream);
      events(req, res);
      // The head is out once the hub opened the stream: read what it said.
      setTimeout(() => {
        stream.contentEncoding = res.getHeader('content-encoding');
      }, 200);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, streams };
}

type Kind = 'EventSource' | 'CrierEventSource' | 'shared';

async function subscribeIn(page: Page, origin: string, kind: Kind, path: string) {
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.Crier !== undefined);
  await page.evaluate(
    ([kind, path]) => {
      const source =
        kind === 'EventSource'
          ? new EventSource(path)
          : new window.Crier.CrierEventSource(path, { shared: kind === 'shared' });
      source.addEventListener('message', (e) => {
        window.received.push({ data: (e as MessageEvent).data as string, at: Date.now() });
      });
      (window as unknown as { opened: boolean }).opened = false;
      source.addEventListener('open', () => {
        (window as unknown as { opened: boolean }).opened = true;
      });
    },
    [kind, path] as const,
  );
  await page.waitForFunction(() => (window as unknown as { opened: boolean }).opened);
}

/** Publishes, waits 2 s, publishes again: each must be in the page within 1 s of its publish. */
async function checkEachEventArrivesAtOnce(pages: Page[], publish: (data: string) => Promise<unknown>) {
  for (const data of ['first', 'second']) {
    const sent = Date.now();
    await publish(data);
    for (const page of pages) {
      await page.waitForFunction((d) => window.received.some((r) => r.data === d), data, { timeout: 5000 });
      const at = await page.evaluate((d) => window.received.find((r) => r.data === d)!.at, data);
      assert.ok(at - sent < 1000, `"${data}" arrived ${at - sent} ms after it was published`);
    }
    if (data === 'first') await new Promise((r) => setTimeout(r, 2000));
  }
  for (const page of pages) {
    assert.deepEqual(
      (await page.evaluate(() => window.received)).map((r) => r.data),
      ['first', 'second'],
    );
  }
}

async function browserOrSkip(t: TestContext): Promise<Browser | undefined> {
  const browser = await launchChromium(t);
  if (browser) t.after(() => browser.close());
  return browser;
}

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
