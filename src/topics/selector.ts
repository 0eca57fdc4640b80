/**
 * Topic selectors: what a subscription (or an authorization claim) says it wants, compiled once.
 *
 * Syntaxes:
 * - `exact`: the selector is a topic name, compared with `===`.
 * - `template`: an RFC 6570 URI template (`https://example.com/books/{id}`); `*` matches every topic;
 *   a template without expressions is an exact name.
 * - `urlpattern`: a WHATWG URL pattern (`https://example.com/books/:id`); `*` matches every topic.
 * - `auto` (the default, Mercure draft-07's rule): `*` matches every topic; a selector containing `{`
 *   is a URI template (and matches its own text too, as draft-07 compares exactly first); anything
 *   else is an exact name.
 */

import { ANY_COST, exactCost, templateCost, urlPatternCost } from './cost.js';
import { TopicError } from './errors.js';
import { compileTemplateNfa, TemplateMatcher } from './uri-template.js';
import { UrlPatternMatcher } from './url-pattern.js';

export type SelectorSyntax = 'auto' | 'exact' | 'template' | 'urlpattern';
export type SelectorKind = 'exact' | 'any' | 'template' | 'urlpattern';

export interface TopicSelector {
  /** The selector as given. */
  readonly source: string;
  readonly kind: SelectorKind;
  /** Whether the topic is selected. Never throws. */
  matches(topic: string): boolean;
  /**
   * Optional index hint: every topic this selector matches starts with this text. `TopicIndex` uses
   * it to test a published topic only against the patterns that can match it.
   */
  readonly prefix?: string;
  /**
   * An estimate of the bytes a hub holds for this selector (src/topics/cost.ts); the compiled selectors
   * of this module state it, custom ones may. `selectorCost` charges a default when it is absent.
   */
  readonly cost?: number;
}

const SYNTAXES = new Set<string>(['auto', 'exact', 'template', 'urlpattern']);

/** The default cap on selectors per subscription. */
export const DEFAULT_MAX_SELECTORS = 1000;

class ExactSelector implements TopicSelector {
  readonly kind = 'exact' as const;
  constructor(readonly source: string) {}
  get cost(): number {
    return exactCost(this.source);
  }
  matches(topic: string): boolean {
    return topic === this.source;
  }
}

class AnySelector implements TopicSelector {
  readonly kind = 'any' as const;
  readonly source = '*';
  readonly cost = ANY_COST;
  matches(_topic: string): boolean {
    return true;
  }
}

class TemplateSelector implements TopicSelector {
  readonly kind = 'template' as const;
  readonly prefix: string;
  readonly cost: number;
  readonly #suffix: string;
  readonly #matcher: TemplateMatcher;
  constructor(
    readonly source: string,
    matcher: TemplateMatcher,
  ) {
    this.#matcher = matcher;
    this.cost = templateCost(source, matcher.size);
    this.prefix = matcher.literalPrefix;
    this.#suffix = matcher.literalSuffix;
  }
  matches(topic: string): boolean {
    if (topic === this.source) return true;
    // Cheap rejection before running the automaton: every expansion ends with the literal suffix
    // (ASCII literals expand to themselves); the matcher checks the literal prefix itself.
    if (!topic.endsWith(this.#suffix) || topic.length < this.prefix.length + this.#suffix.length)
      return false;
    return this.#matcher.matches(topic);
  }
}

class UrlPatternSelector implements TopicSelector {
  readonly kind = 'urlpattern' as const;
  readonly cost: number;
  readonly #matcher: UrlPatternMatcher;
  constructor(readonly source: string) {
    this.#matcher = new UrlPatternMatcher(source);
    this.cost = urlPatternCost(source, this.#matcher.components.length, this.#matcher.size);
  }
  matches(topic: string): boolean {
    return topic === this.source || this.#matcher.matches(topic);
  }
}

const ANY: TopicSelector = new AnySelector();

/**
 * Compiles one selector. Throws a `TopicError` with code `INVALID_SELECTOR` for an invalid template or
 * pattern, or an unknown syntax.
 */
export function compileSelector(selector: string, syntax: SelectorSyntax = 'auto'): TopicSelector {
  if (typeof selector !== 'string') {
    throw new TopicError('INVALID_SELECTOR', `A topic selector must be a string, got ${typeof selector}`);
  }
  if (!SYNTAXES.has(syntax)) {
    throw new TopicError(
      'INVALID_SELECTOR',
      `Unknown selector syntax ${JSON.stringify(syntax)}: use auto, exact, template or urlpattern`,
    );
  }
  if (syntax === 'exact') return new ExactSelector(selector);
  if (selector === '*') return ANY;
  if (syntax === 'urlpattern') return new UrlPatternSelector(selector);
  if (syntax === 'auto' && !selector.includes('{')) return new ExactSelector(selector);
  const nfa = compileTemplateNfa(selector);
  if (!nfa.hasExpressions && /^[\x00-\x7f]*$/.test(selector)) return new ExactSelector(selector);
  return new TemplateSelector(selector, new TemplateMatcher(nfa));
}

export interface CompileSelectorsOptions {
  /** The most selectors accepted; more throws `TOO_MANY_SELECTORS`. Default 1,000. */
  max?: number;
  syntax?: SelectorSyntax;
}

/**
 * Compiles a list of selectors, refusing more than `max` (code `TOO_MANY_SELECTORS`) and duplicates
 * silently dropped. Throws `INVALID_SELECTOR` naming the first bad one.
 */
export function compileSelectors(
  list: Iterable<string>,
  options: CompileSelectorsOptions = {},
): TopicSelector[] {
  const max = options.max ?? DEFAULT_MAX_SELECTORS;
  const seen = new Set<string>();
  const out: TopicSelector[] = [];
  let count = 0;
  for (const source of list) {
    if (++count > max) {
      throw new TopicError(
        'TOO_MANY_SELECTORS',
        `Too many topic selectors: at most ${max} are allowed in one subscription`,
      );
    }
    if (seen.has(source)) continue;
    seen.add(source);
    out.push(compileSelector(source, options.syntax));
  }
  return out;
}

/** Whether any selector matches any of the topics: the check for private updates and publish rights. */
export function matchesAny(selectors: readonly TopicSelector[], topics: readonly string[] | string): boolean {
  const list = typeof topics === 'string' ? [topics] : topics;
  if (list.length === 0) return false;
  for (const selector of selectors) {
    if (selector.kind === 'any') return true;
    for (const topic of list) if (selector.matches(topic)) return true;
  }
  return false;
}
