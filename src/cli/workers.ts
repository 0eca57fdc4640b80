/**
 * `crier serve --workers N`: the hub on N worker processes (node:cluster), one command, no Redis, no nginx.
 *
 * The primary process accepts nothing itself: node:cluster hands each new connection to a worker in turn.
 * What must be one for the whole server lives in the primary:
 *
 * - The store, with `--store memory` or `sqlite:PATH`: the primary holds the engine and orders every update;
 *   each worker's hub runs on a `ClusterEngine` (src/engines/cluster) that forwards publishes and history
 *   reads over IPC and receives each update once, encoded once per worker. With `redis://` or `nats://` each
 *   worker opens its own engine and is a node of that cluster like any other.
 * - `--publish-rate`: the token buckets are the primary's; a worker asks before it accepts a publish.
 * - `/metrics`: the worker that gets the scrape asks the primary, which aggregates every worker's registry
 *   (prom-client's AggregatorRegistry: counters and gauges summed, process figures per their aggregator).
 * - The subscriptions API: the primary gathers the active subscriptions of every worker.
 * - Connection limits (`--max-connections`, `--max-connections-per-ip`, `--max-selector-cost-per-ip`,
 *   `--max-pending`, `--max-pending-per-ip`) are divided: each worker enforces its share, the limit / N
 *   rounded up, without asking anyone on the accept path. Connections are dealt to the workers in turn,
 *   so the total admitted stays within N shares (the limit rounded up to a multiple of N); an address
 *   whose connections land unevenly can be refused somewhat below its limit (docs/hub.md).
 *
 * A worker that dies is forked again; its subscribers reconnect to the others and resume by Last-Event-ID
 * from the primary's history. SIGTERM or SIGINT to the primary closes every worker gracefully, then the
 * store. A primary that dies takes the workers with it (node:cluster ends workers whose primary is gone):
 * a supervisor (systemd, Docker) restarts it, and with a SQLite store history resumes from the file.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { answerRequests, ClusterCaller, primaryChannel, workerChannel } from '../engines/cluster/channel.js';
import { ClusterEngine, ClusterEngineHost } from '../engines/cluster/cluster-engine.js';
import type { Engine } from '../engines/engine.js';
import type { HubConfig } from '../mercure/config.js';
import { RateLimiter } from '../mercure/rate-limit.js';
import { keysFromConfig, MercureServer, openStore } from '../mercure/server.js';
import type { ActiveSubscription } from '../mercure/subscriptions.js';
import { printBanner } from './banner.js';
import { closeOnSignal } from './signals.js';
import { WORKERS_ENV } from './worker-env.js';

/** Requests from a worker to the primary. */
const HUB = 'crier:hub';
/** Requests from the primary to a worker. */
const WORKER = 'crier:worker';
/** A worker's message once it listens. */
const READY = 'crier:ready';

/** How long a worker's graceful close may take before the primary kills it. */
const CLOSE_TIMEOUT_MS = 15_000;

type Filter = { match?: string; matchType?: string; subscriber?: string };

export function serveWorkers(config: HubConfig): Promise<number> {
  return cluster.isPrimary ? runPrimary(config) : runWorker(config);
}

/** Whether the primary holds the store (memory, SQLite) rather than each worker joining a broker. */
function primaryHoldsStore(config: HubConfig): boolean {
  return config.store === 'memory' || config.store.startsWith('sqlite:');
}

function plainError(error: { message: string }): Error {
  return new Error(error.message);
}

// ---- the primary ------------------------------------------------------------------------------------

