/** The topic selectors and index the hub uses (src/topics), in one place. */
export {
  compileSelector,
  matchesAny,
  SelectorPool,
  type SelectorSyntax,
  selectorCost,
  TopicIndex,
  type TopicSelector,
} from '../topics/index.js';
