/**
 * `Outbox`: one connection's delivery state, and the only code that writes to its transport. It owns the
 * queue of this turn, the backlog of live events held while history is read and written, the replay being
 * written, the position the replay covered, the byte bound and conflation.
 *
 * Where bytes leave: `offer` (the fan-out, one event) or `sendBatch` (the end-of-turn batch of a group) →
 * `send` → either `transport.write` now (the transport is idle and the scheduler is not in a burst), or the
 * queue, which the scheduler flushes once per turn with a single write (`flush`).
 */
import type { StreamPosition } from '../engines/engine.js';
import { noop, type Transport } from './adapters/transport.js';
import { frameChunk } from './chunk.js';
import { type Deflated, deflateEvents, type StreamCoder } from './compression.js';
import type { DeltaChoice } from './delta.js';
import type { Batch, GroupMember } from './group.js';
import { eventBytes, PreparedEvent } from './prepared.js';
import type { Replay } from './replay.js';
import type { Queued, Scheduler } from './scheduler.js';

/** What an outbox tells the connection that owns it. */
export interface OutboxOwner {
  /** What waits for this connection passed `maxBufferedBytes`: it must be dropped (it resumes by replay). */
  overflowed(): void;
  /** The next page of history could not be read, or has a gap: the connection must close so the client resumes. */
  replayBroken(error?: unknown): void;
}

/** A replay slice of at most this many events is written by reference (writev); a longer one is joined. */
const SHARED_SLICE_EVENTS = 64;
const CRLF = Buffer.from('\r\n', 'latin1');

export class Outbox implements GroupMember, Queued {
  /** True once the connection is closed (by the server or the peer): nothing is written any more. */
  closed = false;
  private readonly transport: Transport;
  private readonly scheduler: Scheduler;
  private readonly owner: OutboxOwner;
  /** Events waiting for this turn's flush (null when none: most connections, most of the time). */
  private queue: PreparedEvent[] | null = null;
  /** Bytes in `queue`, or in `backlog` while it is held. */
  private queuedBytes = 0;
  /** Present while history is read and written: live events wait here, then follow it without gap or duplicate. */
  private backlog: PreparedEvent[] | null = null;
  /** Present while history is being written in slices (live events still wait in `backlog`). */
  private replay: Replay | null = null;
  /**
   * After a replay: the position the history read was complete up to. Live updates at or below it were
   * sent by the replay, yet can still arrive afterwards (in the group's end-of-turn batch, or from an
   * engine whose live stream lags its history); they are skipped until one beyond it arrives.
   */
  private covered: StreamPosition | null = null;
  private readonly conflation: Conflation | null;
  /** A delta subscriber's choice of variant per event (src/server/delta.ts); null for the others. */
  delta: DeltaChoice | null = null;
  /** Set by every write but a heartbeat; the liveness ticker reads and clears it (`takeWrote`). */
  private wrote = true;
  /**
   * The connection's content coding, if it negotiated one: every write is then the shared deflated bytes
   * of what is written (compression.ts), and this keeps the little its framing needs.
   */
  private readonly coder: StreamCoder | null;

  constructor(
    transport: Transport,
    scheduler: Scheduler,
    owner: OutboxOwner,
    maxRate: number,
    coder: StreamCoder | null = null,
  ) {
    this.transport = transport;
    this.scheduler = scheduler;
    this.owner = owner;
    this.conflation = maxRate > 0 ? new Conflation(this, 1000 / maxRate) : null;
    this.coder = coder;
  }

  /**
   * Opens the stream: the response head (`headers` added to the SSE ones) with the first events; with a
   * content coding, the coding's header and the first events' deflated bytes.
   */
  open(headers: Record<string, string>, first: readonly PreparedEvent[]): void {
    const coder = this.coder;
    if (coder === null) {
      this.transport.open(headers, first);
      return;
    }
    const opening = coder.open(first.length === 0 ? null : deflateEvents(first));
    this.transport.open(headers, [new PreparedEvent(opening)]);
  }

  /** Bytes written and not yet taken by the transport. */
  get buffered(): number {
    return this.transport.buffered;
  }

  /** Bytes held by this outbox and its transport (what the slow-consumer bound counts). */
  get heldBytes(): number {
    return this.transport.buffered + this.queuedBytes;
  }

  /** History is being read (the stream is not open yet). */
  get reading(): boolean {
    return this.backlog !== null && this.replay === null;
  }

  /** History is being written. */
  get replaying(): boolean {
    return this.replay !== null;
  }

  /** Whether anything was written since the last call (heartbeats aside). */
  takeWrote(): boolean {
    const wrote = this.wrote;
    this.wrote = false;
    return wrote;
  }

  // ---- the hot path -------------------------------------------------------------------------------

  /**
   * One event of the fan-out, whose topics matched this connection's selectors (and that its group may
   * receive: private updates are filtered once per group).
   */
  offer(event: PreparedEvent): void {
    if (this.backlog !== null) {
      this.hold(event);
      return;
    }
    if (this.covered !== null && this.replayed(event)) return;
    if (this.conflation !== null) this.conflation.offer(event);
    else this.send(event);
  }

