/**
 * Delta updates on the write path (the wire format is in src/protocol/delta.ts). Two pieces:
 *
 * - `DeltaTopics`, one per hub: while at least one delta subscriber is connected, every fanned-out update
 *   is linked to the previous update of its topic (its first topic) and to that topic's slot. The link
 *   builds, lazily and ONCE per update, the two variants delta subscribers get: the full event with
 *   `delta: <slot>`, and the patch against the previous update. Every delta subscriber shares them.
 * - `DeltaChoice`, one per delta subscriber: which update of each topic this connection was last sent, so
 *   it gets the patch only when that is exactly the update the patch is against. Anything else — the first
 *   update of a topic, a replay (replayed events are never recorded here), a gap, conflation, an update the
 *   connection was not allowed to receive (private, filtered out before it reaches the outbox) — gets the
 *   full event. So a patch never carries data of an update the subscriber did not receive.
 */
import { diffData } from '../protocol/delta.js';
import { type EventFields, encodeEventText } from '../protocol/encode.js';
import { PreparedEvent } from './prepared.js';

/** Topics tracked at most; updates of topics beyond it go out in full, without a slot. */
const MAX_TOPICS = 65_536;
/** Topics one connection remembers at most; beyond it, updates of new topics go out in full. */
const MAX_TOPICS_PER_CONNECTION = 4_096;

/** An update's place in its topic's sequence, with the variants for delta subscribers. */
class DeltaLink {
  private fullEvent: PreparedEvent | null = null;
  private patchEvent: PreparedEvent | null | undefined;

  constructor(
    /** The update's first topic. */
    readonly key: string,
    readonly slot: number,
    /** The offset of this update. */
    readonly offset: number,
    /** The offset of the topic's previous update; -1 when none. */
    readonly previousOffset: number,
    /** The previous update's data (dropped once the patch is built). */
    private previousData: string | null,
    private readonly event: PreparedEvent,
  ) {
    if (previousData === null) this.patchEvent = null;
  }

  /** The full event with `delta: <slot>`: the client keeps its data as the slot's base. */
  get full(): PreparedEvent {
    if (this.fullEvent === null)
      this.fullEvent = variant(this.event, String(this.slot), this.event.update!.data);
    return this.fullEvent;
  }

  /** The patch against the topic's previous update, or null when no patch is smaller or exact. */
  get patch(): PreparedEvent | null {
    if (this.patchEvent === undefined) {
      const update = this.event.update!;
      const diff = diffData(this.previousData!, update.data);
      this.previousData = null;
      this.patchEvent = diff === null ? null : variant(this.event, `${this.slot} ${diff.format}`, diff.patch);
    }
    return this.patchEvent;
  }
}

/** The event's own fields, a `delta:` field, and `data` as given (a patch or the full data). */
function variant(event: PreparedEvent, delta: string, data: string): PreparedEvent {
  const u = event.update!;
  const head: EventFields = { id: u.id };
  if (u.event !== undefined) head.event = u.event;
  if (u.retry !== undefined) head.retry = u.retry;
  const text = `${encodeEventText(head).slice(0, -1)}delta: ${delta}\n${encodeEventText({ data })}`;
  return new PreparedEvent(Buffer.from(text, 'utf8'), u);
}

const links = new WeakMap<PreparedEvent, DeltaLink>();

export class DeltaTopics {
  /** Delta subscribers connected now: nothing is tracked while there are none. */
  subscribers = 0;
  private readonly topics = new Map<string, { slot: number; offset: number; data: string }>();

  /** Links a fanned-out update to its topic's previous one (when a delta subscriber may need it). */
  link(event: PreparedEvent): void {
    const update = event.update;
    if (this.subscribers === 0 || update === null) return;
    const key = update.topics[0]!;
    const last = this.topics.get(key);
    if (last === undefined && this.topics.size >= MAX_TOPICS) return;
    const slot = last?.slot ?? this.topics.size;
    links.set(event, new DeltaLink(key, slot, update.offset, last?.offset ?? -1, last?.data ?? null, event));
    this.topics.set(key, { slot, offset: update.offset, data: update.data });
  }

  /** A delta subscriber left; with none left, forget every topic (the next one starts afresh). */
  left(): void {
    this.subscribers--;
    if (this.subscribers <= 0) {
      this.subscribers = 0;
      this.topics.clear();
    }
  }
}

/** One delta subscriber's choice between the variants of each live event. */
export class DeltaChoice {
  /** Per topic: the offset of the update this connection was last sent. */
  private readonly sent = new Map<string, number>();

  /** The variant of `event` to write to this connection, recording it as sent. */
  pick(event: PreparedEvent): PreparedEvent {
    const link = links.get(event);
    if (link === undefined) return event;
    const had = this.sent.get(link.key);
    if (had === undefined && this.sent.size >= MAX_TOPICS_PER_CONNECTION) return event;
    this.sent.set(link.key, link.offset);
    if (had !== undefined && had === link.previousOffset) {
      const patch = link.patch;
      if (patch !== null) return patch;
    }
    return link.full;
  }
}
