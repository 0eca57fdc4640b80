/**
 * The demo apps on a Crier hub: a football scoreboard, a trading ticker, social notifications and the hub
 * dashboard. `crier serve --demo` calls `startDemo` with its hub and mounts `handle` before the hub's own
 * routes. The simulators are backends like any other: they publish with HTTP POSTs to the hub's Mercure
 * endpoint using the publisher token; pages subscribe with the browser client (`crier-sse/client`).
 *
 * Browser code lives in apps/<app>/ (bundled by scripts/build-apps.mjs into dist/apps/<app>/); this
 * module and the backends are bundled into dist/apps/server.js.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hub } from '../src/server/index.js';
import { STATS_TOPIC, type StatsHistory } from './dashboard/model.js';
import { StatsFeed } from './dashboard/server.js';
import { sendFile, sendJson } from './http.js';
import { NotificationsBackend } from './notifications/server.js';
import { HubPublisher, Outbox } from './publisher.js';
import type { MatchesSnapshot } from './sports/model.js';
import { SPORTS_ALL_TOPIC } from './sports/model.js';
import { SportsSimulator } from './sports/simulator.js';
import { TickerFeed } from './ticker/feed.js';
import { TICKER_TOPIC_TEMPLATE, type TickerSnapshot } from './ticker/model.js';

export interface DemoContext {
  /** The server library's hub: stats, subscribersOf, connectionCount, connect/disconnect events. */
  hub: Hub;
  /** Absolute URL of the Mercure endpoint, e.g. http://127.0.0.1:3000/.well-known/mercure */
  hubUrl: string;
  /** A JWT that may publish to every topic (the simulators POST with it, as a real backend would). */
  publisherToken: string;
  /** Mints a subscriber JWT (`mercure.subscribe`) for the `mercureAuthorization` cookie or a Bearer header. */
  signSubscriberToken(subscribe: string[], ttlSeconds: number): Promise<string>;
}

export interface DemoOptions {
  /** Where the built pages are (dist/apps). Default: beside this module when built, else <repo>/dist/apps. */
  staticDir?: string;
  /** Ticker updates per second per symbol. Default 20 (or $CRIER_DEMO_TICKER_RATE). */
  tickerRate?: number;
  /** Ticker symbols. Default 120. */
  tickerSymbols?: number;
  /** Real milliseconds per football minute. Default 1,000. */
  minuteMs?: number;
  /** Mean ms between background notifications per user. Default 6,000. */
  activityMs?: number;
  /**
   * The apps to run. Default all four; `['dashboard']` is the hub dashboard alone (`crier serve --dashboard`
   * without `--demo`): no simulators, no demo pages, and the dashboard lists no demo topics.
   */
  apps?: readonly DemoApp[];
}

export type DemoApp = (typeof APPS)[number];

export interface Demo {
  /** Serves the demo's pages and APIs; returns false (untouched) for anything else. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Stops the simulators and timers. */
  close(): Promise<void>;
}

const APPS = ['sports', 'ticker', 'notifications', 'dashboard'] as const;

function defaultStaticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  if (existsSync(join(here, 'server.js'))) return here; // dist/apps/server.js
  return resolve(here, '..', 'dist', 'apps'); // apps/index.ts run from source
}

