/**
 * `SubscriberPool`: N subscriptions spread over worker processes (one process may hold at most ~9,000
 * sockets under a 20,000 file limit) and over source addresses 127.0.0.2, .3, ... so the 28k ephemeral
 * ports of one address pair are not the limit. The parent only orchestrates; bytes are read in the workers.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { LatencyHistogram } from './histogram.js';
import { BenchError, isLoopback, nowMicros, parseHeaders, parseTarget } from './target.js';
import type { ToParent, ToWorker, WorkerCounts } from './worker-protocol.js';

export const MAX_SOCKETS_PER_WORKER = 9000;

export interface SubscribeOptions {
  /** The SSE endpoint; `%I` becomes the subscriber index modulo `topics`. */
  url: string;
  connections: number;
  /** Topics to spread subscribers over through `%I` (default 1: `%I` is always 0). */
  topics?: number;
  headers?: string[];
  /** Worker processes (default: enough for 9,000 sockets each, at least the CPUs available, at most 8). */
  workers?: number;
  /** Loopback source addresses to use, 127.0.0.2 upwards (default 16 for a loopback target, else 0). */
  sourceAddresses?: number;
  /** First source address's last byte (default 2): vary it between runs to leave TIME_WAIT ports alone. */
  sourceAddressBase?: number;
  /** Connects not answered within this many ms are abandoned and counted as failed (default 60,000). */
  connectTimeoutMs?: number;
  /** In-flight connects per worker (default 256). */
  connectConcurrency?: number;
  lastEventId?: string;
  expectEvents?: number;
  captureIds?: boolean;
  /** Called with the number of connections established so far, about 4 times a second while connecting. */
  onProgress?: (counts: WorkerCounts & { events: number }) => void;
}

export interface ConnectReport extends WorkerCounts {
  connections: number;
  /** Time until every connection had its response head or failed (the slowest worker). */
  connectMs: number;
  errorCodes: Record<string, number>;
}

export interface SubscribeReport extends ConnectReport {
  /** Events received since the last `mark()` that were published after it (or carry no `t`). */
  events: number;
  /** Events received since the last `mark()` that were published before it. */
  stale: number;
  /** CPU seconds the workers used since the last `mark()`, all together. */
  cpuSeconds: number;
  latency: LatencyHistogram;
  /** Time from open to `expectEvents` events received, per connection that got there. */
  catchUp: LatencyHistogram;
  lastEventId: string;
}

interface Worker {
  child: ChildProcess;
  waiters: Map<string, (m: ToParent) => void>;
  last: (WorkerCounts & { events: number }) | undefined;
}

