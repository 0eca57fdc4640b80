/**
 * `HistoryRing`: the in-memory event history behind replay. A ring of the most recent entries, each with a
 * consecutive offset, bounded by count, by bytes and by age — all three bounded by default, so history can
 * never grow without limit. Lookups by offset are O(1) (offsets are consecutive); lookups by ID use a map
 * that holds only the IDs still in the ring.
 *
 * A reused ID names its EARLIEST entry (Mercure §7: a `Last-Event-ID` shared by several updates resolves
 * to the earliest of them), so replay from it sends a superset, never less. Once that earliest entry is
 * evicted the ID reads as evicted, even while later entries with it are held: the caller may have meant the
 * evicted one, whose successors are partly gone, so the gap must be told rather than replayed from a later copy.
 */

/** One entry of the ring. `offset` is assigned by the ring: the previous entry's offset + 1. */
export interface RingEntry<T> {
  readonly offset: number;
  readonly id: string;
  /** What the entry costs against `maxBytes` (the caller's estimate of the payload size). */
  readonly bytes: number;
  /** When it was appended, in milliseconds since the Unix epoch (used for `maxAgeMs`). */
  readonly time: number;
  readonly value: T;
}

export interface HistoryRingOptions {
  /** Most entries kept. Default 10,000. */
  maxCount?: number;
  /** Most bytes kept (sum of `bytes`). Default 64 MiB. */
  maxBytes?: number;
  /** Entries older than this are dropped, in milliseconds. Default 1 hour. */
  maxAgeMs?: number;
  /** The clock, for tests. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_HISTORY_MAX_COUNT = 10_000;
export const DEFAULT_HISTORY_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_HISTORY_MAX_AGE_MS = 60 * 60 * 1000;

/** Where an ID stands in the ring. */
export type RingLookup =
  /** The ID is in the ring at this offset. */
  | { readonly found: true; readonly offset: number }
  /**
   * The ID is not in the ring. `evicted` is true when a bound evicted it recently (the ring remembers the
   * last 10,000 evicted IDs), so a caller can tell "expired" from "never seen".
   */
  | { readonly found: false; readonly evicted: boolean };

/** How many evicted IDs a ring remembers at most, to tell an expired ID from an unknown one. */
const MAX_REMEMBERED_EVICTIONS = 10_000;

export class HistoryRing<T> {
  readonly maxCount: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  private readonly now: () => number;
  // A deque: live entries are entries[head..]. Compacted when the dead prefix grows past half.
  private entries: RingEntry<T>[] = [];
  private head = 0;
  private readonly byId = new Map<string, number>();
  /** Recently evicted IDs: a set for lookups, and a circular array of the same IDs to forget the oldest. */
  private readonly evicted = new Set<string>();
  // Not the Map's own insertion order: `map.keys().next()` after many deletes walks the deleted slots
  // first, which cost ~10 µs per append once history was full.
  private readonly evictedOrder: (string | undefined)[];
  private evictedNext = 0;
  private totalBytes = 0;
  private nextOffset: number;

  constructor(options: HistoryRingOptions = {}, firstOffset = 1) {
    this.maxCount = positive('maxCount', options.maxCount ?? DEFAULT_HISTORY_MAX_COUNT);
    this.maxBytes = positive('maxBytes', options.maxBytes ?? DEFAULT_HISTORY_MAX_BYTES);
    this.maxAgeMs = positive('maxAgeMs', options.maxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS);
    this.now = options.now ?? Date.now;
    this.nextOffset = firstOffset;
    this.evictedOrder = new Array(MAX_REMEMBERED_EVICTIONS);
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Bytes held now (sum of the entries' `bytes`). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The offset of the newest entry ever appended (0 before the first append when starting at 1). */
  get lastOffset(): number {
    return this.nextOffset - 1;
  }

  /** The offset of the oldest entry still held, or `lastOffset + 1` when empty. */
  get firstOffset(): number {
    const first = this.entries[this.head];
    return first === undefined ? this.nextOffset : first.offset;
  }

  /**
   * Appends an entry and returns it with its offset, then evicts from the old end until every bound holds.
   * An entry larger than `maxBytes` is still appended (the newest entry is always kept) and evicts the rest.
   * A repeated ID keeps naming its earliest entry; an ID evicted recently stays evicted (see the class).
   */
  append(id: string, value: T, bytes: number): RingEntry<T> {
    const entry: RingEntry<T> = { offset: this.nextOffset++, id, bytes, time: this.now(), value };
    this.entries.push(entry);
    if (!this.byId.has(id) && !this.evicted.has(id)) this.byId.set(id, entry.offset);
    this.totalBytes += bytes;
    this.evict(entry.time);
    return entry;
  }

  /** Finds the offset of an ID still held. */
  lookup(id: string): RingLookup {
    this.evict(this.now());
    const offset = this.byId.get(id);
    return offset === undefined ? { found: false, evicted: this.evicted.has(id) } : { found: true, offset };
  }

  /** The entries with an offset greater than `offset`, oldest first (a copy). */
  after(offset: number, count?: number): RingEntry<T>[] {
    this.evict(this.now());
    const start = Math.max(this.head, this.head + (offset + 1 - this.firstOffset));
    return this.entries.slice(start, count === undefined ? undefined : start + count);
  }

  /** Drops every entry. Offsets keep counting. */
  clear(): void {
    this.entries = [];
    this.head = 0;
    for (const id of this.byId.keys()) this.remember(id);
    this.byId.clear();
    this.totalBytes = 0;
  }

  /** Remembers an evicted ID, forgetting the oldest remembered one past the cap. */
  private remember(id: string): void {
    if (this.evicted.has(id)) return;
    const oldest = this.evictedOrder[this.evictedNext];
    if (oldest !== undefined) this.evicted.delete(oldest);
    this.evictedOrder[this.evictedNext] = id;
    this.evictedNext = (this.evictedNext + 1) % this.evictedOrder.length;
    this.evicted.add(id);
  }

  private evict(now: number): void {
    const oldest = now - this.maxAgeMs;
    while (this.size > 0) {
      const first = this.entries[this.head]!;
      const over =
        this.size > this.maxCount ||
        (this.totalBytes > this.maxBytes && this.size > 1) ||
        first.time < oldest;
      if (!over) break;
      this.entries[this.head] = undefined as unknown as RingEntry<T>;
      this.head++;
      this.totalBytes -= first.bytes;
      // Only the entry an ID names (its earliest) retires it; a later copy's eviction changes nothing.
      if (this.byId.get(first.id) === first.offset) {
        this.byId.delete(first.id);
        this.remember(first.id);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`HistoryRing ${name} must be a positive number, got ${value}.`);
  return value;
}
