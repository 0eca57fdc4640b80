/**
 * `Liveness`: one timer for every connection of a hub — heartbeats, lifetimes and half-open detection.
 * It ticks every third of `heartbeatMs` (or every 5 s without heartbeats) and, for each open connection:
 * closes it at its jittered deadline (with a `retry:` so reconnects spread out); closes it as `stalled`
 * when bytes wait in its transport and do not drain for `stallTimeoutMs` (the peer stopped acknowledging);
 * writes a heartbeat comment after three ticks with nothing written. The counters it keeps live on the
 * connection (`deadline`, `idleTicks`, `stallTicks`, `lastBuffered`) and only this module writes them.
 */
import type { SseConnection } from './connection.js';
import { PreparedEvent } from './prepared.js';

export interface LivenessOptions {
  readonly heartbeatMs: number;
  readonly maxLifetimeMs: number;
  readonly lifetimeJitter: number;
  readonly stallTimeoutMs: number;
}

/** Heartbeat after this many idle ticks: between heartbeatMs and 4/3 of it. */
const IDLE_TICKS = 3;

export class Liveness {
  private readonly options: LivenessOptions;
  private readonly connections: ReadonlyMap<number, SseConnection>;
  /** The `retry:` written before a lifetime close. */
  private readonly retry: () => PreparedEvent;
  private readonly tickMs: number;
  private readonly timer: NodeJS.Timeout;
  private readonly heartbeat = PreparedEvent.ofFields({ comment: '' });

  constructor(
    options: LivenessOptions,
    connections: ReadonlyMap<number, SseConnection>,
    retry: () => PreparedEvent,
  ) {
    this.options = options;
    this.connections = connections;
    this.retry = retry;
    this.tickMs = options.heartbeatMs > 0 ? Math.max(50, options.heartbeatMs / 3) : 5_000;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Starts watching a new connection: draws its lifetime deadline. */
  watch(connection: SseConnection): void {
    const { maxLifetimeMs, lifetimeJitter } = this.options;
    if (maxLifetimeMs > 0)
      connection.deadline = Date.now() + maxLifetimeMs - Math.random() * maxLifetimeMs * lifetimeJitter;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    const stallTicks = Math.ceil(this.options.stallTimeoutMs / this.tickMs);
    const heartbeats = this.options.heartbeatMs > 0;
    for (const c of this.connections.values()) {
      const outbox = c.outbox;
      // Not open yet (its history is being read); a replaying one is checked for stalls like any other.
      if (outbox.closed || outbox.reading) continue;
      if (c.deadline > 0 && now >= c.deadline) {
        c.close('lifetime', [this.retry()]);
        continue;
      }
      // Half-open: bytes waiting that never drain (the peer stopped acknowledging).
      const buffered = outbox.buffered;
      if (buffered > 0 && buffered >= c.lastBuffered) {
        if (++c.stallTicks >= stallTicks) {
          c.close('stalled', [], false);
          continue;
        }
      } else c.stallTicks = 0;
      c.lastBuffered = buffered;
      if (heartbeats && !outbox.replaying) {
        if (outbox.takeWrote()) c.idleTicks = 0;
        else if (++c.idleTicks >= IDLE_TICKS && outbox.ping(this.heartbeat)) c.idleTicks = 0;
      }
    }
  }
}
