import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchChromium } from '../testing/browser.test-helpers.js';
import { legacyToken, publish, startHub } from './hub.test-helpers.js';

test("Chromium's EventSource subscribes with the mercureAuthorization cookie and receives a private update", async (t) => {
  const browser = await launchChromium(t);
  if (browser === undefined) return;
  t.after(() => browser.close());
  const hub = await startHub(t); // anonymous subscribers refused: only the cookie lets the browser in
  const context = await browser.newContext();
  await context.addCookies([
    {
      name: 'mercureAuthorization',
      value: await legacyToken({ subscribe: ['https://example.com/users/42/{+rest}'] }),
      url: hub.origin,
      httpOnly: true,
    },
  ]);
  const page = await context.newPage();
  await page.goto(`${hub.origin}/`);
  const received = page.evaluate(
    (url) =>
      new Promise<{ data: string; id: string }>((resolve, reject) => {
        const source = new EventSource(url, { withCredentials: true });
        source.onopen = () => {
          (window as unknown as { opened: boolean }).opened = true;
        };
        source.onmessage = (e) => {
          source.close();
          resolve({ data: e.data, id: e.lastEventId });
        };
        source.onerror = () => {
          if (source.readyState === EventSource.CLOSED) reject(new Error('EventSource closed'));
        };
      }),
    `${hub.url}?topic=${encodeURIComponent('https://example.com/users/42/{+rest}')}`,
  );
  await page.waitForFunction(() => (window as unknown as { opened?: boolean }).opened === true);
  const token = await legacyToken({ publish: ['*'] });
  const res = await publish(
    hub,
    [
      ['topic', 'https://example.com/users/42/inbox'],
      ['data', 'for 42'],
      ['private', 'on'],
      ['id', 'n1'],
    ],
    token,
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await received, { data: 'for 42', id: 'n1' });
});