async function runPrimary(config: HubConfig): Promise<number> {
  const n = config.workers;
  // One key for the whole server: a key generated here is handed to every worker.
  const { generated } = keysFromConfig(config);
  let host: ClusterEngineHost | undefined;
  if (primaryHoldsStore(config)) {
    let engine: Engine;
    try {
      engine = await openStore(config);
      const health = await engine.health();
      if (!health.ready) throw new Error(health.detail ?? 'the store is not ready');
    } catch (error) {
      console.error(`crier serve: could not start: ${(error as Error).message}`);
      return 1;
    }
    host = new ClusterEngineHost(engine);
    host.attachWorkers(cluster);
  }
  const limiter = config.publishRate > 0 ? new RateLimiter(config.publishRate) : null;
  const aggregator = new AggregatorRegistry();
  /** Each live worker's caller, for the requests the primary makes of workers. */
  const callers = new Map<number, ClusterCaller>();

  const gatherSubscriptions = async (filter: Filter): Promise<ActiveSubscription[]> => {
    const lists = await Promise.all(
      [...callers.values()].map((caller) =>
        Promise.race([
          caller.call<ActiveSubscription[]>('subscriptions', filter),
          new Promise<ActiveSubscription[]>((resolve) => setTimeout(() => resolve([]), 2_000).unref()),
        ]).catch(() => [] as ActiveSubscription[]),
      ),
    );
    return lists.flat();
  };

  cluster.on('fork', (worker: Worker) => {
    const channel = primaryChannel(worker);
    callers.set(worker.id, new ClusterCaller(channel, WORKER, plainError));
    answerRequests(channel, HUB, (op, args) => {
      switch (op) {
        case 'take':
          return limiter === null ? 0 : limiter.take(String(args[0]));
        case 'metrics':
          return aggregator.clusterMetrics();
        case 'subscriptions':
          return gatherSubscriptions((args[0] ?? {}) as Filter);
        default:
          throw new Error(`Unknown request ${JSON.stringify(op)}.`);
      }
    });
  });

  let stopping = false;
  let quickDeaths = 0;
  const startedAt = new Map<number, number>();
  const fork = () => {
    const env: Record<string, string> = { [WORKERS_ENV]: String(n) };
    if (generated !== undefined) env.CRIER_JWT_KEY = generated;
    const worker = cluster.fork(env);
    startedAt.set(worker.id, Date.now());
    return worker;
  };

  // Start: every worker listening, or the first failure.
  const ready = new Promise<{ origin: string; url: string; adminOrigin?: string } | string>((resolve) => {
    let listening = 0;
    const onMessage = (_worker: Worker, message: unknown) => {
      const m = message as { crier?: string; origin: string; url: string; adminOrigin?: string };
      if (m?.crier !== READY) return;
      if (++listening === n) {
        cluster.off('message', onMessage);
        cluster.off('exit', onEarlyExit);
        resolve(m);
      }
    };
    const onEarlyExit = (_worker: Worker, code: number | null, signal: string | null) => {
      cluster.off('message', onMessage);
      cluster.off('exit', onEarlyExit);
      resolve(`a worker exited while starting (${signal ?? `status ${code}`})`);
    };
    cluster.on('message', onMessage);
    cluster.on('exit', onEarlyExit);
  });
  for (let i = 0; i < n; i++) fork();
  const started = await ready;
  if (typeof started === 'string') {
    console.error(`crier serve: could not start: ${started}`);
    stopping = true;
    await stopWorkers();
    await host?.close();
    return 1;
  }

  cluster.on('exit', (worker, code, signal) => {
    callers.get(worker.id)?.close(new Error('the worker exited'));
    callers.delete(worker.id);
    if (stopping) return;
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    quickDeaths = lived < 5_000 ? quickDeaths + 1 : 0;
    // A worker that keeps dying at once is not restarted in a tight loop: the pause grows to 10 s.
    const pause = Math.min(10_000, quickDeaths === 0 ? 0 : 100 * 2 ** Math.min(quickDeaths, 7));
    console.error(
      `crier serve: worker ${worker.process.pid} exited (${signal ?? `status ${code}`}); starting another${pause > 0 ? ` in ${pause} ms` : ''}.`,
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, pause);
  });

  await printBanner({
    origin: started.origin,
    url: started.url,
    adminOrigin: started.adminOrigin,
    generatedKey: generated,
    workers: n,
  });

  await closeOnSignal(async () => {});
  stopping = true;
  await stopWorkers();
  await host?.close();
  return 0;
}

/** SIGTERM to every worker (each closes its subscribers gracefully), SIGKILL to any still alive after the bound. */
async function stopWorkers(): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          const timer = setTimeout(() => worker.process.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          worker.process.kill('SIGTERM');
        }),
    ),
  );
}

// ---- a worker ---------------------------------------------------------------------------------------

async function runWorker(config: HubConfig): Promise<number> {
  const n = Number(process.env[WORKERS_ENV] ?? config.workers);
  const share = (limit: number) => Math.ceil(limit / n);
  const workerConfig: HubConfig = {
    ...config,
    maxConnections: share(config.maxConnections),
    maxConnectionsPerIp: share(config.maxConnectionsPerIp),
    maxSelectorCostPerIp: share(config.maxSelectorCostPerIp),
    maxPending: share(config.maxPending),
    maxPendingPerIp: share(config.maxPendingPerIp),
  };
  const channel = workerChannel();
  const primary = new ClusterCaller(channel, HUB, plainError);
  let hub: MercureServer;
  try {
    hub = await MercureServer.create(workerConfig, {
      engine: primaryHoldsStore(config) ? new ClusterEngine({ channel }) : undefined,
      publishLimiter: { take: (key) => primary.call<number>('take', key) },
      findSubscriptions: (filter) => primary.call<ActiveSubscription[]>('subscriptions', filter),
    });
    await hub.listen();
  } catch (error) {
    console.error(`crier serve: worker ${process.pid} could not start: ${(error as Error).message}`);
    return 1;
  }
  // This worker's figures go to the primary's aggregate; a scrape on any worker serves the aggregate.
  // (Constructing one installs prom-client's answer to the primary's requests in this process.)
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([hub.metrics.registry]);
  hub.metrics.render = () => primary.call<string>('metrics');
  answerRequests(channel, WORKER, (op, args) => {
    if (op === 'subscriptions') return hub.subscriptions.find((args[0] ?? {}) as Filter);
    throw new Error(`Unknown request ${JSON.stringify(op)}.`);
  });
  channel.send({ crier: READY, origin: hub.origin, url: hub.url, adminOrigin: hub.adminOrigin });
  await closeOnSignal(() => hub.close());
  primary.close(new Error('the worker is closing'));
  // The IPC channel to the primary would keep the process alive: the hub is closed, so the worker is done.
  process.exit(0);
}
