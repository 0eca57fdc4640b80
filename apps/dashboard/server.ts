/**
 * The dashboard's stats feed: once a second, read the server library's `hub.stats` (and the subscriber
 * counts it keeps), turn the counters into rates, and publish the sample as a *private* update to
 * `STATS_TOPIC` through the hub's publish API. The dashboard page subscribes with a short-lived subscriber
 * token sent as `Authorization: Bearer` (the client fetches a fresh one before every reconnect), so the
 * charts are fed by the hub over SSE like any other app. The last samples are kept so a page that opens
 * draws full charts at once.
 */
import type { ConnectionInfo, Hub } from '../../src/server/index.js';
import type { HubPublisher } from '../publisher.js';
import { matchTopic, SPORTS_ALL_TOPIC } from '../sports/model.js';
import { tickerTopic } from '../ticker/model.js';
import { STATS_TOPIC, type StatsSample } from './model.js';

const KEEP = 180;

export class StatsFeed {
  readonly samples: StatsSample[] = [];
  private readonly selectors = new Map<string, number>();
  private readonly connections = new Map<number, readonly string[]>();
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();
  private watched: Hub | undefined;
  private last: { t: number; updates: number; deliveries: number } | undefined;

  /** `hub()` is read every second: the hub may be replaced (a restart in tests) while the demo runs. */
  constructor(
    private readonly hub: () => Hub,
    private readonly publisher: HubPublisher,
    /** A ticker symbol whose topic the demo-topics table counts; undefined for the dashboard alone (no table). */
    private readonly tickerSample: string | undefined,
    intervalMs = 1_000,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.watch();
  }

  close(): void {
    clearInterval(this.timer);
    this.unwatch();
  }

  private readonly onConnect = (info: ConnectionInfo): void => {
    this.connections.set(info.id, info.selectors);
    for (const s of info.selectors) this.selectors.set(s, (this.selectors.get(s) ?? 0) + 1);
  };

  private readonly onDisconnect = (info: ConnectionInfo): void => {
    if (!this.connections.delete(info.id)) return;
    for (const s of info.selectors) {
      const n = (this.selectors.get(s) ?? 1) - 1;
      if (n <= 0) this.selectors.delete(s);
      else this.selectors.set(s, n);
    }
  };

  private watch(): void {
    const hub = this.hub();
    if (hub === this.watched) return;
    this.unwatch();
    this.watched = hub;
    hub.on('connect', this.onConnect);
    hub.on('disconnect', this.onDisconnect);
  }

  private unwatch(): void {
    this.watched?.off('connect', this.onConnect);
    this.watched?.off('disconnect', this.onDisconnect);
    this.watched = undefined;
    this.connections.clear();
    this.selectors.clear();
    this.last = undefined;
  }

  sample(): StatsSample {
    this.watch();
    const hub = this.hub();
    const now = Date.now();
    const { updates, deliveries, slowDisconnects, stalledDisconnects } = hub.stats;
    const dt = this.last ? (now - this.last.t) / 1000 : 0;
    const rate = (a: number, b: number) => (dt > 0 ? Math.max(0, Math.round((a - b) / dt)) : 0);
    const sample: StatsSample = {
      t: now,
      connections: hub.connectionCount,
      publishesPerSec: this.last ? rate(updates, this.last.updates) : 0,
      deliveriesPerSec: this.last ? rate(deliveries, this.last.deliveries) : 0,
      totals: { updates, deliveries, slowDisconnects, stalledDisconnects },
      selectors: [...this.selectors]
        .map(([selector, subscribers]) => ({ selector, subscribers }))
        .sort((a, b) => b.subscribers - a.subscribers || a.selector.localeCompare(b.selector))
        .slice(0, 25),
      topicCount: this.selectors.size,
      apps: this.tickerSample === undefined ? [] : this.demoTopics(hub, this.tickerSample),
      uptime: Math.round((now - this.started) / 1000),
    };
    this.last = { t: now, updates, deliveries };
    this.samples.push(sample);
    if (this.samples.length > KEEP) this.samples.shift();
    void this.publisher.publish({
      topics: [STATS_TOPIC],
      data: JSON.stringify(sample),
      type: 'stats',
      private: true,
    });
    return sample;
  }

  private demoTopics(hub: Hub, tickerSample: string): StatsSample['apps'] {
    return [
      {
        name: 'Scoreboard · all matches',
        topic: SPORTS_ALL_TOPIC,
        subscribers: hub.subscribersOf(SPORTS_ALL_TOPIC),
      },
      {
        name: 'Scoreboard · match m1',
        topic: matchTopic('m1'),
        subscribers: hub.subscribersOf(matchTopic('m1')),
      },
      {
        name: `Ticker · ${tickerSample}`,
        topic: tickerTopic(tickerSample),
        subscribers: hub.subscribersOf(tickerTopic(tickerSample)),
      },
      { name: 'Dashboard stats', topic: STATS_TOPIC, subscribers: hub.subscribersOf(STATS_TOPIC) },
    ];
  }
}