  /** Writes through when the transport is idle and the scheduler is not in a burst; otherwise queues for the flush. */
  send(event: PreparedEvent): void {
    if (this.closed) return;
    if (this.delta !== null) event = this.delta.pick(event);
    const max = this.scheduler.maxBufferedBytes;
    if (this.queue !== null) {
      this.queue.push(event);
      this.queuedBytes += event.payload.length;
      if (this.queuedBytes + this.transport.buffered > max) this.owner.overflowed();
      return;
    }
    const buffered = this.transport.buffered;
    if (buffered === 0 && !this.scheduler.coalescing) {
      this.wrote = true;
      if (this.coder !== null) this.writeDeflated(event.deflated);
      else this.transport.write(this.transport.framed ? event.chunk : event.payload);
      this.scheduler.countWrite();
      return;
    }
    // Work is piling up (bytes still in the transport, or a second event this turn): coalesce.
    if (buffered + event.payload.length > max) {
      this.owner.overflowed();
      return;
    }
    this.enqueue([event], event.payload.length);
  }

  /** The group's batch at the end of a turn: one write, bytes shared with the group. */
  sendBatch(batch: Batch): void {
    if (this.closed) return;
    if ((this.delta !== null || this.covered !== null) && this.backlog === null) {
      // Event by event through `send`: a delta subscriber's bytes are its own choice of variants, and one
      // just joined after a replay may find in the batch updates the history read already sent.
      for (const e of batch.events) if (this.covered === null || !this.replayed(e)) this.send(e);
      return;
    }
    const max = this.scheduler.maxBufferedBytes;
    if (this.backlog !== null || this.queue !== null) {
      // Replaying, or already queued this turn (busy transport): append, keep the order.
      const held = this.queuedBytes + (this.backlog === null ? this.transport.buffered : 0);
      if (held + batch.size > max) {
        this.owner.overflowed();
        return;
      }
      const list = this.backlog ?? this.queue!;
      for (const e of batch.events) list.push(e);
      this.queuedBytes += batch.size;
      return;
    }
    if (this.transport.buffered + batch.size > max) {
      this.owner.overflowed();
      return;
    }
    if (this.scheduler.coalescing) {
      // The flush is behind or this turn's slice is spent: queue, to go out with what arrives meanwhile.
      this.enqueue([...batch.events], batch.size);
      return;
    }
    this.wrote = true;
    if (this.coder !== null) this.writeDeflated(batch.deflated);
    else this.transport.write(batch.bytes(this.transport.framed));
    this.scheduler.countWrite();
  }

  /** The scheduler's flush: everything queued, in one write. */
  flush(): void {
    const queue = this.queue;
    this.queue = null;
    this.queuedBytes = 0;
    if (queue === null || this.closed) return;
    this.wrote = true;
    this.writeEvents(queue);
    this.scheduler.countWrite();
  }

  /** Starts this outbox's queue; the scheduler's flush writes it in one go. */
  private enqueue(events: PreparedEvent[], bytes: number): void {
    this.queue = events;
    this.queuedBytes = bytes;
    this.scheduler.markDirty(this);
  }

  private writeEvents(events: readonly PreparedEvent[]): void {
    if (this.coder !== null) {
      this.writeDeflated(events.length === 1 ? events[0]!.deflated : this.scheduler.deflate(events));
      return;
    }
    const framed = this.transport.framed;
    if (events.length === 1) this.transport.write(framed ? events[0]!.chunk : events[0]!.payload);
    else this.transport.write(this.scheduler.join(events, framed));
  }

  /** Compressed bytes, shared with every connection that gets the same write; the coder counts them. */
  private writeDeflated(deflated: Deflated): void {
    this.coder!.add(deflated);
    this.transport.write(this.transport.framed ? deflated.chunk : deflated.block);
  }

  /** Whether the replay already sent this event; clears `covered` once the live stream is past it. */
  private replayed(event: PreparedEvent): boolean {
    const update = event.update;
    const covered = this.covered!;
    if (update !== null && update.epoch === covered.epoch && update.offset <= covered.offset) return true;
    if (update !== null) this.covered = null;
    return false;
  }

  // ---- one connection alone ------------------------------------------------------------------------

  /** An event for this connection alone (`Hub.send`): after what is queued, and after history if replaying. */
  push(event: PreparedEvent): void {
    if (this.backlog !== null) this.hold(event);
    else this.send(event);
  }

  /** Control events (`retry:` before a close) now, in one write; nothing when closed. */
  writeNow(events: readonly PreparedEvent[]): void {
    if (this.closed || events.length === 0) return;
    this.wrote = true;
    this.writeEvents(events);
  }

  /**
   * A heartbeat, unless something is queued (a flush about to go out says the same): false then. Not
   * counted as a write.
   */
  ping(heartbeat: PreparedEvent): boolean {
    if (this.queue !== null) return false;
    if (!this.closed) this.writeEvents([heartbeat]);
    return true;
  }

