/**
 * `SubscriberGroup`: the connections that share one subscription shape (the same selectors, the same
 * private rights, no conflation). The topic index holds groups, not connections, so a fan-out costs one
 * index visit per group; in a burst an update is appended to the group once, and at the end of the turn
 * the group's batch is joined once and the same bytes are written to every member — per-event work no
 * longer grows with the number of subscribers, only the writes do.
 */
import type { StoredUpdate } from '../engines/engine.js';
import { type Deflated, deflateEvents } from './compression.js';
import { joinEvents, type PreparedEvent } from './prepared.js';
import type { Subscription } from './request.js';
import type { TopicSelector } from './selectors.js';

/** Several events bound for many connections, joined (or compressed) at most once per framing. */
export class Batch {
  readonly events: readonly PreparedEvent[];
  /** Payload bytes (without HTTP/1.1 chunk framing), for the slow-consumer bound. */
  readonly size: number;
  private plain: Buffer | null = null;
  private framed: Buffer | null = null;
  private compressed: Deflated | null = null;

  constructor(events: readonly PreparedEvent[]) {
    this.events = events;
    let size = 0;
    for (const e of events) size += e.payload.length;
    this.size = size;
  }

  bytes(framed: boolean): Buffer {
    if (framed) {
      if (this.framed === null) this.framed = joinEvents(this.events, true);
      return this.framed;
    }
    if (this.plain === null) this.plain = joinEvents(this.events, false);
    return this.plain;
  }

  /** The batch deflated once for every member with a content coding (private updates in blocks of their own). */
  get deflated(): Deflated {
    if (this.compressed === null) this.compressed = deflateEvents(this.events);
    return this.compressed;
  }
}

/** What a group delivers to: each member's outbox. */
export interface GroupMember {
  /** One event, now or queued (the fan-out's per-connection path). */
  offer(event: PreparedEvent): void;
  /** The group's batch of this turn, bytes shared with the other members. */
  sendBatch(batch: Batch): void;
}

let nextUnshared = 1;

export class SubscriberGroup {
  readonly key: string;
  readonly selectors: readonly TopicSelector[];
  readonly privateSelectors: readonly TopicSelector[] | null;
  /** False for conflated subscriptions: their members get each event one by one (they keep per-topic state). */
  readonly batchable: boolean;
  readonly members = new Set<GroupMember>();
  /** Updates of this turn waiting for the end-of-turn flush (coalescing mode only). */
  pending: PreparedEvent[] | null = null;

  constructor(key: string, subscription: Subscription) {
    this.key = key;
    this.selectors = subscription.selectors;
    this.privateSelectors = subscription.privateSelectors;
    this.batchable = subscription.maxRate === 0;
  }

  /** The key of a subscription's shape: connections with equal keys get exactly the same events. */
  static keyOf(subscription: Subscription): string {
    if (subscription.maxRate > 0) return `#${nextUnshared++}`; // conflation state is per connection
    const shape = (list: readonly TopicSelector[] | null) =>
      list === null
        ? ''
        : list
            .map((s) => s.kind + ':' + s.source)
            .sort()
            .join('\n');
    return shape(subscription.selectors) + '\u0000' + shape(subscription.privateSelectors);
  }

  /** Whether members may receive this update (checked once per group, not per connection). */
  mayReceive(update: StoredUpdate): boolean {
    if (!update.private) return true;
    const allowed = this.privateSelectors;
    if (allowed === null) return false;
    for (const s of allowed) for (const t of update.topics) if (s.matches(t)) return true;
    return false;
  }
}
