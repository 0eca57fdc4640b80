/**
 * `Scheduler`: turns and time slices — when the bytes of a fan-out leave. One per hub.
 *
 * The first update of an event-loop turn writes through to idle sockets; later ones in the same turn are
 * queued (in their group's batch, or in a connection's outbox) and leave together in the end-of-turn
 * flush: one write per connection for the whole burst. After a turn with several updates, or while an
 * earlier flush is still being written (work is piling up), even the first one is queued. Writes are
 * sliced by time (`flushSliceMs`): past the slice, outboxes queue instead of writing and the flush yields
 * to I/O, going on next turn — under load each write carries more events instead of the backlog growing.
 *
 * The scheduler knows groups and queues, not connections: an outbox with a queue is a `Queued`.
 */

import { type Deflated, deflateEvents } from './compression.js';
import { Batch, type SubscriberGroup } from './group.js';
import { joinEvents, type PreparedEvent } from './prepared.js';

/** An outbox with events queued for the end-of-turn flush. */
export interface Queued {
  /** Writes everything queued in one write. */
  flush(): void;
}

/** The counters the scheduler keeps up to date (the hub's `stats`). */
export interface DeliveryCounters {
  deliveries: number;
  writes: number;
}

export class Scheduler {
  /**
   * True when outboxes should queue instead of writing through: a second update in this event-loop turn,
   * a flush carried over from an earlier turn, or this turn's time slice for writes is spent.
   */
  coalescing = false;
  /** Bytes that may wait for one connection before it is dropped as slow (`maxBufferedBytes`). */
  readonly maxBufferedBytes: number;
  private readonly counters: DeliveryCounters;
  private readonly sliceMs: number;
  private dirtyGroups: SubscriberGroup[] = [];
  /** Outboxes with a queue, flushed first come first written; `dirtyAt` is where the flush resumes. */
  private dirty: Queued[] = [];
  private dirtyAt = 0;
  /** When this slice of writes ends: past it, outboxes queue and the flush yields. */
  private deadline = 0;
  private overBudget = false;
  private turnScheduled = false;
  private turnUpdates = 0;
  /** The previous turn fanned out more than one update: start this one coalescing. */
  private busy = false;
  private current: PreparedEvent | null = null;
  private seq = 0;
  /** This turn's joined batches, by first seq (×2, +1 when framed): most connections share one buffer. */
  private joined = new Map<number, { last: number; bytes: Buffer }>();
  /**
   * The same for compressed connections, by first seq then last: every distinct run is deflated once per
   * turn (a deflate costs tens of µs; connections whose queues differ must not each pay it).
   */
  private deflatedRuns = new Map<number, Map<number, Deflated>>();

  constructor(counters: DeliveryCounters, options: { maxBufferedBytes: number; flushSliceMs: number }) {
    this.counters = counters;
    this.maxBufferedBytes = options.maxBufferedBytes;
    this.sliceMs = options.flushSliceMs;
  }

  /**
   * Starts the fan-out of one update (encoded once): numbers it for `join`, and decides whether this turn
   * writes through or queues. Then the hub visits each matching group with `visit`, then calls `end`.
   */
  begin(event: PreparedEvent): void {
    event.seq = this.seq++;
    if (this.turnUpdates++ === 0) this.startSlice();
    if (this.turnUpdates > 1 || this.busy || this.dirtyAt < this.dirty.length) this.coalescing = true;
    this.scheduleTurn();
    this.current = event;
  }

  end(): void {
    this.current = null;
  }

  /** One visit per matching group (bound once, so a fan-out allocates no closure). */
  readonly visit = (group: SubscriberGroup): void => {
    const event = this.current!;
    if (!group.mayReceive(event.update!)) return;
    if (this.coalescing && group.batchable) {
      // In a burst: append once for the whole group; its members get the batch at the end of the turn.
      if (group.pending === null) {
        group.pending = [event];
        this.dirtyGroups.push(group);
      } else group.pending.push(event);
      return;
    }
    this.counters.deliveries += group.members.size;
    for (const member of group.members) member.offer(event);
  };

