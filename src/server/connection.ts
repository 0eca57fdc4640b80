/**
 * `SseConnection`: one subscriber's stream, whatever the transport. The hub talks to this class only; a
 * subclass per transport (node:http, node:http2, Fetch) supplies five primitives: open, write one, write
 * many, how many bytes are waiting, terminate.
 *
 * Where bytes leave: `offer` (called by the hub's fan-out for each matching event) → `send` → either
 * `writeOne` straight to the transport (the socket is idle), or the connection's queue, flushed by the hub
 * once per event-loop turn with a single `writeMany`.
 */
import type { StoredUpdate, StreamPosition } from '../engines/engine.js';
import type { Batch, SubscriberGroup } from './group.js';
import type { Hub } from './hub.js';
import type { PreparedEvent } from './prepared.js';
import type { Replay } from './replay.js';
import type { Subscription } from './request.js';
import { matchesAny, type TopicSelector } from './selectors.js';

export type CloseReason =
  | 'client' // the client went away
  | 'slow' // its buffer passed maxBufferedBytes
  | 'stalled' // half-open: its buffer did not drain for stallTimeoutMs
  | 'lifetime' // maxLifetimeMs reached
  | 'shutdown' // hub.close()
  | 'engine-reset' // the engine lost continuity
  | 'server'; // closed by the application (connection.close())

let nextConnectionId = 1;

export abstract class SseConnection {
  readonly id = nextConnectionId++;
  readonly selectors: readonly TopicSelector[];
  /** Present while a replay is being read: live events wait here, then are joined without gap or duplicate. */
  backlog: PreparedEvent[] | null = null;
  /** Present while history is being written in slices (live events still wait in `backlog`). */
  replay: Replay | null = null;
  /**
   * After a replay: the position the history read was complete up to. Live updates at or below it were
   * sent by the replay, yet can still arrive afterwards (in the group's end-of-turn batch, or from an
   * engine whose live stream lags its history); they are skipped until one beyond it arrives.
   */
  covered: StreamPosition | null = null;
  /** Events waiting for this turn's flush (null when none: most connections, most of the time). */
  queue: PreparedEvent[] | null = null;
  queuedBytes = 0;
  /** True once `close` or the transport ended it. */
  closed = false;
  /** Set by every write; the heartbeat tick clears it and counts idle ticks. */
  wrote = true;
  idleTicks = 0;
  stallTicks = 0;
  lastBuffered = 0;
  deadline = 0;
  /** The group of connections with the same subscription shape; set by the hub. */
  group: SubscriberGroup | null = null;
  protected readonly hub: Hub;
  private readonly privateSelectors: readonly TopicSelector[] | null;
  private readonly conflation: Conflation | null;

  constructor(hub: Hub, subscription: Subscription) {
    this.hub = hub;
    this.selectors = subscription.selectors;
    this.privateSelectors = subscription.privateSelectors;
    this.conflation = subscription.maxRate > 0 ? new Conflation(this, 1000 / subscription.maxRate) : null;
  }

  /** Sends the response head (status 200 and the SSE headers plus `headers`) and the first bytes. */
  abstract open(headers: Record<string, string>, first: readonly PreparedEvent[]): void;
  /** Bytes accepted but not yet handed to the kernel (or to the reader, for Fetch). */
  abstract get buffered(): number;
  /** Writes one event now. */
  protected abstract writeOne(event: PreparedEvent): void;
  /** Writes several events in one write. */
  protected abstract writeMany(events: readonly PreparedEvent[]): void;
  /** Writes a batch shared with other connections (its bytes are joined once for all of them). */
  protected abstract writeBatch(batch: Batch): void;
  /** Ends the stream: gracefully (the bytes written still go out) or at once. */
  protected abstract terminate(graceful: boolean): void;

  /**
   * Writes a slice of replay in one write and calls `drained` once the transport has taken it (the socket
   * drained), never if the stream failed. Transports override this with their own drain signal; this
   * fallback polls `buffered`.
   */
  writeSlice(events: readonly PreparedEvent[], drained: () => void): void {
    this.writeNow(events);
    const poll = () => {
      if (this.closed) return;
      if (this.buffered === 0) drained();
      else setTimeout(poll, 10);
    };
    setImmediate(poll);
  }

  /** Whether this subscription should get the update: a selector matches, and it may see it if private. */
  wants(update: StoredUpdate): boolean {
    if (!matchesAny(this.selectors, update.topics)) return false;
    return (
      !update.private || (this.privateSelectors !== null && matchesAny(this.privateSelectors, update.topics))
    );
  }

  /** Whether the replay already sent this event; clears `covered` once the live stream is past it. */
  private replayed(event: PreparedEvent): boolean {
    const update = event.update;
    const covered = this.covered!;
    if (update !== null && update.epoch === covered.epoch && update.offset <= covered.offset) return true;
    if (update !== null) this.covered = null;
    return false;
  }

  // ---- the hot path -------------------------------------------------------------------------------

  /**
   * Called by the hub's fan-out for an event whose topics matched this connection's selectors (and that
   * its group may receive: private updates are filtered once per group).
   */
  offer(event: PreparedEvent): void {
    if (this.backlog !== null) {
      this.backlog.push(event);
      this.queuedBytes += event.payload.length;
      if (this.queuedBytes > this.hub.options.maxBufferedBytes) this.hub.dropSlow(this);
      return;
    }
    if (this.covered !== null && this.replayed(event)) return;
    if (this.conflation !== null) this.conflation.offer(event);
    else this.send(event);
  }