function workerEntry(): { file: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    file: new URL(fromSource ? './subscriber-worker.ts' : './subscriber-worker.js', import.meta.url),
    // CRIER_BENCH_WORKER_ARGS (e.g. "--cpu-prof") is passed to the worker processes, to profile them.
    execArgv: [
      ...(fromSource ? ['--import', 'tsx'] : []),
      ...(process.env.CRIER_BENCH_WORKER_ARGS ?? '').split(' ').filter(Boolean),
    ],
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

export class SubscriberPool {
  private constructor(
    private readonly workers: Worker[],
    readonly connectReport: ConnectReport,
  ) {}

  /** Forks the workers, opens every subscription, and resolves when each has its head or failed. */
  static async open(options: SubscribeOptions): Promise<SubscriberPool> {
    const target = parseTarget(options.url);
    const headers = parseHeaders(options.headers ?? []);
    const n = options.connections;
    if (!Number.isInteger(n) || n < 0)
      throw new BenchError('BAD_OPTION', `connections must be a whole number, got ${n}.`);
    const needed = Math.ceil(n / MAX_SOCKETS_PER_WORKER);
    const workersWanted = options.workers ?? Math.min(8, Math.max(needed, availableParallelism()));
    const workerCount = Math.max(1, Math.min(Math.max(workersWanted, needed), Math.max(1, n)));
    if (Math.ceil(n / workerCount) > MAX_SOCKETS_PER_WORKER) {
      throw new BenchError(
        'BAD_OPTION',
        `${workerCount} workers cannot hold ${n} connections: use more workers.`,
      );
    }
    const sourceCount = options.sourceAddresses ?? (isLoopback(target.host) ? 16 : 0);
    const base = options.sourceAddressBase ?? 2;
    const sourceAddresses = Array.from(
      { length: sourceCount },
      (_, i) => `127.0.0.${((base - 2 + i) % 250) + 2}`,
    );
    const topics = Math.max(1, options.topics ?? 1);

    const entry = workerEntry();
    const workers: Worker[] = [];
    for (let w = 0; w < workerCount; w++) {
      const child = fork(entry.file, [], {
        execArgv: entry.execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const worker: Worker = { child, waiters: new Map(), last: undefined };
      child.on('message', (m: ToParent) => {
        if (m.type === 'progress') {
          worker.last = m;
          return;
        }
        const waiter = worker.waiters.get(m.type);
        worker.waiters.delete(m.type);
        waiter?.(m);
      });
      child.on('exit', (code) => {
        for (const waiter of worker.waiters.values()) waiter({ type: 'closed' });
        worker.waiters.clear();
        if (code !== 0 && code !== null) process.emitWarning(`bench worker exited with code ${code}`);
      });
      workers.push(worker);
    }
    const pool = new SubscriberPool(workers, {
      connections: n,
      connectMs: 0,
      connected: 0,
      failed: 0,
      non200: 0,
      closed: 0,
      malformed: 0,
      caughtUp: 0,
      errorCodes: {},
    });
    const progress = options.onProgress
      ? setInterval(() => options.onProgress?.(pool.progress()), 250).unref()
      : undefined;
    const replies = await Promise.all(
      workers.map((worker, w) => {
        const indices: number[] = [];
        for (let i = w; i < n; i += workerCount) indices.push(i % topics);
        return pool.ask(
          worker,
          {
            type: 'open',
            target,
            indices,
            headers,
            sourceAddresses: rotate(sourceAddresses, w),
            connectConcurrency: options.connectConcurrency ?? 256,
            expectEvents: options.expectEvents ?? 0,
            captureIds: options.captureIds ?? false,
            connectTimeoutMs: options.connectTimeoutMs ?? 60_000,
            ...(options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId }),
          },
          'connected',
        );
      }),
    );
    if (progress) clearInterval(progress);
    const report = pool.connectReport;
    for (const r of replies) {
      if (r.type !== 'connected')
        throw new BenchError('WORKER_FAILED', 'A load generator worker exited while connecting.');
      report.connectMs = Math.max(report.connectMs, r.connectMs);
      report.connected += r.connected;
      report.failed += r.failed;
      report.non200 += r.non200;
      report.closed += r.closed;
      addCounts(report.errorCodes, r.errorCodes);
    }
    return pool;
  }

  private ask(worker: Worker, message: ToWorker, reply: ToParent['type']): Promise<ToParent> {
    return new Promise((resolve) => {
      if (!worker.child.connected) {
        resolve({ type: 'closed' });
        return;
      }
      worker.waiters.set(reply, resolve);
      worker.child.send(message);
    });
  }

  /** The latest counts the workers sent (every 250 ms). */
  progress(): WorkerCounts & { events: number } {
    const total = { connected: 0, failed: 0, non200: 0, closed: 0, malformed: 0, caughtUp: 0, events: 0 };
    for (const w of this.workers) {
      if (!w.last) continue;
      for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += w.last[k];
    }
    return total;
  }

  /**
   * Starts a measurement window: from here on, events and latencies count only for events published
   * (their `t`) after this moment; older ones still arriving are counted as `stale`.
   */
  async mark(): Promise<void> {
    const since = nowMicros();
    await Promise.all(this.workers.map((w) => this.ask(w, { type: 'mark', since }, 'marked')));
  }

  /** Waits until no worker has reported a new event for `quietMs`, at most `maxMs`. */
  async waitQuiet(quietMs = 500, maxMs = 3000): Promise<void> {
    const start = Date.now();
    let last = this.progress().events;
    let lastChange = Date.now();
    while (Date.now() - start < maxMs) {
      await new Promise((r) => setTimeout(r, 125));
      const now = this.progress().events;
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange >= quietMs) return;
    }
  }

  async report(): Promise<SubscribeReport> {
    const replies = await Promise.all(this.workers.map((w) => this.ask(w, { type: 'report' }, 'report')));
    const latency = new LatencyHistogram();
    const catchUp = new LatencyHistogram();
    const out: SubscribeReport = {
      ...this.connectReport,
      errorCodes: {},
      connected: 0,
      failed: 0,
      non200: 0,
      closed: 0,
      malformed: 0,
      caughtUp: 0,
      events: 0,
      stale: 0,
      cpuSeconds: 0,
      latency,
      catchUp,
      lastEventId: '',
    };
    for (const r of replies) {
      if (r.type !== 'report') continue;
      latency.add(LatencyHistogram.fromSparse(r.histogram));
      catchUp.add(LatencyHistogram.fromSparse(r.catchUp));
      out.events += r.events;
      out.stale += r.stale;
      out.cpuSeconds += r.cpuMicros / 1e6;
      out.connected += r.connected;
      out.failed += r.failed;
      out.non200 += r.non200;
      out.closed += r.closed;
      out.malformed += r.malformed;
      out.caughtUp += r.caughtUp;
      addCounts(out.errorCodes, r.errorCodes);
      if (r.lastEventId) out.lastEventId = r.lastEventId;
    }
    return out;
  }

  /** Closes every subscription and ends the workers. */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        const exited = new Promise<void>((resolve) => {
          if (w.child.exitCode !== null || w.child.signalCode !== null) resolve();
          else w.child.once('exit', () => resolve());
        });
        await Promise.race([this.ask(w, { type: 'close' }, 'closed'), exited]);
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

function rotate<T>(items: T[], by: number): T[] {
  if (items.length === 0) return items;
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
