/**
 * What a subscription's selectors cost: an estimate, in bytes, of the memory a hub holds for each one
 * (compiled form, index entry, and the DFA states matching builds, up to their cap). The constants come
 * from `node --expose-gc --import tsx src/topics/selector-memory.ts` (docs/topics.md shows the table):
 * each kind's formula is at or above what it measured, so caps on the sum bound real memory.
 *
 * - an exact topic: a fixed part plus its text;
 * - `*`: a fixed part (one shared object);
 * - a URI template: a fixed part plus a part per unit of automaton size (states plus edges), which grows
 *   with the number of expressions and variables, their operators, explode and prefix modifiers;
 * - a URL pattern: a fixed part, a part per component that is not `*`, and a part per unit of its
 *   largest component automaton. A future URL pattern feature (regular-expression groups) adds its own
 *   term in `urlPatternCost`.
 */

/** Bytes charged per UTF-16 code unit of a selector's text. */
export const COST_PER_CHAR = 2;
export const EXACT_COST = 640;
export const ANY_COST = 320;
export const TEMPLATE_COST = 4096;
/** Per unit of automaton size (states plus edges). */
export const TEMPLATE_COST_PER_SIZE = 40;
export const URL_PATTERN_COST = 8192;
export const URL_PATTERN_COST_PER_COMPONENT = 2048;
export const URL_PATTERN_COST_PER_SIZE = 64;
/** What a selector that does not state its cost is charged (a custom `TopicSelector`). */
export const UNKNOWN_COST = 16_384;

export function exactCost(source: string): number {
  return EXACT_COST + COST_PER_CHAR * source.length;
}

/** @param size the template automaton's states plus edges */
export function templateCost(source: string, size: number): number {
  return TEMPLATE_COST + TEMPLATE_COST_PER_SIZE * size + COST_PER_CHAR * source.length;
}

/**
 * @param components how many components have an automaton (those that are not `*`)
 * @param size the largest component automaton's states plus edges
 */
export function urlPatternCost(source: string, components: number, size: number): number {
  return (
    URL_PATTERN_COST +
    URL_PATTERN_COST_PER_COMPONENT * components +
    URL_PATTERN_COST_PER_SIZE * size +
    COST_PER_CHAR * source.length
  );
}

/**
 * What the cost functions read of a compiled selector (`TopicSelector` has these fields); spelled out here
 * so this module does not import selector.ts, which imports it.
 */
export interface CostedSelector {
  readonly kind: string;
  readonly source: string;
  readonly cost?: number | undefined;
}

/** The cost of one compiled selector: what it states, else by its kind. */
export function selectorCost(selector: CostedSelector): number {
  if (selector.cost !== undefined) return selector.cost;
  if (selector.kind === 'any') return ANY_COST;
  if (selector.kind === 'exact') return exactCost(selector.source);
  return UNKNOWN_COST;
}

/** The cost of a subscription: the sum over its selectors (shared or not, each is charged in full). */
export function subscriptionCost(selectors: Iterable<CostedSelector>): number {
  let total = 0;
  for (const s of selectors) total += selectorCost(s);
  return total;
}