  /** Writes through when the transport is idle and the hub is not in a burst; otherwise queues for the flush. */
  send(event: PreparedEvent): void {
    if (this.closed) return;
    if (this.queue !== null) {
      this.queue.push(event);
      this.queuedBytes += event.payload.length;
      if (this.queuedBytes + this.buffered > this.hub.options.maxBufferedBytes) this.hub.dropSlow(this);
      return;
    }
    const buffered = this.buffered;
    if (buffered === 0 && !this.hub.coalescing) {
      this.wrote = true;
      this.writeOne(event);
      this.hub.countWrite();
      return;
    }
    // Work is piling up (bytes still in the socket, or a second event this turn): coalesce.
    if (buffered + event.payload.length > this.hub.options.maxBufferedBytes) {
      this.hub.dropSlow(this);
      return;
    }
    this.enqueue([event], event.payload.length);
  }

  /** Starts this connection's queue; the hub's flush writes it in one go. */
  private enqueue(events: PreparedEvent[], bytes: number): void {
    this.queue = events;
    this.queuedBytes = bytes;
    this.hub.markDirty(this);
  }

  /** Called by the hub at the end of a turn with its group's batch: one write, bytes shared with the group. */
  sendBatch(batch: Batch): void {
    if (this.closed) return;
    if (this.covered !== null && this.backlog === null) {
      // Just joined after a replay: the batch may hold updates the history read already sent.
      for (const e of batch.events) if (this.covered === null || !this.replayed(e)) this.send(e);
      return;
    }
    const max = this.hub.options.maxBufferedBytes;
    if (this.backlog !== null || this.queue !== null) {
      // Replaying, or already queued this turn (busy socket): append, keep the order.
      const held = this.queuedBytes + (this.backlog === null ? this.buffered : 0);
      if (held + batch.size > max) {
        this.hub.dropSlow(this);
        return;
      }
      const list = this.backlog ?? this.queue!;
      for (const e of batch.events) list.push(e);
      this.queuedBytes += batch.size;
      return;
    }
    if (this.buffered + batch.size > max) {
      this.hub.dropSlow(this);
      return;
    }
    if (this.hub.coalescing) {
      // The flush is behind or this turn's slice is spent: queue, to go out with what arrives meanwhile.
      this.enqueue([...batch.events], batch.size);
      return;
    }
    this.wrote = true;
    this.writeBatch(batch);
    this.hub.countWrite();
  }

  /** Called by the hub's flush for each connection with a queue: everything queued in one write. */
  flush(): void {
    const queue = this.queue;
    this.queue = null;
    this.queuedBytes = 0;
    if (queue === null || this.closed) return;
    this.wrote = true;
    if (queue.length === 1) this.writeOne(queue[0]!);
    else this.writeMany(queue);
    this.hub.countWrite();
  }

  // ---- control -------------------------------------------------------------------------------------

  /** Writes control events (heartbeat, `retry:`) or a replay batch now, in one write. */
  writeNow(events: readonly PreparedEvent[]): void {
    if (this.closed || events.length === 0) return;
    this.wrote = true;
    if (events.length === 1) this.writeOne(events[0]!);
    else this.writeMany(events);
  }

  /**
   * Closes the stream. `last` (e.g. a jittered `retry:`) is written first, queued events before it.
   * The hub is told through `ended`, once.
   */
  close(reason: CloseReason, last: readonly PreparedEvent[] = [], graceful = true): void {
    if (this.closed) return;
    if (graceful) {
      const pending = this.queue ?? [];
      this.queue = null;
      this.writeNow([...pending, ...last]);
    }
    this.closed = true;
    this.conflation?.stop();
    this.hub.detach(this, reason);
    this.hub.draining.add(this);
    this.terminate(graceful);
  }

  /** Transports call this when the peer went away or the stream failed. */
  protected ended(): void {
    this.hub.draining.delete(this);
    if (this.closed) return;
    this.closed = true;
    this.conflation?.stop();
    this.hub.detach(this, 'client');
  }
}

/**
 * Conflation (for tickers): at most one event per `intervalMs` per topic (the update's first topic); an
 * event arriving sooner replaces the one waiting for that topic (latest wins) and goes out when the
 * interval has passed. Applies to live events only; replay sends history as stored.
 */
class Conflation {
  private readonly lastSent = new Map<string, number>();
  private readonly waiting = new Map<string, PreparedEvent>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly connection: SseConnection,
    private readonly intervalMs: number,
  ) {}

  offer(event: PreparedEvent): void {
    const key = event.update!.topics[0]!;
    const now = performance.now();
    const last = this.lastSent.get(key);
    if (!this.waiting.has(key) && (last === undefined || now - last >= this.intervalMs)) {
      this.lastSent.set(key, now);
      this.connection.send(event);
      return;
    }
    this.waiting.set(key, event);
    if (this.timer === null) this.timer = setTimeout(this.release, this.intervalMs);
  }

  private readonly release = (): void => {
    this.timer = null;
    const now = performance.now();
    for (const [key, event] of this.waiting) {
      const last = this.lastSent.get(key) ?? 0;
      if (now - last < this.intervalMs) continue;
      this.waiting.delete(key);
      this.lastSent.set(key, now);
      this.connection.send(event);
    }
    if (this.waiting.size > 0) this.timer = setTimeout(this.release, this.intervalMs / 4);
    // Forget topics idle for a while, so the maps stay as small as the set of active topics.
    if (this.lastSent.size > 1024) {
      for (const [key, at] of this.lastSent) if (now - at > this.intervalMs * 4) this.lastSent.delete(key);
    }
  };

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
  }
}
