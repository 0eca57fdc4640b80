/**
 * `SelectorPool`: one compiled selector per distinct selector text, shared by every subscription that uses
 * it, and counted. A compiled template or URL pattern costs kilobytes (its automaton and the DFA states
 * matching builds; see docs/topics.md), so a thousand connections with the same selectors hold one copy,
 * not a thousand. Each `acquire` is paired with one `release`; when the last holder releases, the entry is
 * dropped, so the pool holds only selectors in use and never grows past what the subscriptions hold.
 */

import { compileSelector, type SelectorSyntax, type TopicSelector } from './selector.js';

interface Entry {
  readonly key: string;
  readonly selector: TopicSelector;
  refs: number;
}

export class SelectorPool {
  readonly #byKey = new Map<string, Entry>();
  readonly #bySelector = new Map<TopicSelector, Entry>();

  /** Distinct selectors held now. */
  get size(): number {
    return this.#byKey.size;
  }

  /** How many holders share the selector (0 when it is not in the pool). */
  refs(selector: TopicSelector): number {
    return this.#bySelector.get(selector)?.refs ?? 0;
  }

  /**
   * The shared compiled selector for `source` in `syntax`, compiled now if no one holds it. Throws what
   * `compile` throws (by default `compileSelector`'s `TopicError`); then nothing is acquired. `key`
   * tells apart selectors that the same text compiles to differently (default: syntax and source).
   */
  acquire(
    source: string,
    syntax: SelectorSyntax = 'auto',
    compile: (source: string) => TopicSelector = (s) => compileSelector(s, syntax),
    key = `${syntax}\u0000${source}`,
  ): TopicSelector {
    let entry = this.#byKey.get(key);
    if (entry === undefined) {
      const selector = compile(source);
      const shared = this.#bySelector.get(selector);
      if (shared !== undefined) {
        // The compiler returned a selector the pool holds under another key (`*` is one object).
        shared.refs++;
        return selector;
      }
      entry = { key, selector, refs: 0 };
      this.#byKey.set(key, entry);
      this.#bySelector.set(selector, entry);
    }
    entry.refs++;
    return entry.selector;
  }

  /**
   * A function that gives `selectors` back once (later calls do nothing). It is made here, not where the
   * selectors were compiled, so that a connection holding it keeps only the pool and that array alive, not
   * the request-parsing scope it came from (~2 KiB per idle subscriber when it did).
   */
  releaser(selectors: readonly TopicSelector[]): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.release(selectors);
    };
  }

  /** Gives back one hold on each selector; selectors not from this pool are ignored. */
  release(selectors: Iterable<TopicSelector>): void {
    for (const selector of selectors) {
      const entry = this.#bySelector.get(selector);
      if (entry === undefined) continue;
      if (--entry.refs > 0) continue;
      this.#bySelector.delete(selector);
      this.#byKey.delete(entry.key);
    }
  }
}
