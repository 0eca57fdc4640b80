/**
 * The demo apps end to end, in Debian's Chromium: each page loads and receives live updates, recovers after
 * the hub restarts (history kept in the SQLite store, so pages resume by Last-Event-ID), a user never
 * receives another user's private notifications, and the dashboard's figures move.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../src/testing/browser.test-helpers.js';
import { type DemoServer, startDemoServer } from './testing/harness.js';

let server: DemoServer;

before(async () => {
  const build = spawnSync(process.execPath, ['scripts/build-apps.mjs'], { encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  server = await startDemoServer({ minuteMs: 250, activityMs: 2_000 });
});

after(async () => {
  await server?.close();
});

async function withBrowser(t: import('node:test').TestContext, fn: (browser: Browser) => Promise<void>) {
  const browser = await launchChromium(t);
  if (!browser) return;
  try {
    await fn(browser);
  } finally {
    await browser.close();
  }
}

describe('demo apps in Chromium', { concurrency: false }, () => {
  test('the scoreboard shows every match at once, updates live, and after a hub restart resumes by replay without a gap', async (t) => {
    await withBrowser(t, async (browser) => {
      const page = await browser.newPage();
      await page.goto(`${server.url}/sports/`);
      await page.waitForSelector('.match-card[data-match="m8"]'); // the snapshot: all 8 matches at once
      assert.equal(await page.locator('.match-card').count(), 8);
      await page.waitForSelector('#status[data-status="live"]');
      const seqOf = () =>
        page.$$eval('.match-card', (cards) => cards.map((c) => Number((c as HTMLElement).dataset.seq)));
      const first = (await seqOf()).reduce((a, b) => a + b, 0);
      await page.waitForFunction(
        (start) =>
          [...document.querySelectorAll<HTMLElement>('.match-card')].reduce(
            (a, c) => a + Number(c.dataset.seq),
            0,
          ) > start,
        first,
      );

      // The hub goes away for a while; the simulator keeps playing (its outbox waits), then the hub returns.
      await server.stopHub();
      await page.waitForSelector('#status[data-status="reconnecting"]');
      await new Promise((r) => setTimeout(r, 1_500));
      await server.startHub();
      await page.waitForSelector('#status[data-status="live"]', { timeout: 30_000 });
      // Converged: for every match the page shows the server's seq and score, with no snapshot reload.
      await page.waitForFunction(
        async () => {
          const snap = (await (await fetch('/sports/api/matches')).json()) as {
            matches: { id: string; seq: number; score: [number, number] }[];
          };
          return snap.matches.every((m) => {
            const card = document.querySelector<HTMLElement>(`.match-card[data-match="${m.id}"]`);
            const goals = card ? [...card.querySelectorAll('.goals')].map((g) => Number(g.textContent)) : [];
            return (
              card && Number(card.dataset.seq) === m.seq && goals[0] === m.score[0] && goals[1] === m.score[1]
            );
          });
        },
        undefined,
        { timeout: 30_000, polling: 100 },
      );
      assert.equal(
        await page.evaluate(() => document.body.dataset.resyncs ?? '0'),
        '0',
        'caught up by replay, not by reloading',
      );

      // The detail view subscribes to the match's own topic.
      await page.click('.match-card[data-match="m3"]');
      await page.waitForSelector('.hero[data-match="m3"]');
      const seq = Number(await page.getAttribute('.hero', 'data-seq'));
      await page.waitForFunction(
        (s) => Number(document.querySelector<HTMLElement>('.hero')?.dataset.seq) > s,
        seq,
      );
    });
  });

  test('the ticker receives prices conflated to the chosen rate and recovers after a hub restart', async (t) => {
    await withBrowser(t, async (browser) => {
      const page = await browser.newPage();
      await page.addInitScript(() => localStorage.setItem('crier-demo-maxrate', '2'));
      await page.goto(`${server.url}/ticker/`);
      await page.waitForSelector('tr[data-symbol]');
      assert.ok((await page.locator('tr[data-symbol]').count()) >= 100);
      await page.waitForSelector('#status[data-status="live"]');
      await page.waitForFunction(() => Number(document.body.dataset.received) > 0);
      // Let a few one-second windows pass, then read the page's own figures.
      await page.waitForTimeout(3_000);
      const rate = Number((await page.textContent('#rate'))!.replace(/,/g, ''));
      const skipped = Number((await page.textContent('#skipped'))!.replace('%', ''));
      const symbols = await page.locator('tr[data-symbol]').count();
      assert.ok(rate > 0, `received ${rate}/s`);
      assert.ok(
        rate <= 2 * symbols * 1.5,
        `at most 2 updates/s per symbol (with slack for window edges), got ${rate}/s`,
      );
      assert.ok(skipped > 0, 'the hub conflated part of the feed away');

      await server.restartHub();
      await page.waitForSelector('#status[data-status="live"]', { timeout: 30_000 });
      const before = await page.textContent('tr[data-symbol] .price');
      await page.waitForFunction(
        (b) => document.querySelector('tr[data-symbol] .price')?.textContent !== b,
        before,
        {
          timeout: 30_000,
        },
      );
    });
  });

  test('a signed-in user gets their notifications live (also those sent while the hub was down) and never another user’s', async (t) => {
    await withBrowser(t, async (browser) => {
      const alice = await (await browser.newContext()).newPage();
      const bob = await (await browser.newContext()).newPage();
      for (const [page, user] of [
        [alice, 'alice'],
        [bob, 'bob'],
      ] as const) {
        await page.goto(`${server.url}/notifications/`);
        await page.click(`[data-user="${user}"]`);
        await page.waitForSelector('#status[data-status="live"]');
      }
      // The hub cookie is HttpOnly and scoped to the hub's path.
      const cookie = (await alice.context().cookies(`${server.url}/.well-known/mercure`)).find(
        (c) => c.name === 'mercureAuthorization',
      );
      assert.ok(cookie?.httpOnly);

      // Alice spies: a stream with her cookie on every user's topic (a URI template).
      await alice.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { spy: string[] }).spy = seen;
        const source = new EventSource(
          `/.well-known/mercure?topic=${encodeURIComponent('https://crier.example/users/{name}/notifications')}`,
        );
        source.addEventListener('notification', (e) => seen.push(JSON.parse((e as MessageEvent).data).to));
      });
      await alice.waitForFunction(() => true);
      // Alice messages Bob in the UI; Bob's page shows it (inbox and toast), and Bob's bell counts it.
      const card = alice.locator('.person-card[data-user="bob"]');
      await card.locator('.pc-input').fill('Secret plans for Friday');
      await card.locator('button[data-kind="message"]').click();
      await bob.waitForSelector('.inbox-list .note:has-text("Secret plans for Friday")');
      await bob.waitForSelector('.toast:has-text("Secret plans for Friday")');
      assert.ok(Number(await bob.textContent('#badge')) >= 1);

      // Then Bob messages Alice: when it reaches Alice's spy stream, anything for Bob would already be there.
      await bob.evaluate(() =>
        fetch('/notifications/api/act', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ to: 'alice', kind: 'message', text: 'Got it' }),
        }),
      );
      await alice.waitForSelector('.inbox-list .note:has-text("Got it")');
      await alice.waitForFunction(() => (window as unknown as { spy: string[] }).spy.length > 0);
      const spied = await alice.evaluate(() => (window as unknown as { spy: string[] }).spy);
      assert.ok(
        spied.every((to) => to === 'alice'),
        `Alice's streams received only her own: ${spied.join(', ')}`,
      );
      const shown = await alice.$$eval('.note[data-to]', (notes) =>
        notes.map((n) => (n as HTMLElement).dataset.to),
      );
      assert.ok(shown.length > 0 && shown.every((to) => to === 'alice'));
      const bobShown = await bob.$$eval('.note[data-to]', (notes) =>
        notes.map((n) => (n as HTMLElement).dataset.to),
      );
      assert.ok(bobShown.every((to) => to === 'bob'));

      // A notification sent while the hub is down arrives once it is back (the backend's outbox, then replay).
      await server.stopHub();
      await bob.waitForSelector('#status[data-status="reconnecting"]');
      void alice.evaluate(() =>
        fetch('/notifications/api/act', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ to: 'bob', kind: 'message', text: 'Sent during the outage' }),
        }),
      );
      await new Promise((r) => setTimeout(r, 1_000));
      await server.startHub();
      await bob.waitForSelector('.inbox-list .note:has-text("Sent during the outage")', { timeout: 30_000 });
      assert.equal(await bob.locator('.inbox-list .note:has-text("Sent during the outage")').count(), 1);
    });
  });

  test('the dashboard shows live figures that move when pages connect', async (t) => {
    await withBrowser(t, async (browser) => {
      const page = await browser.newPage();
      await page.goto(`${server.url}/dashboard/`);
      await page.waitForSelector('#status[data-status="live"]');
      // A live sample (the history's samples may come from a hub that has since restarted).
      await page.waitForFunction(() => Number(document.body.dataset.live) > 0);
      const deliveries = Number(await page.evaluate(() => document.body.dataset.deliveries));
      const other = await browser.newPage();
      await other.goto(`${server.url}/sports/`);
      await other.waitForSelector('#status[data-status="live"]');
      await page.waitForFunction(
        () => Number(document.querySelector('#k-connections')?.textContent) >= 2,
        undefined,
        {
          timeout: 30_000,
        },
      );
      await page.waitForFunction((d) => Number(document.body.dataset.deliveries) > d, deliveries, {
        timeout: 30_000,
      });
      await page.waitForSelector('#selectors code:has-text("https://crier.example/sports/matches")');
    });
  });
});

/** A person's screens: a desktop window and a phone (touch, 390 px wide). */
const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, isMobile: false },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true },
] as const;

