/**
 * Topic selectors (exact names, `*`, RFC 6570 URI templates, WHATWG URL patterns) and the index that
 * finds the subscribers of a published update without scanning them all. See docs/topics.md.
 */

export {
  ANY_COST,
  EXACT_COST,
  exactCost,
  selectorCost,
  subscriptionCost,
  TEMPLATE_COST,
  TEMPLATE_COST_PER_SIZE,
  templateCost,
  URL_PATTERN_COST,
  URL_PATTERN_COST_PER_COMPONENT,
  URL_PATTERN_COST_PER_SIZE,
  urlPatternCost,
} from './cost.js';
export { TopicError, type TopicErrorCode } from './errors.js';
export { SelectorPool } from './pool.js';
export {
  type CompileSelectorsOptions,
  compileSelector,
  compileSelectors,
  DEFAULT_MAX_SELECTORS,
  matchesAny,
  type SelectorKind,
  type SelectorSyntax,
  type TopicSelector,
} from './selector.js';
export { DEFAULT_TOPIC_CACHE_SIZE, TopicIndex, type TopicIndexOptions } from './topic-index.js';
export {
  compileTemplate,
  expandTemplate,
  MAX_TEMPLATE_STATES,
  parseTemplate,
  TemplateMatcher,
  type TemplatePart,
  type TemplateValue,
} from './uri-template.js';
export {
  compileUrlPattern,
  MAX_URL_PATTERN_STATES,
  MAX_URL_PATTERN_WILDCARDS,
  UrlPatternMatcher,
} from './url-pattern.js';
