/**
 * Chromium and compressed streams, for the tests of the client (src/client) and of the cluster behind
 * nginx (test/cluster): a page with the client bundle, sources opened in it, and the check that each
 * event arrives when it is published (a 2 s gap between two). Test support only.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../testing/browser.test-helpers.js';

declare global {
  interface Window {
    Crier: typeof import('./index.js');
    arrivals: { data: string; at: number }[];
  }
}

const entry = fileURLToPath(new URL('./index.ts', import.meta.url));

export async function bundleClient(): Promise<string> {
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
 * A page and its client bundle on one origin; `/events…` goes to `events` (a hub), when given. Records the
 * `Content-Encoding` each event stream was answered with.
 */
export async function startPageServer(
  t: TestContext,
  events?: (req: IncomingMessage, res: ServerResponse) => void,
) {
  const bundle = await bundleClient();
  const streams: { acceptEncoding: string | undefined; contentEncoding: unknown }[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    } else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(
        '<!doctype html><title>compressed</title><script type="module">' +
          "import * as Crier from '/client.js'; window.Crier = Crier; window.arrivals = [];" +
          '</script>',
      );
    } else if (events !== undefined && req.url?.startsWith('/events')) {
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

export type Kind = 'EventSource' | 'CrierEventSource' | 'shared';

export async function subscribeIn(page: Page, origin: string, kind: Kind, path: string) {
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.Crier !== undefined);
  await page.evaluate(
    ([kind, path]) => {
      const source =
        kind === 'EventSource'
          ? new EventSource(path)
          : new window.Crier.CrierEventSource(path, { shared: kind === 'shared' });
      source.addEventListener('message', (e) => {
        window.arrivals.push({ data: (e as MessageEvent).data as string, at: Date.now() });
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
export async function checkEachEventArrivesAtOnce(
  pages: Page[],
  publish: (data: string) => Promise<unknown>,
) {
  for (const data of ['first', 'second']) {
    const sent = Date.now();
    await publish(data);
    for (const page of pages) {
      await page.waitForFunction((d) => window.arrivals.some((r) => r.data === d), data, { timeout: 5000 });
      const at = await page.evaluate((d) => window.arrivals.find((r) => r.data === d)!.at, data);
      assert.ok(at - sent < 1000, `"${data}" arrived ${at - sent} ms after it was published`);
    }
    if (data === 'first') await new Promise((r) => setTimeout(r, 2000));
  }
  for (const page of pages) {
    assert.deepEqual(
      (await page.evaluate(() => window.arrivals)).map((r) => r.data),
      ['first', 'second'],
    );
  }
}

export async function browserOrSkip(t: TestContext): Promise<Browser | undefined> {
  const browser = await launchChromium(t);
  if (browser) t.after(() => browser.close());
  return browser;
}

/** The `Content-Encoding` of every response to a request whose URL contains `part`, as the browser saw it. */
export function recordEncodings(context: BrowserContext, part: string): (string | undefined)[] {
  const seen: (string | undefined)[] = [];
  context.on('response', (response) => {
    if (response.url().includes(part)) seen.push(response.headers()['content-encoding']);
  });
  return seen;
}
