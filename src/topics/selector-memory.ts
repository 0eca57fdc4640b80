/**
 * What a compiled selector costs in memory, by kind and template complexity:
 * `node --expose-gc --import tsx src/topics/selector-memory.ts [count]`.
 *
 * For each shape, `count` distinct selectors (a counter in the literal keeps them distinct, as an attacker
 * would) are compiled, indexed in a `TopicIndex` (one subscriber each, as the hub does) and matched against
 * a few topics that run their automata (which builds DFA states); the V8 heap plus external memory grows
 * by the figure shown per selector (after a full GC, so only what stays reachable counts). `cost` is `selectorCost` of one of
 * them: docs/topics.md shows this table, and the cost function's constants come from it.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { selectorCost } from './cost.js';
import { compileSelector, type SelectorSyntax, type TopicSelector } from './selector.js';
import { TopicIndex } from './topic-index.js';

export interface Shape {
  readonly name: string;
  readonly syntax: SelectorSyntax;
  readonly make: (i: number) => string;
  /** Topics published while the selectors are indexed (each runs every selector whose prefix fits). */
  readonly topics: (i: number) => string[];
}

export const SHAPES: Shape[] = [
  {
    name: 'exact topic',
    syntax: 'auto',
    make: (i) => `https://example.com/books/${i}`,
    topics: (i) => [`https://example.com/books/${i}`],
  },
  { name: '`*`', syntax: 'auto', make: () => '*', topics: () => ['https://example.com/x'] },
  {
    name: 'template, 1 variable `/{id}`',
    syntax: 'auto',
    make: (i) => `https://example.com/${i}/books/{id}`,
    topics: (i) => [`https://example.com/${i}/books/1`, `https://example.com/${i}/books/a%20b`],
  },
  {
    name: 'template, 3 expressions `/{a}/{b}{?q}`',
    syntax: 'auto',
    make: (i) => `https://example.com/${i}/{a}/{b}{?q}`,
    topics: (i) => [`https://example.com/${i}/x/y?q=1`, `https://example.com/${i}/x/y`],
  },
  {
    name: 'template, 8 variables, 4 operators',
    syntax: 'auto',
    make: (i) => `https://example.com/${i}{/a,b}{;c,d}{?e,f}{&g}{#h}`,
    topics: (i) => [`https://example.com/${i}/1/2;c=3;d?e=5&f=6&g=7#8`, `https://example.com/${i}/1`],
  },
  {
    name: 'same, 20 long topics each',
    syntax: 'auto',
    make: (i) => `https://example.com/${i}{/a,b}{;c,d}{?e,f}{&g}{#h}`,
    topics: (i) =>
      Array.from(
        { length: 20 },
        (_, k) =>
          `https://example.com/${i}/1${k}/2;c=3${'x'.repeat(k)};d?e=5&f=${k}6&g=7#8${'%41'.repeat(k)}`,
      ),
  },
  {
    name: 'template, exploded `{/path*}{?query*}`',
    syntax: 'auto',
    make: (i) => `https://example.com/${i}{/path*}{?query*}`,
    topics: (i) => [`https://example.com/${i}/a/b/c?x=1&y=2`],
  },
  {
    name: 'template, prefix modifier `{id:100}`',
    syntax: 'auto',
    make: (i) => `https://example.com/${i}/{id:100}`,
    topics: (i) => [`https://example.com/${i}/${'a'.repeat(50)}`],
  },
  {
    name: 'template, prefix modifier `{id:800}` (near the 4,096-state cap)',
    syntax: 'auto',
    make: (i) => `https://example.com/${i}/{id:800}`,
    topics: (i) => [
      `https://example.com/${i}/${'a'.repeat(700)}`,
      `https://example.com/${i}/${'%41'.repeat(90)}`,
    ],
  },
  {
    name: 'template, 32 variables `{a0}/…/{a31}`',
    syntax: 'auto',
    make: (i) => `https://example.com/${i}/${Array.from({ length: 32 }, (_, j) => `{a${j}}`).join('/')}`,
    topics: (i) => [`https://example.com/${i}/${Array.from({ length: 32 }, (_, j) => j).join('/')}`],
  },
  {
    name: 'URL pattern, 1 group `/:id`',
    syntax: 'urlpattern',
    make: (i) => `https://example.com/${i}/books/:id`,
    topics: (i) => [`https://example.com/${i}/books/1`],
  },
  {
    name: 'URL pattern, 8 wildcards',
    syntax: 'urlpattern',
    make: (i) => `https://*.example.com/${i}/:a/:b/*/:c/:d?x=:e#:f`,
    topics: (i) => [`https://w.example.com/${i}/1/2/3/4/5?x=6#7`],
  },
];

/** `gc()`, from `--expose-gc` or, in a test run without it, switched on now. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function heapUsed(): number {
  const gc = collector();
  gc();
  gc();
  // Typed arrays past a few dozen bytes (packed automata) keep their bytes outside the V8 heap.
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/** Bytes of heap per selector that stay reachable: compiled, indexed and matched. */
export function measureShape(shape: Shape, count: number): { bytes: number; cost: number } {
  const before = heapUsed();
  const held: TopicSelector[] = [];
  const index = new TopicIndex<number>();
  for (let i = 0; i < count; i++) {
    const selector = compileSelector(shape.make(i), shape.syntax);
    held.push(selector);
    index.add(i, [selector]);
  }
  for (let i = 0; i < count; i++) index.match(shape.topics(i), () => {});
  const after = heapUsed();
  const cost = selectorCost(held[0]!);
  // Keep them alive until measured.
  if (held.length !== count || index.size !== count) throw new Error('unreachable');
  return { bytes: (after - before) / count, cost };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 2000);
  console.log(`| selector | heap per selector (bytes, ${count} distinct) | cost |`);
  console.log('| --- | ---: | ---: |');
  for (const shape of SHAPES) {
    const { bytes, cost } = measureShape(shape, count);
    console.log(`| ${shape.name} | ${Math.round(bytes).toLocaleString('en-US')} | ${cost} |`);
  }
}
