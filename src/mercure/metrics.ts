/**
 * Prometheus metrics for the hub (prom-client), on a registry of its own so several hubs in one process
 * (tests) do not clash. Gauges and counters read from the server library's `Hub.stats` at scrape time;
 * publishes and replays are counted as they happen.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Hub } from '../server/index.js';
import type { ConnectionGuard } from './connection-guard.js';
import type { TrackedEngine } from './tracked-engine.js';

export class HubMetrics {
  readonly registry = new Registry();
  readonly publishes: Counter<'status'>;
  readonly publishLatency: Histogram;
  readonly replays: Counter<'result'>;
  readonly disconnects: Counter<'reason'>;
  /** Connections refused by `--proxy-protocol`: untrusted, missing, malformed, timeout, pending. */
  readonly proxyRefused: Counter<'reason'>;

  constructor(hub: Hub, engine: TrackedEngine) {
    const registers = [this.registry];
    // Node's process metrics under their standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes…),
    // as every Node exporter and the Go hubs' process_* collectors name them.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'crier_connections',
      help: 'Subscriber connections open now.',
      registers,
      collect() {
        this.set(hub.stats.connections);
      },
    });
    new Gauge({
      name: 'crier_subscriptions',
      help: 'Subscriber connections open now (one subscription request each).',
      registers,
      collect() {
        this.set(hub.connectionCount);
      },
    });
    const counterFrom = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          // The library keeps the running total; the counter shows it at scrape time.
          this.reset();
          this.inc(read());
        },
      });
    counterFrom('crier_updates_total', 'Updates fanned out by this node.', () => hub.stats.updates);
    counterFrom(
      'crier_deliveries_total',
      'Events handed to subscriber connections.',
      () => hub.stats.deliveries,
    );
    counterFrom(
      'crier_writes_total',
      'Socket writes made by the fan-out; deliveries per write is the batching under load.',
      () => hub.stats.writes,
    );
    counterFrom(
      'crier_slow_disconnects_total',
      'Subscribers dropped because their buffer was full.',
      () => hub.stats.slowDisconnects,
    );
    counterFrom(
      'crier_stalled_disconnects_total',
      'Subscribers closed as half-open.',
      () => hub.stats.stalledDisconnects,
    );
    this.publishes = new Counter({
      name: 'crier_publishes_total',
      help: 'Publish requests by HTTP status.',
      labelNames: ['status'],
      registers,
    });
    this.replays = new Counter({
      name: 'crier_replays_total',
      help: 'Subscriptions that asked for replay, by result.',
      labelNames: ['result'],
      registers,
    });
    this.disconnects = new Counter({
      name: 'crier_disconnects_total',
      help: 'Subscriber disconnects by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.proxyRefused = new Counter({
      name: 'crier_proxy_protocol_refused_total',
      help: 'Connections closed before any request because of their PROXY header (--proxy-protocol), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.publishLatency = new Histogram({
      name: 'crier_publish_duration_seconds',
      help: 'Time to validate and store a publish.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    new Gauge({
      name: 'crier_engine_ready',
      help: '1 when the engine is ready, else 0.',
      registers,
      // Summed over the workers of `--workers N`, it would count them: the server is ready when all are.
      aggregator: 'min',
      async collect() {
        this.set((await engine.health()).ready ? 1 : 0);
      },
    });
    hub.on('disconnect', (_info, reason) => this.disconnects.inc({ reason }));
    // The Mercure hub's three metrics under its names, so its dashboards and alerts work unchanged
    // (docs/hub.md maps every Crier metric to Mercure's and Centrifugo's).
    new Gauge({
      name: 'mercure_subscribers_connected',
      help: 'The current number of running subscribers (Mercure name; same as crier_connections).',
      registers,
      collect() {
        this.set(hub.stats.connections);
      },
    });
    const subscribersTotal = new Counter({
      name: 'mercure_subscribers_total',
      help: 'Total number of handled subscribers (Mercure name).',
      registers,
    });
    hub.on('connect', () => subscribersTotal.inc());
    counterFrom(
      'mercure_updates_total',
      'Total number of handled updates (Mercure name; same as crier_updates_total).',
      () => hub.stats.updates,
    );
  }

  /** Connections that have not sent their request head: held now, and closed by the guard in all. */
  trackPending(guard: ConnectionGuard): void {
    const registers = [this.registry];
    new Gauge({
      name: 'crier_pending_connections',
      help: 'Connections that have not sent their request head yet.',
      registers,
      collect() {
        this.set(guard.pendingCount);
      },
    });
    new Counter({
      name: 'crier_pending_closed_total',
      help: 'Connections closed without a request head: past --headers-timeout or a --max-pending bound.',
      registers,
      collect() {
        this.reset();
        this.inc(guard.closedPending);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * What `/metrics` serves: this registry, unless replaced — a worker of `--workers N` serves the whole
   * server's figures, aggregated by the primary from every worker's registry (src/cli/workers.ts).
   */
  render: () => Promise<string> = () => this.registry.metrics();

  close(): void {
    this.registry.clear();
  }
}