export function startDemo(ctx: DemoContext, options: DemoOptions = {}): Demo {
  const root = resolve(options.staticDir ?? defaultStaticDir());
  const hubPath = new URL(ctx.hubUrl).pathname;
  const publisher = new HubPublisher(ctx.hubUrl, ctx.publisherToken, 16);
  const reliable = new HubPublisher(ctx.hubUrl, ctx.publisherToken, 4);
  const sportsOutbox = new Outbox(reliable);
  const notificationsOutbox = new Outbox(reliable);

  const envRate = Number(process.env.CRIER_DEMO_TICKER_RATE);
  const apps = new Set<string>(options.apps ?? APPS);
  const demo = apps.has('sports') || apps.has('ticker') || apps.has('notifications');
  const sports = apps.has('sports')
    ? new SportsSimulator(sportsOutbox, { minuteMs: options.minuteMs })
    : undefined;
  const ticker = apps.has('ticker')
    ? new TickerFeed(publisher, {
        rate: options.tickerRate ?? (envRate > 0 ? envRate : 20),
        symbols: options.tickerSymbols,
      })
    : undefined;
  const notifications = apps.has('notifications')
    ? new NotificationsBackend(notificationsOutbox, {
        hubPath,
        signSubscriberToken: (s, ttl) => ctx.signSubscriberToken(s, ttl),
        activityMs: options.activityMs,
      })
    : undefined;
  const stats = apps.has('dashboard')
    ? new StatsFeed(() => ctx.hub, publisher, demo ? ticker?.symbols[0]?.symbol : undefined)
    : undefined;

  async function api(app: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (!apps.has(app)) return false;
    if (app === 'sports' && sports && path === 'matches' && req.method === 'GET') {
      const snap = sports.snapshot();
      const body: MatchesSnapshot = {
        hub: hubPath,
        allTopic: SPORTS_ALL_TOPIC,
        matches: snap.matches,
        lastEventId: snap.lastEventId ?? null,
      };
      sendJson(res, 200, body);
      return true;
    }
    if (app === 'ticker' && ticker && path === 'symbols' && req.method === 'GET') {
      const body: TickerSnapshot = {
        hub: hubPath,
        topicTemplate: TICKER_TOPIC_TEMPLATE,
        rate: ticker.rate,
        symbols: ticker.symbols,
      };
      sendJson(res, 200, body);
      return true;
    }
    if (app === 'notifications' && notifications) return notifications.api(req, res, path);
    if (app === 'dashboard' && stats && path === 'history' && req.method === 'GET') {
      const body: StatsHistory = { hub: hubPath, topic: STATS_TOPIC, demo, samples: stats.samples };
      sendJson(res, 200, body);
      return true;
    }
    if (app === 'dashboard' && path === 'token' && req.method === 'GET') {
      // A short-lived token for the stats topic only. A real deployment puts the dashboard behind its own login.
      const token = await ctx.signSubscriberToken([STATS_TOPIC], 300);
      res
        .writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
        .end(token);
      return true;
    }
    return false;
  }

  async function serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const parts = path.split('/').filter((p) => p !== '');
    const app = parts[0] ?? 'home';
    if (parts[1] === 'api') {
      if (await api(app, parts.slice(2).join('/'), req, res)) return;
      sendJson(res, 404, { error: `No such API: ${path}` });
      return;
    }
    if (parts.length === 0) {
      if (await sendFile(req, res, root, 'home/index.html')) return;
    } else if (parts.length >= 2 && (await sendFile(req, res, root, parts.join('/')))) {
      return;
    } else if (await sendFile(req, res, root, `${app}/index.html`)) {
      return; // /sports/m3 and the like are client-side routes of the app
    }
    res
      .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
      .end(
        existsSync(join(root, 'home', 'index.html'))
          ? `Not found: ${path}\n`
          : `The demo pages are not built: run \`npm run build\` (scripts/build-apps.mjs) first.\n`,
      );
  }

  return {
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      const app = path.split('/')[1] ?? '';
      const ours =
        path === '/favicon.ico' ||
        path.startsWith('/shared/') ||
        apps.has(app) ||
        (demo && (path === '/' || app === 'home'));
      if (!ours) return false;
      if (path === '/favicon.ico') {
        void sendFile(req, res, root, 'shared/favicon.svg').then((found) => {
          if (!found) res.writeHead(404).end();
        });
        return true;
      }
      serve(req, res, path).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(error) });
        else res.destroy();
      });
      return true;
    },
    async close() {
      sports?.close();
      ticker?.close();
      notifications?.close();
      stats?.close();
      sportsOutbox.close();
      notificationsOutbox.close();
      publisher.close();
      reliable.close();
    },
  };
}