async function onEachScreen(
  browser: Browser,
  fn: (page: import('playwright-core').Page, screen: (typeof VIEWPORTS)[number]) => Promise<void>,
): Promise<void> {
  for (const screen of VIEWPORTS) {
    const context = await browser.newContext({
      viewport: screen.viewport,
      isMobile: screen.isMobile,
      hasTouch: screen.isMobile,
      deviceScaleFactor: screen.isMobile ? 2 : 1,
    });
    try {
      await fn(await context.newPage(), screen);
    } finally {
      await context.close();
    }
  }
}

describe('demo apps as a person uses them, at desktop and phone sizes', { concurrency: false }, () => {
  test('clicking a match card replaces the board with that match, shown at the top of the screen', async (t) => {
    await withBrowser(t, async (browser) => {
      await onEachScreen(browser, async (page, screen) => {
        await page.goto(`${server.url}/sports/`);
        await page.waitForSelector('.match-card[data-match="m8"]');
        // The last card on the board: on a phone it is far down the page, so the person scrolls to it.
        const id = await page.locator('.match-card').last().getAttribute('data-match');
        const last = page.locator(`.match-card[data-match="${id}"]`);
        await last.scrollIntoViewIfNeeded();
        if (screen.isMobile) await last.tap();
        else await last.click();
        await page.waitForSelector(`.hero[data-match="${id}"]`);
        assert.equal(
          await page.locator('.match-card:visible').count(),
          0,
          `${screen.name}: the board is hidden`,
        );
        assert.equal(await page.isVisible('#board'), false);
        // A live update may re-render the detail between the wait above and this read: wait for its box.
        await page.locator('.hero').waitFor({ state: 'visible' });
        const hero = (await page
          .waitForFunction(() => {
            const r = document.querySelector('.hero')?.getBoundingClientRect();
            return r !== undefined && r.height > 0 ? { y: r.y, height: r.height } : false;
          })
          .then((h) => h.jsonValue())) as { y: number; height: number };
        assert.ok(
          hero.y >= 0 && hero.y + hero.height / 2 < screen.viewport.height,
          `${screen.name}: the match opens on screen (hero at y=${hero.y})`,
        );
        // And back: the board returns, live.
        await page.click('.back');
        await page.waitForSelector('.match-card[data-match="m8"]:visible');
        assert.equal(await page.isVisible('#detail'), false);
      });
    });
  });

  test('a match detail lists its incidents with no empty row, also for a new fixture after full-time', async (t) => {
    await withBrowser(t, async (browser) => {
      await onEachScreen(browser, async (page, screen) => {
        await page.goto(`${server.url}/sports/`);
        await page.waitForSelector('.match-card[data-match="m8"]');
        // Wait for a match to end and a new fixture to take its slot (the simulator plays 4 minutes a second).
        let id: string | undefined;
        let ended: string | undefined;
        for (let i = 0; i < 600 && id === undefined; i++) {
          const { matches } = (await (await fetch(`${server.url}/sports/api/matches`)).json()) as {
            matches: { id: string; status: string }[];
          };
          if (ended === undefined) ended = matches.find((m) => m.status === 'full-time')?.id;
          else if (matches.find((m) => m.id === ended)?.status !== 'full-time') id = ended;
          if (id === undefined) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(id, 'a match reached full-time and a new fixture took its place');
        for (const match of [id, 'm1']) {
          await page.goto(`${server.url}/sports/`);
          const card = page.locator(`.match-card[data-match="${match}"]`);
          await card.scrollIntoViewIfNeeded();
          if (screen.isMobile) await card.tap();
          else await card.click();
          await page.waitForSelector(`.hero[data-match="${match}"]`);
          const rows = await page.$$eval('.events li', (items) =>
            items.map((li) => li.textContent?.trim() ?? ''),
          );
          assert.ok(rows.length > 0);
          assert.ok(
            rows.every((row) => row !== ''),
            `${screen.name}, ${match}: every row says something: ${JSON.stringify(rows)}`,
          );
        }
      });
    });
  });

  test('the ticker counts the symbols its filter shows', async (t) => {
    await withBrowser(t, async (browser) => {
      await onEachScreen(browser, async (page, screen) => {
        await page.goto(`${server.url}/ticker/`);
        await page.waitForSelector('tr[data-symbol]');
        const total = await page.locator('tr[data-symbol]').count();
        assert.equal(await page.textContent('#symbol-count'), String(total));
        const first = (await page.locator('tr[data-symbol]').first().getAttribute('data-symbol'))!;
        await page.locator('#filter').click();
        await page.keyboard.type(first);
        const shown = await page.locator('tr[data-symbol]:visible').count();
        assert.ok(shown >= 1 && shown < total);
        assert.equal(await page.textContent('#symbol-count'), `${shown} of ${total}`, screen.name);
        await page.locator('#filter').fill('');
        assert.equal(await page.textContent('#symbol-count'), String(total));
      });
    });
  });

  test('the dashboard charts have evenly spaced whole-number gridlines, and a value sits on its gridline', async (t) => {
    await withBrowser(t, async (browser) => {
      await onEachScreen(browser, async (page, screen) => {
        await page.goto(`${server.url}/dashboard/`);
        await page.waitForSelector('#status[data-status="live"]');
        // A few live samples, so the connections line (this page) is level at its right end.
        await page.waitForFunction(() => Number(document.body.dataset.live) > 3, undefined, {
          timeout: 15_000,
        });
        for (const chart of ['#c-deliveries', '#c-publishes', '#c-connections']) {
          const ticks = JSON.parse((await page.getAttribute(chart, 'data-ticks')) ?? '[]') as {
            label: string;
            y: number;
          }[];
          const values = ticks.map((tick) => {
            const m = /^([\d.]+)(k|M)?$/.exec(tick.label);
            assert.ok(m, `${screen.name} ${chart}: a number label, got ${tick.label}`);
            return Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1);
          });
          assert.ok(values.length >= 3, `${screen.name} ${chart}: ${JSON.stringify(ticks)}`);
          const step = values[1]! - values[0]!;
          for (const [i, v] of values.entries()) {
            assert.equal(v, i * step, `${screen.name} ${chart}: even steps ${values}`);
          }
          const gap = ticks[0]!.y - ticks[1]!.y;
          for (const [i, tick] of ticks.entries()) assert.ok(Math.abs(ticks[0]!.y - i * gap - tick.y) < 0.01);
        }
        // The connections line (this page alone, or a few more) at the right edge: where its value's gridline is.
        const { value, lineY } = await page.evaluate(() => {
          const canvas = document.querySelector<HTMLCanvasElement>('#c-connections')!;
          const ratio = canvas.width / canvas.clientWidth;
          const ctx = canvas.getContext('2d')!;
          const x = Math.round((canvas.clientWidth - 5) * ratio) - 1;
          const column = ctx.getImageData(x, 0, 1, canvas.height).data;
          const green: number[] = []; // the series colour #22c55e at full strength
          for (let row = 0; row < canvas.height; row++) {
            const [r, g, b, a] = [
              column[row * 4]!,
              column[row * 4 + 1]!,
              column[row * 4 + 2]!,
              column[row * 4 + 3]!,
            ];
            if (a > 200 && Math.abs(r - 0x22) < 24 && Math.abs(g - 0xc5) < 24 && Math.abs(b - 0x5e) < 24)
              green.push(row);
          }
          const mid = green.length === 0 ? Number.NaN : (green[0]! + green[green.length - 1]!) / 2;
          return { value: Number(document.querySelector('#k-connections')?.textContent), lineY: mid / ratio };
        });
        const ticks = JSON.parse((await page.getAttribute('#c-connections', 'data-ticks'))!) as {
          y: number;
        }[];
        const gap = ticks[0]!.y - ticks[1]!.y;
        const step = Number(JSON.parse((await page.getAttribute('#c-connections', 'data-ticks'))!)[1].label);
        const expected = ticks[0]!.y - (value / step) * gap;
        assert.ok(
          Math.abs(lineY - expected) <= 2,
          `${screen.name}: ${value} connections drawn at y=${lineY}, its gridline position is y=${expected}`,
        );
      });
    });
  });
});
