/**
 * TEMPORARY: the topic selectors the hub uses, until src/topics lands with the agreed API
 * (`compileSelector`, `TopicSelector`, `TopicIndex`). Exact names and `*` only, indexed by exact topic.
 * When src/topics is committed this file becomes a one-line re-export of it.
 */
import { CrierError } from '../protocol/errors.js';

export type SelectorSyntax = 'auto' | 'exact' | 'template' | 'urlpattern';

export interface TopicSelector {
  readonly source: string;
  readonly kind: 'exact' | 'any' | 'template' | 'urlpattern';
  matches(topic: string): boolean;
}

export function compileSelector(selector: string, syntax: SelectorSyntax = 'auto'): TopicSelector {
  if (syntax !== 'auto' && syntax !== 'exact') {
    throw new CrierError('INVALID_SELECTOR', `Selector syntax "${syntax}" is not supported yet.`);
  }
  if (selector === '*' && syntax === 'auto') return { source: selector, kind: 'any', matches: () => true };
  return { source: selector, kind: 'exact', matches: (t) => t === selector };
}

export class TopicIndex<T> {
  private readonly exact = new Map<string, Set<T>>();
  private readonly any = new Set<T>();
  private readonly of = new Map<T, readonly TopicSelector[]>();

  add(subscriber: T, selectors: readonly TopicSelector[]): void {
    this.of.set(subscriber, selectors);
    for (const s of selectors) {
      if (s.kind === 'any') this.any.add(subscriber);
      else {
        const set = this.exact.get(s.source) ?? new Set<T>();
        this.exact.set(s.source, set);
        set.add(subscriber);
      }
    }
  }

  remove(subscriber: T): void {
    const selectors = this.of.get(subscriber);
    if (selectors === undefined) return;
    this.of.delete(subscriber);
    this.any.delete(subscriber);
    for (const s of selectors) {
      const set = this.exact.get(s.source);
      if (set === undefined) continue;
      set.delete(subscriber);
      if (set.size === 0) this.exact.delete(s.source);
    }
  }

  match(topics: readonly string[], visit: (subscriber: T) => void): void {
    for (const s of this.any) visit(s);
    if (topics.length === 1) {
      const set = this.exact.get(topics[0]!);
      if (set !== undefined) for (const s of set) if (!this.any.has(s)) visit(s);
      return;
    }
    const seen = new Set<T>(this.any);
    for (const t of topics) {
      const set = this.exact.get(t);
      if (set === undefined) continue;
      for (const s of set) {
        if (seen.has(s)) continue;
        seen.add(s);
        visit(s);
      }
    }
  }

  subscribersOf(topic: string): number {
    let n = this.any.size;
    const set = this.exact.get(topic);
    if (set !== undefined) for (const s of set) if (!this.any.has(s)) n++;
    return n;
  }
}
