/**
 * The topic index: which subscribers want an update published to some topics.
 *
 * - Exact selectors: a Map from topic to subscribers, one lookup per topic.
 * - `*`: one set of subscribers, always visited.
 * - Templates and URL patterns: one shared entry per distinct selector (compiled once, whoever uses it),
 *   and an LRU cache from topic to the entries that match it. A publish to a cached topic runs no
 *   matcher at all; a miss runs each distinct pattern once, not once per subscriber, and only the
 *   patterns whose literal prefix (`TopicSelector.prefix`) the topic starts with: patterns are bucketed
 *   by prefix, and a miss looks up one bucket per distinct prefix length.
 *
 * The cache stays exact as patterns come and go: a new pattern is tested against the cached topics
 * (bounded by the cache size) and a pattern left with no subscriber is taken out of the cached lists.
 * Cached lists are never mutated in place, so a `match` in progress is unaffected by changes made from
 * its callback.
 */

import type { TopicSelector } from './selector.js';

export interface TopicIndexOptions {
  /** How many topics' pattern results to remember (LRU). 0 disables the cache. Default 1,024. */
  cacheSize?: number;
}

export const DEFAULT_TOPIC_CACHE_SIZE = 1024;

interface Subscription<T> {
  readonly subscriber: T;
  /** Selector keys this subscriber holds. */
  readonly keys: Set<string>;
  /** Insertion sequence: a `match` visits only subscriptions that existed when it started. */
  readonly seq: number;
  /** The stamp of the last `match` that visited it (dedupes visits within one call). */
  stamp: number;
}

interface PatternEntry<T> {
  readonly key: string;
  readonly prefix: string;
  readonly selector: TopicSelector;
  readonly subscriptions: Set<Subscription<T>>;
}

const EMPTY: readonly never[] = Object.freeze([]);

function keyOf(selector: TopicSelector): string {
  return `${selector.kind}\u0000${selector.source}`;
}

export class TopicIndex<T> {
  readonly #subscriptions = new Map<T, Subscription<T>>();
  readonly #exact = new Map<string, Set<Subscription<T>>>();
  readonly #any = new Set<Subscription<T>>();
  readonly #patterns = new Map<string, PatternEntry<T>>();
  /** literal prefix -> the pattern entries with that prefix */
  readonly #byPrefix = new Map<string, Set<PatternEntry<T>>>();
  /** prefix length -> how many distinct prefixes of that length are in #byPrefix */
  readonly #prefixLengths = new Map<number, number>();
  /** topic -> the pattern entries that match it (LRU: Map order is recency order). */
  readonly #cache = new Map<string, readonly PatternEntry<T>[]>();
  readonly #cacheSize: number;
  #seq = 0;
  #stamp = 0;
  #depth = 0;

