/**
 * The soak: `crier serve` holds N subscriber connections (spread over worker processes and loopback source
 * addresses) for a while, with steady publishing and churn (connections closing and reconnecting with
 * Last-Event-ID). It samples the hub's RSS and reports it over time, with the updates each reconnecting
 * client lost or received twice. `npm run soak` (scripts/soak.mjs) runs the full one; test/soak/soak.test.ts
 * a one-minute one.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { startHub, token, treeRssKiB } from '../support/hub-process.js';
import type { FromSoakWorker, ToSoakWorker, WorkerReport } from './soak-worker.js';

export interface SoakOptions {
  connections: number;
  durationMs: number;
  workers: number;
  /** Updates published per second (one topic, every subscriber gets each). */
  rate: number;
  /** Share of the connections each worker closes and reopens every second. */
  churn: number;
  sampleMs: number;
  /** Called with each RSS sample and progress line. */
  log?: (line: string) => void;
}

export interface SoakResult {
  connections: number;
  connected: number;
  published: number;
  publishFailures: number;
  /** [seconds since publishing started, hub RSS in KiB] */
  rss: Array<[number, number]>;
  totals: Omit<WorkerReport, 'type'>;
  hubAlive: boolean;
}

const TOPIC = 'https://example.com/soak';

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const hub = await startHub(undefined, {
    args: [
      '--anonymous',
      '--max-connections-per-ip',
      String(options.connections + 1000),
      '--max-connections',
      String(options.connections + 1000),
      '--history-size',
      '100000',
    ],
  });
  const workers: ChildProcess[] = [];
  try {
    const url = new URL(hub.url);
    url.searchParams.set('topic', TOPIC);
    const per = Math.ceil(options.connections / options.workers);
    const messages = new Map<ChildProcess, FromSoakWorker[]>();
    const next = (w: ChildProcess, type: FromSoakWorker['type'], timeoutMs: number) =>
      new Promise<FromSoakWorker>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`soak worker: no ${type} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const poll = () => {
          const i = messages.get(w)!.findIndex((m) => m.type === type);
          if (i >= 0) {
            clearTimeout(timer);
            resolve(messages.get(w)!.splice(i, 1)[0]!);
          } else setTimeout(poll, 50);
        };
        poll();
      });
    for (let i = 0; i < options.workers; i++) {
      const w = fork(new URL('./soak-worker.ts', import.meta.url).pathname, [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      messages.set(w, []);
      w.on('message', (m: FromSoakWorker) => messages.get(w)!.push(m));
      workers.push(w);
      const count = Math.min(per, options.connections - i * per);
      w.send({
        type: 'start',
        url: url.href,
        connections: count,
        localAddress: `127.0.0.${2 + (i % 250)}`,
        churn: options.churn,
      } satisfies ToSoakWorker);
    }
    let connected = 0;
    for (const w of workers) {
      const ready = await next(w, 'ready', 120_000);
      if (ready.type === 'ready') connected += ready.connected;
    }
    log(`connected ${connected} of ${options.connections} subscribers`);

    const publisher = await token({ publish: [TOPIC] });
    const publishUrl = new URL('/v1/publish', hub.origin);
    let seq = 0;
    let publishFailures = 0;
    const rss: Array<[number, number]> = [];
    const started = Date.now();
    const sample = () => {
      const kib = treeRssKiB(hub.pid) ?? 0;
      const at = Math.round((Date.now() - started) / 1000);
      rss.push([at, kib]);
      log(`t=${at}s hub RSS ${(kib / 1024).toFixed(1)} MiB, published ${seq}`);
    };
    sample();
    const sampler = setInterval(sample, options.sampleMs);
    // Publish `rate` updates per second in ten batches per second, each update carrying its sequence number.
    const perTick = Math.max(1, Math.round(options.rate / 10));
    while (Date.now() - started < options.durationMs) {
      const tickStart = Date.now();
      const batch = Array.from({ length: perTick }, () => ({ topics: [TOPIC], data: String(seq++) }));
      try {
        const res = await fetch(publishUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher}` },
          body: JSON.stringify(batch),
        });
        if (res.status !== 200) {
          publishFailures++;
          seq -= perTick; // not published: the numbers are reused, so a gap means a loss by the hub
        }
        await res.arrayBuffer();
      } catch {
        publishFailures++;
        seq -= perTick;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tickStart))));
    }
    clearInterval(sampler);
    sample();
    const last = seq - 1;
    for (const w of workers) w.send({ type: 'finish', last, deadlineMs: 30_000 } satisfies ToSoakWorker);
    const totals = {
      connections: 0,
      complete: 0,
      lost: 0,
      duplicated: 0,
      reconnects: 0,
      serverClosed: 0,
      non200: 0,
      errors: 0,
    };
    for (const w of workers) {
      const report = (await next(w, 'report', 60_000)) as WorkerReport;
      for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += report[key];
    }
    return {
      connections: options.connections,
      connected,
      published: seq,
      publishFailures,
      rss,
      totals,
      hubAlive: hub.alive(),
    };
  } finally {
    for (const w of workers) w.kill();
    await hub.stop('SIGKILL');
  }
}
