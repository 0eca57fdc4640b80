/**
 * Screenshots of the demo pages: `node --import tsx apps/testing/shoot.ts BASE_URL OUT_DIR [page...]`.
 * Each page is opened in Debian's Chromium at desktop and phone widths after it has received live updates.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../src/testing/browser.test-helpers.js';

const [base = 'http://127.0.0.1:3100', out = 'docs/screenshots', ...only] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

const shots: { name: string; path: string; width: number; height: number; wait: number; before?: string }[] =
  [
    { name: 'home', path: '/', width: 1280, height: 800, wait: 500 },
    { name: 'sports', path: '/sports/', width: 1280, height: 860, wait: 3_000 },
    { name: 'sports-match', path: '/sports/m1', width: 1280, height: 900, wait: 3_000 },
    { name: 'sports-mobile', path: '/sports/', width: 390, height: 844, wait: 2_000 },
    { name: 'ticker', path: '/ticker/', width: 1440, height: 900, wait: 4_000 },
    { name: 'ticker-mobile', path: '/ticker/', width: 390, height: 844, wait: 3_000 },
    {
      name: 'notifications',
      path: '/notifications/',
      width: 1280,
      height: 860,
      wait: 9_000,
      before: 'alice',
    },
    { name: 'notifications-signin', path: '/notifications/', width: 1280, height: 800, wait: 800 },
    {
      name: 'notifications-mobile',
      path: '/notifications/',
      width: 390,
      height: 844,
      wait: 5_000,
      before: 'bob',
    },
    { name: 'dashboard', path: '/dashboard/', width: 1440, height: 960, wait: 5_000 },
  ];

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
try {
  for (const shot of shots) {
    if (only.length > 0 && !only.includes(shot.name)) continue;
    const context = await browser.newContext({
      viewport: { width: shot.width, height: shot.height },
      deviceScaleFactor: shot.width < 500 ? 2 : 1,
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.log('  console:', m.text());
    });
    page.on('pageerror', (e) => console.log('  pageerror:', e.message));
    // The dashboard is more telling with readers elsewhere: open the other apps in the background first.
    const companions = [];
    if (shot.name === 'dashboard') {
      for (const path of ['/ticker/', '/sports/', '/sports/m2', '/ticker/']) {
        const p = await context.newPage();
        await p.goto(base + path);
        companions.push(p);
      }
      await page.waitForTimeout(6_000);
    }
    if (shot.before) {
      await page.goto(base + shot.path);
      await page.click(`[data-user="${shot.before}"]`);
      await page.waitForSelector('.bell');
    } else {
      await page.goto(base + shot.path);
    }
    await page.waitForTimeout(shot.wait);
    await page.screenshot({ path: join(out, `${shot.name}.png`) });
    await context.close();
    console.log(`${shot.name}.png`);
  }
} finally {
  await browser.close();
}