  /** Ends delivery: gracefully writes what is queued and `last`, then the transport ends. */
  close(last: readonly PreparedEvent[], graceful: boolean): void {
    if (this.closed) return;
    if (graceful) {
      const pending = this.queue ?? [];
      this.queue = null;
      this.writeNow([...pending, ...last]);
      // A clean end of compressed data: the final block and the trailer (the client checks them).
      if (this.coder?.opened === true && !this.closed) {
        const trailer = this.coder.trailer();
        this.transport.write(this.transport.framed ? frameChunk(trailer) : trailer);
      }
    }
    this.closed = true;
    this.conflation?.stop();
    this.transport.terminate(graceful);
  }

  /** The transport went away (the peer left, or the stream failed). */
  gone(): void {
    this.closed = true;
    this.conflation?.stop();
  }

  // ---- history -------------------------------------------------------------------------------------

  /** History is about to be read: hold live events until it is written. */
  holdLive(): void {
    this.backlog = [];
  }

  private hold(event: PreparedEvent): void {
    this.backlog!.push(event);
    this.queuedBytes += event.payload.length;
    if (this.queuedBytes > this.scheduler.maxBufferedBytes) this.owner.overflowed();
  }

  /**
   * Starts writing `replay`: its first slice is appended to `first` (which goes out with the response
   * head; a short replay is over with it). Once the transport is open, `continueReplay` writes the rest.
   */
  startReplay(replay: Replay, first: PreparedEvent[]): void {
    this.replay = replay;
    replay.next(replay.sliceBytes, first);
    if (replay.done) this.endReplay(first);
  }

  /**
   * Writes the next slice of the replay; called again once the transport has taken it. When the page is
   * all written, reads the next one first.
   */
  continueReplay(): void {
    const replay = this.replay;
    if (this.closed || replay === null) return;
    if (replay.needsPage) {
      void this.replayPage(replay);
      return;
    }
    const slice = replay.next(replay.sliceBytes);
    if (replay.done) this.endReplay(slice);
    if (slice.length > 0) this.writeSlice(slice, replay.done ? noop : () => this.continueReplay());
    else if (!replay.done) this.continueReplay(); // the page held nothing this connection wants
  }

  /**
   * Reads the next page of a replay, then goes on writing. A page that does not continue where the last
   * one stopped (history trimmed meanwhile), or a failed read, closes the connection: the client resumes
   * from the last ID it got and is told of the gap — nothing is skipped silently.
   */
  private async replayPage(replay: Replay): Promise<void> {
    let ok = false;
    let failure: unknown;
    try {
      ok = await replay.load();
    } catch (error) {
      failure = error;
    }
    if (this.closed || this.replay !== replay) return;
    if (ok) this.continueReplay();
    else this.owner.replayBroken(failure);
  }

  /**
   * History is all handed out: live events of the backlog that the history read did not cover follow it
   * (appended to `out`), and the outbox goes live.
   */
  private endReplay(out: PreparedEvent[]): void {
    const covered = this.replay!.covered;
    for (const event of this.backlog!) {
      const u = event.update;
      // No update: a message sent to this connection alone (`send`), always after the history.
      if (u === null || u.epoch !== covered.epoch || u.offset > covered.offset) out.push(event);
    }
    this.backlog = null;
    this.replay = null;
    this.covered = covered;
    this.queuedBytes = 0;
  }

  /**
   * Writes a slice of replay in one write and calls `drained` once the transport has taken it. Few, large
   * events go by reference (their shared payloads in one writev, one chunk when framed); many are joined.
   */
  private writeSlice(events: readonly PreparedEvent[], drained: () => void): void {
    if (this.closed) return;
    this.wrote = true;
    const framed = this.transport.framed;
    if (this.coder !== null) {
      // History is this connection's alone: deflated here (public runs together, private ones alone), by a
      // compressor freed at once.
      const deflated = deflateEvents(events);
      this.coder.add(deflated);
      this.transport.writeThen([framed ? deflated.chunk : deflated.block], drained);
      return;
    }
    if (events.length > SHARED_SLICE_EVENTS) {
      this.transport.writeThen([eventBytes(events, framed)], drained);
      return;
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const e of events) total += e.payload.length;
    if (framed) parts.push(Buffer.from(`${total.toString(16)}\r\n`, 'latin1'));
    for (const e of events) parts.push(e.payload);
    if (framed) parts.push(CRLF);
    this.transport.writeThen(parts, drained);
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
    private readonly outbox: Outbox,
    private readonly intervalMs: number,
  ) {}

  offer(event: PreparedEvent): void {
    const key = event.update!.topics[0]!;
    const now = performance.now();
    const last = this.lastSent.get(key);
    if (!this.waiting.has(key) && (last === undefined || now - last >= this.intervalMs)) {
      this.lastSent.set(key, now);
      this.outbox.send(event);
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
      this.outbox.send(event);
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
