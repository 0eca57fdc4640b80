/** The topic selectors and index the hub uses (src/topics), in one place. */
export { compileSelector, type SelectorSyntax, TopicIndex, type TopicSelector } from '../topics/index.js';
