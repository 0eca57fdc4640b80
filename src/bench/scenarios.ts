/**
 * The measurements the CLI and `npm run bench` are made of, each one self-contained against any SSE
 * endpoint: hold N subscribers (`subscribe`), publish at a rate while they listen (`fanout`), measure
 * memory of idle subscribers (`idle`), and a reconnect storm with `Last-Event-ID` (`reconnectStorm`).
 */

import type { HistogramSummary } from './histogram.js';
import { type ConnectReport, type SubscribeOptions, SubscriberPool } from './pool.js';
import { type PublishOptions, type PublishReport, publish } from './publisher.js';
import { treeRssKiB } from './rss.js';
import { BenchError } from './target.js';

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  samples: number;
}

export interface FanoutResult {
  connect: ConnectReport;
  publish: PublishReport;
  /** Events published in this measurement and received while publishing or in the drain after it. */
  delivered: number;
  /** Events of earlier measurements still arriving during this one (an overloaded server's backlog). */
  stale: number;
  /** `(publishes sent and not refused) × connections / topics`: what a server that drops nothing would deliver. */
  expected: number;
  /** Subscriptions the server had closed by the end (e.g. dropped as slow consumers). */
  closed: number;
  /**
   * CPU the subscriber workers used while measuring, in cores (CPU seconds per second of publishing). Near
   * the cores the load generator has (1 when pinned to one), its own speed may limit the figures.
   */
  generatorCpu: number;
  /** Delivered events per second of publishing. */
  deliveriesPerSecond: number;
  latency: LatencyMs;
  /** Server RSS in KiB: before subscribers, with them connected and idle, and at the end. */
  rss?: { beforeKiB: number; connectedKiB: number; endKiB: number; perConnectionKiB: number };
}

export function toMs(s: HistogramSummary): LatencyMs {
  const ms = (v: number) => Math.round(v / 10) / 100;
  return {
    p50: ms(s.p50),
    p90: ms(s.p90),
    p99: ms(s.p99),
    p999: ms(s.p999),
    max: ms(s.max),
    samples: s.count,
  };
}

export interface FanoutOptions extends SubscribeOptions {
  publish: Omit<PublishOptions, 'topics'>;
  /** The server's pid, to read its RSS. */
  serverPid?: number;
  /** Seconds to wait after connecting before publishing (default 1). */
  settle?: number;
  /** Longest wait for events still in flight after the publisher stops, in ms (default 3000). */
  drainMs?: number;
  /** An already open pool to reuse (then `connections`/`url` describe it and it is left open). */
  pool?: SubscriberPool;
}

export async function fanout(options: FanoutOptions): Promise<FanoutResult> {
  const before = options.serverPid ? treeRssKiB(options.serverPid) : undefined;
  const pool = options.pool ?? (await SubscriberPool.open(options));
  try {
    await sleep((options.settle ?? 1) * 1000);
    const connected = options.serverPid ? treeRssKiB(options.serverPid) : undefined;
    await pool.mark();
    const pub = await publish({ ...options.publish, topics: options.topics ?? 1 });
    await pool.waitQuiet(500, options.drainMs ?? 3000);
    const report = await pool.report();
    const end = options.serverPid ? treeRssKiB(options.serverPid) : undefined;
    const topics = Math.max(1, options.topics ?? 1);
    const result: FanoutResult = {
      connect: pool.connectReport,
      publish: pub,
      delivered: report.events,
      stale: report.stale,
      closed: report.closed,
      generatorCpu: Math.round((report.cpuSeconds / pub.seconds) * 100) / 100,
      // Every publish that went out and was not refused (answered 2xx, or still unanswered at the end: an
      // overloaded server answers late) should reach every subscriber of its topic.
      expected: Math.round(((pub.sent - pub.skipped - pub.rejected) * report.connected) / topics),
      deliveriesPerSecond: report.events / pub.seconds,
      latency: toMs(report.latency.summary()),
    };
    if (before !== undefined && connected !== undefined && end !== undefined) {
      const n = Math.max(1, pool.connectReport.connected);
      result.rss = {
        beforeKiB: before,
        connectedKiB: connected,
        endKiB: end,
        perConnectionKiB: Math.round(((connected - before) / n) * 10) / 10,
      };
    }
    return result;
  } finally {
    if (!options.pool) await pool.close();
  }
}