  /** An outbox queued its first event of this turn. */
  markDirty(queued: Queued): void {
    this.dirty.push(queued);
    this.scheduleTurn();
  }

  /** Counts one write; every 64th checks the clock, and once the slice is spent makes outboxes queue. */
  countWrite(): void {
    if ((++this.counters.writes & 63) === 0 && !this.overBudget && performance.now() > this.deadline) {
      this.overBudget = true;
      this.coalescing = true;
    }
  }

  /**
   * The bytes of several events for one write. In a burst most connections queued the very same run of
   * updates (consecutive fan-out seqs), so the joined buffer is built once per turn and shared, like a
   * single event's bytes are. Anything else (a filtered subset, replay, control events) is joined alone.
   */
  join(events: readonly PreparedEvent[], framed: boolean): Buffer {
    const first = events[0]!.seq;
    if (first < 0) return joinEvents(events, framed);
    for (let i = 1; i < events.length; i++)
      if (events[i]!.seq !== first + i) return joinEvents(events, framed);
    const key = first * 2 + (framed ? 1 : 0);
    const last = first + events.length - 1;
    const hit = this.joined.get(key);
    if (hit !== undefined && hit.last === last) return hit.bytes;
    const bytes = joinEvents(events, framed);
    if (hit === undefined) this.joined.set(key, { last, bytes });
    return bytes;
  }

  /** `join` for connections with a content coding: the run deflated once (compression.ts), shared. */
  deflate(events: readonly PreparedEvent[]): Deflated {
    const first = events[0]!.seq;
    if (first < 0 || events.length === 1) return deflateEvents(events);
    for (let i = 1; i < events.length; i++) if (events[i]!.seq !== first + i) return deflateEvents(events);
    const last = first + events.length - 1;
    let runs = this.deflatedRuns.get(first);
    const hit = runs?.get(last);
    if (hit !== undefined) return hit;
    const deflated = deflateEvents(events);
    if (runs === undefined) {
      runs = new Map();
      this.deflatedRuns.set(first, runs);
    }
    runs.set(last, deflated);
    return deflated;
  }

  /**
   * The end-of-turn flush: each dirty group's batch to its members, then every queue, first come first
   * written, until the slice is spent. Also called at shutdown, so closes write what is pending.
   */
  readonly endTurn = (): void => {
    const burst = this.turnUpdates > 1;
    this.turnScheduled = false;
    this.turnUpdates = 0;
    this.startSlice();
    const carried = this.dirtyAt < this.dirty.length;
    this.coalescing = carried;
    // Groups first: a member already queued appends the batch to its queue, flushed just after.
    const groups = this.dirtyGroups;
    this.dirtyGroups = [];
    for (const group of groups) {
      const batch = new Batch(group.pending!);
      group.pending = null;
      this.counters.deliveries += batch.events.length * group.members.size;
      for (const member of group.members) member.sendBatch(batch);
    }
    const dirty = this.dirty;
    let at = this.dirtyAt;
    while (at < dirty.length && !this.overBudget) {
      dirty[at++]!.flush();
    }
    this.coalescing = false;
    if (at < dirty.length) {
      // Out of time: yield to I/O and go on next turn (compacting the list now and then).
      if (at > 1024 && at * 2 > dirty.length) {
        this.dirty = dirty.slice(at);
        at = 0;
      }
      this.dirtyAt = at;
      this.busy = true;
      this.turnScheduled = true;
      setImmediate(this.endTurn);
      if (this.joined.size > 256) this.joined = new Map();
      if (this.deflatedRuns.size > 256) this.deflatedRuns = new Map();
      return;
    }
    this.dirty = [];
    this.dirtyAt = 0;
    this.busy = burst || carried;
    if (this.joined.size > 0) this.joined = new Map();
    if (this.deflatedRuns.size > 0) this.deflatedRuns = new Map();
  };

  private scheduleTurn(): void {
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.endTurn);
    }
  }

  private startSlice(): void {
    this.overBudget = false;
    this.deadline = performance.now() + this.sliceMs;
  }
}