  constructor(options: TopicIndexOptions = {}) {
    const size = options.cacheSize ?? DEFAULT_TOPIC_CACHE_SIZE;
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`cacheSize must be an integer >= 0, got ${size}`);
    this.#cacheSize = size;
  }

  /** How many subscribers are indexed. */
  get size(): number {
    return this.#subscriptions.size;
  }

  /** Sizes of the internal structures (for tests, metrics and leak checks). */
  stats(): {
    subscribers: number;
    exactTopics: number;
    any: number;
    patterns: number;
    prefixBuckets: number;
    cachedTopics: number;
  } {
    return {
      subscribers: this.#subscriptions.size,
      exactTopics: this.#exact.size,
      any: this.#any.size,
      patterns: this.#patterns.size,
      prefixBuckets: this.#byPrefix.size + this.#prefixLengths.size,
      cachedTopics: this.#cache.size,
    };
  }

  has(subscriber: T): boolean {
    return this.#subscriptions.has(subscriber);
  }

  /**
   * Adds selectors for a subscriber. Adding again for the same subscriber adds to its selectors
   * (duplicates are ignored); `remove` takes them all away.
   */
  add(subscriber: T, selectors: readonly TopicSelector[]): void {
    let sub = this.#subscriptions.get(subscriber);
    if (sub === undefined) {
      sub = { subscriber, keys: new Set(), seq: ++this.#seq, stamp: 0 };
      this.#subscriptions.set(subscriber, sub);
    }
    for (const selector of selectors) {
      const key = keyOf(selector);
      if (sub.keys.has(key)) continue;
      sub.keys.add(key);
      if (selector.kind === 'any') {
        this.#any.add(sub);
      } else if (selector.kind === 'exact') {
        let set = this.#exact.get(selector.source);
        if (set === undefined) {
          set = new Set();
          this.#exact.set(selector.source, set);
        }
        set.add(sub);
      } else {
        let entry = this.#patterns.get(key);
        if (entry === undefined) {
          entry = { key, prefix: selector.prefix ?? '', subscriptions: new Set(), selector };
          this.#patterns.set(key, entry);
          this.#bucketAdd(entry);
          this.#cacheAddPattern(entry);
        }
        entry.subscriptions.add(sub);
      }
    }
  }

  /** Removes a subscriber and all its selectors. Unknown subscribers are ignored. */
  remove(subscriber: T): void {
    const sub = this.#subscriptions.get(subscriber);
    if (sub === undefined) return;
    this.#subscriptions.delete(subscriber);
    for (const key of sub.keys) {
      const sep = key.indexOf('\u0000');
      const kind = key.slice(0, sep);
      const source = key.slice(sep + 1);
      if (kind === 'any') {
        this.#any.delete(sub);
      } else if (kind === 'exact') {
        const set = this.#exact.get(source);
        if (set !== undefined) {
          set.delete(sub);
          if (set.size === 0) this.#exact.delete(source);
        }
      } else {
        const entry = this.#patterns.get(key);
        if (entry !== undefined) {
          entry.subscriptions.delete(sub);
          if (entry.subscriptions.size === 0) {
            this.#patterns.delete(key);
            this.#bucketRemove(entry);
            this.#cacheRemovePattern(entry);
          }
        }
      }
    }
  }

  /**
   * Calls `visit` once per subscriber whose selectors match at least one of the topics. Subscribers
   * removed by `visit` are not visited afterwards; subscribers added by `visit` are not visited.
   */
  match(topics: readonly string[], visit: (subscriber: T) => void): void {
    if (this.#subscriptions.size === 0 || topics.length === 0) return;
    const limit = this.#seq;
    // Nested calls (a publish from inside a callback) use their own seen-set so they do not disturb
    // the stamps of the outer call.
    const nested = this.#depth > 0;
    const stamp = nested ? 0 : ++this.#stamp;
    const seen = nested ? new Set<Subscription<T>>() : undefined;
    const subscriptions = this.#subscriptions;
    const consider = (sub: Subscription<T>): void => {
      if (sub.seq > limit || subscriptions.get(sub.subscriber) !== sub) return;
      if (seen !== undefined) {
        if (seen.has(sub)) return;
        seen.add(sub);
      } else {
        if (sub.stamp === stamp) return;
        sub.stamp = stamp;
      }
      visit(sub.subscriber);
    };
    this.#depth++;
    try {
      for (const sub of this.#any) consider(sub);
      for (const topic of topics) {
        const exact = this.#exact.get(topic);
        if (exact !== undefined) for (const sub of exact) consider(sub);
        if (this.#patterns.size === 0) continue;
        for (const entry of this.#patternsFor(topic)) {
          for (const sub of entry.subscriptions) consider(sub);
        }
      }
    } finally {
      this.#depth--;
    }
  }

  /** How many distinct subscribers `match([topic])` would visit. */
  subscribersOf(topic: string): number {
    let n = 0;
    this.match([topic], () => {
      n++;
    });
    return n;
  }

  /** The pattern entries matching a topic, from the cache or computed (and cached) now. */
  #patternsFor(topic: string): readonly PatternEntry<T>[] {
    const cached = this.#cache.get(topic);
    if (cached !== undefined) {
      // Refresh recency.
      this.#cache.delete(topic);
      this.#cache.set(topic, cached);
      return cached;
    }
    let found: PatternEntry<T>[] | undefined;
    for (const length of this.#prefixLengths.keys()) {
      if (length > topic.length) continue;
      const bucket = this.#byPrefix.get(length === topic.length ? topic : topic.slice(0, length));
      if (bucket === undefined) continue;
      for (const entry of bucket) {
        if (!entry.selector.matches(topic)) continue;
        if (found === undefined) found = [];
        found.push(entry);
      }
    }
    const result = found ?? EMPTY;
    if (this.#cacheSize > 0) {
      if (this.#cache.size >= this.#cacheSize) {
        const oldest = this.#cache.keys().next();
        if (!oldest.done) this.#cache.delete(oldest.value);
      }
      this.#cache.set(topic, result);
    }
    return result;
  }

  #bucketAdd(entry: PatternEntry<T>): void {
    let bucket = this.#byPrefix.get(entry.prefix);
    if (bucket === undefined) {
      bucket = new Set();
      this.#byPrefix.set(entry.prefix, bucket);
      const n = entry.prefix.length;
      this.#prefixLengths.set(n, (this.#prefixLengths.get(n) ?? 0) + 1);
    }
    bucket.add(entry);
  }

  #bucketRemove(entry: PatternEntry<T>): void {
    const bucket = this.#byPrefix.get(entry.prefix);
    if (bucket === undefined) return;
    bucket.delete(entry);
    if (bucket.size > 0) return;
    this.#byPrefix.delete(entry.prefix);
    const n = entry.prefix.length;
    const left = (this.#prefixLengths.get(n) ?? 1) - 1;
    if (left === 0) this.#prefixLengths.delete(n);
    else this.#prefixLengths.set(n, left);
  }

  /** A new pattern: add it to the cached lists of the topics it matches (copy on write). */
  #cacheAddPattern(entry: PatternEntry<T>): void {
    for (const [topic, list] of this.#cache) {
      if (entry.selector.matches(topic)) this.#cache.set(topic, [...list, entry]);
    }
  }

  /** A pattern with no subscriber left: take it out of the cached lists (copy on write). */
  #cacheRemovePattern(entry: PatternEntry<T>): void {
    if (this.#patterns.size === 0) {
      this.#cache.clear();
      return;
    }
    for (const [topic, list] of this.#cache) {
      if (list.includes(entry)) {
        const rest = list.filter((e) => e !== entry);
        this.#cache.set(topic, rest.length === 0 ? EMPTY : rest);
      }
    }
  }
}