export interface IdleResult {
  connect: ConnectReport;
  beforeKiB: number;
  connectedKiB: number;
  perConnectionKiB: number;
}

/** Opens the subscribers, waits `settle` seconds, and reads the server's RSS per connection. */
export async function idle(
  options: SubscribeOptions & {
    serverPid: number;
    settle?: number;
    pool?: SubscriberPool;
    beforeKiB?: number;
  },
): Promise<IdleResult> {
  const before = options.beforeKiB ?? treeRssKiB(options.serverPid) ?? 0;
  const pool = options.pool ?? (await SubscriberPool.open(options));
  try {
    await sleep((options.settle ?? 2) * 1000);
    const connected = treeRssKiB(options.serverPid) ?? 0;
    const n = Math.max(1, pool.connectReport.connected);
    return {
      connect: pool.connectReport,
      beforeKiB: before,
      connectedKiB: connected,
      perConnectionKiB: Math.round(((connected - before) / n) * 10) / 10,
    };
  } finally {
    if (!options.pool) await pool.close();
  }
}

export interface ReconnectStormResult {
  /** Events published before the storm. */
  backlog: number;
  lastEventId: string;
  connect: ConnectReport;
  /** Connections that received all `backlog` missed events. */
  caughtUp: number;
  /** Time from the start of the storm until each connection had caught up, in ms. */
  catchUp: LatencyMs;
  /** Time until the last connection caught up, in ms (-1 if not all did). */
  allCaughtUpMs: number;
}

/**
 * Publishes `backlog + 1` events while one probe subscriber listens and notes the id of the first, then
 * opens `connections` subscribers at once with `Last-Event-ID` set to that id: each should be sent the
 * `backlog` events after it. Reports how long until every subscriber had them all.
 */
export async function reconnectStorm(
  options: SubscribeOptions & {
    backlog: number;
    publish: Omit<PublishOptions, 'topics' | 'duration' | 'count'>;
    waitMs?: number;
  },
): Promise<ReconnectStormResult> {
  const probe = await SubscriberPool.open({
    ...options,
    connections: 1,
    workers: 1,
    captureIds: true,
    expectEvents: 1,
  });
  let firstId = '';
  try {
    // The first event alone, so its id can be read before the backlog is published.
    await publish({ ...options.publish, rate: 1000, duration: 5, count: 1 });
    for (let i = 0; i < 40 && firstId === ''; i++) {
      await sleep(50);
      firstId = (await probe.report()).lastEventId;
    }
    await publish({ ...options.publish, rate: options.publish.rate, duration: 60, count: options.backlog });
    await probe.waitQuiet(300, 3000);
  } finally {
    await probe.close();
  }
  if (firstId === '') {
    throw new BenchError(
      'NO_EVENT_IDS',
      'The server sent no `id:` with its events, so there is nothing to resume from: a reconnect storm needs replay.',
    );
  }
  const pool = await SubscriberPool.open({ ...options, lastEventId: firstId, expectEvents: options.backlog });
  try {
    const deadline = Date.now() + (options.waitMs ?? 15_000);
    while (pool.progress().caughtUp < pool.connectReport.connected && Date.now() < deadline) await sleep(100);
    const report = await pool.report();
    const summary = report.catchUp.summary();
    return {
      backlog: options.backlog,
      lastEventId: firstId,
      connect: pool.connectReport,
      caughtUp: report.caughtUp,
      catchUp: toMs(summary),
      allCaughtUpMs: report.caughtUp >= pool.connectReport.connections ? Math.round(summary.max / 1000) : -1,
    };
  } finally {
    await pool.close();
  }
}

/** Holds subscribers for `duration` seconds and reports what they received. */
export async function subscribe(options: SubscribeOptions & { duration: number }) {
  const pool = await SubscriberPool.open(options);
  try {
    await pool.mark();
    const start = performance.now();
    await sleep(options.duration * 1000);
    const report = await pool.report();
    const seconds = (performance.now() - start) / 1000;
    return {
      connect: pool.connectReport,
      events: report.events,
      eventsPerSecond: report.events / seconds,
      latency: toMs(report.latency.summary()),
      closed: report.closed,
      generatorCpu: Math.round((report.cpuSeconds / seconds) * 100) / 100,
      errorCodes: report.errorCodes,
    };
  } finally {
    await pool.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
