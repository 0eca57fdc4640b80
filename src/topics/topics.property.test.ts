import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TopicError } from './errors.js';
import { compileSelector, type SelectorSyntax, type TopicSelector } from './selector.js';
import { TopicIndex } from './topic-index.js';
import {
  compileTemplate,
  compileTemplateNfa,
  expandTemplate,
  MAX_DFA_STATES,
  type TemplateValue,
} from './uri-template.js';

const NAMES = ['a', 'b', 'c', 'x.y', '%41'];
const OPERATORS = ['', '+', '#', '.', '/', ';', '?', '&'];

interface GeneratedVar {
  name: string;
  modifier: '' | '*' | `:${number}`;
}

const varSpec = fc.record({
  name: fc.constantFrom(...NAMES),
  modifier: fc.oneof(
    fc.constant('' as const),
    fc.constant('*' as const),
    fc.integer({ min: 1, max: 12 }).map((n) => `:${n}` as const),
  ),
});
const expression = fc
  .tuple(fc.constantFrom(...OPERATORS), fc.array(varSpec, { minLength: 1, maxLength: 3 }))
  .map(([op, vars]) => ({ op, vars }));
const literal = fc.stringMatching(/^(?:[a-zA-Z0-9/:.?=&#~_-]|%[0-9A-F]{2}|é){0,6}$/);
const template = fc
  .array(
    fc.oneof(
      literal.map((text) => ({ text })),
      expression,
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((parts) => {
    const vars: GeneratedVar[] = [];
    const text = parts
      .map((p) => {
        if ('text' in p) return p.text;
        vars.push(...p.vars);
        return `{${p.op}${p.vars.map((v) => v.name + v.modifier).join(',')}}`;
      })
      .join('');
    return { text, vars };
  });

/** Any string, including non-ASCII, reserved characters, "%" and things that look pct-encoded. */
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.stringMatching(/^(?:[a-z,;=&/?#.%]|%[0-9a-f]{2}){0,6}$/),
);
const value = fc.oneof(
  fc.constant(undefined),
  text,
  fc.array(text, { maxLength: 3 }),
  fc.dictionary(text, text, { maxKeys: 3 }),
);

function valuesFor(vars: readonly GeneratedVar[]): fc.Arbitrary<Record<string, TemplateValue>> {
  const shape: Record<string, fc.Arbitrary<TemplateValue>> = {};
  for (const v of vars) {
    // Prefix modifiers apply to strings only (RFC 6570 section 2.4.1).
    const prefixed = vars.some((w) => w.name === v.name && w.modifier.startsWith(':'));
    shape[v.name] = prefixed ? fc.oneof(fc.constant(undefined), text) : value;
  }
  return fc.record(shape);
}

describe('URI template properties', () => {
  test('the compiled matcher accepts every expansion of a random template with random values', () => {
    fc.assert(
      fc.property(
        template.chain((t) => fc.tuple(fc.constant(t), valuesFor(t.vars))),
        ([t, values]) => {
          const expanded = expandTemplate(t.text, values);
          assert.ok(compileTemplate(t.text).matches(expanded), `${t.text} should match ${expanded}`);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('matching reads each character once: a repeated match costs exactly the topic length', () => {
    fc.assert(
      fc.property(template, fc.string({ maxLength: 200 }), (t, topic) => {
        const m = compileTemplate(t.text);
        m.matches(topic);
        const before = m.work;
        m.matches(topic);
        // Unless the DFA cache filled up and started over, every transition is now a table lookup.
        if (m.cachedStates < MAX_DFA_STATES) assert.ok(m.work - before <= topic.length);
      }),
    );
  });

  test('adversarial topics against many templates cost at most O(length x automaton size) work', () => {
    const adversarial = [
      '{a}{b}{c}{d}{e}{f}{g}{h}',
      '{+a}{+b}{+c}{+d}x',
      '{#a,b,c,d}{+e}{f*}!',
      '{?a*}{&b*}{&c*}',
      '{/a*}{/b*}{/c*}/x',
      '{;a*,b*,c*};z',
      '{.a*}{.b*}.q',
      '{a:50}{b:50}{c:50}z',
      'https://example.com/{+a}/{+b}/{+c}/end',
      '{a*}%41{b*}%41{c*}%42',
    ];
    const nasty = fc.oneof(
      fc.stringMatching(/^(?:a|=|&|%4|%41|;a=|\/|\.|,|!){0,400}$/),
      fc
        .constantFrom('a', '%41', 'a=a&', ';a', '/a', '.a', ',')
        .chain((unit) => fc.integer({ min: 100, max: 2000 }).map((n) => unit.repeat(n))),
    );
    const compiled = adversarial.map((src) => {
      const nfa = compileTemplateNfa(src);
      let size = nfa.eps.length;
      for (let s = 0; s < nfa.eps.length; s++) size += nfa.eps[s]!.length + nfa.edges[s]!.length;
      return { src, matcher: compileTemplate(src), size };
    });
    fc.assert(
      fc.property(nasty, (topic) => {
        for (const { src, matcher, size } of compiled) {
          const before = matcher.work;
          matcher.matches(topic);
          const work = matcher.work - before;
          assert.ok(work <= (topic.length + 1) * (size + 1), `${src}: ${work} work on ${topic.length} chars`);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('selector fuzzing', () => {
  test('compiling any string in any syntax either works or throws a TopicError, and matching never throws', () => {
    const selectorText = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^(?:[{}+#./;?&=,!@|*:%a-z0-9]|https:\/\/example\.com\/){0,30}$/),
    );
    const syntax = fc.constantFrom<SelectorSyntax>('auto', 'exact', 'template', 'urlpattern');
    fc.assert(
      fc.property(
        selectorText,
        syntax,
        fc.array(fc.string({ maxLength: 60 }), { maxLength: 5 }),
        (src, syn, topics) => {
          let selector: TopicSelector;
          try {
            selector = compileSelector(src, syn);
          } catch (error) {
            assert.ok(error instanceof TopicError, String(error));
            assert.equal(error.code, 'INVALID_SELECTOR');
            return;
          }
          for (const topic of topics) assert.equal(typeof selector.matches(topic), 'boolean');
          assert.ok(selector.matches(src) || selector.kind === 'any' || syn === 'urlpattern');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('TopicIndex properties', () => {
  const TOPICS = [
    't1',
    't2',
    'https://example.com/books/1',
    'https://example.com/books/2',
    'https://example.com/users/7/notifications',
    'x/y',
  ];
  const SELECTORS: [string, SelectorSyntax][] = [
    ['t1', 'auto'],
    ['t2', 'auto'],
    ['*', 'auto'],
    ['https://example.com/books/{id}', 'auto'],
    ['https://example.com/books/1', 'auto'],
    ['https://example.com/users/{u}/notifications', 'auto'],
    ['{+any}', 'auto'],
    ['x{/seg}', 'auto'],
    ['https://example.com/books/:id', 'urlpattern'],
    ['https://example.com/*', 'urlpattern'],
  ];
  const compiled = SELECTORS.map(([s, syn]) => compileSelector(s, syn));

  type Op =
    | { type: 'add'; sub: number; selectors: number[] }
    | { type: 'remove'; sub: number }
    | { type: 'match'; topics: number[] };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      type: fc.constant('add' as const),
      sub: fc.integer({ min: 0, max: 7 }),
      selectors: fc.array(fc.integer({ min: 0, max: SELECTORS.length - 1 }), { maxLength: 4 }),
    }),
    fc.record({ type: fc.constant('remove' as const), sub: fc.integer({ min: 0, max: 7 }) }),
    fc.record({
      type: fc.constant('match' as const),
      topics: fc.array(fc.integer({ min: 0, max: TOPICS.length - 1 }), { maxLength: 3 }),
    }),
  );

  test('match visits exactly the subscribers a brute-force scan finds, each once, through adds, removes and cache evictions', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 0, max: 4 }), (ops, cacheSize) => {
        const index = new TopicIndex<number>({ cacheSize });
        const model = new Map<number, Set<number>>();
        for (const o of ops) {
          if (o.type === 'add') {
            index.add(
              o.sub,
              o.selectors.map((i) => compiled[i]!),
            );
            const set = model.get(o.sub) ?? new Set();
            for (const i of o.selectors) set.add(i);
            model.set(o.sub, set);
          } else if (o.type === 'remove') {
            index.remove(o.sub);
            model.delete(o.sub);
          } else {
            const topics = o.topics.map((i) => TOPICS[i]!);
            const visited: number[] = [];
            index.match(topics, (s) => visited.push(s));
            const expected = [...model]
              .filter(([, sels]) => [...sels].some((i) => topics.some((t) => compiled[i]!.matches(t))))
              .map(([s]) => s)
              .sort();
            assert.deepEqual([...visited].sort(), expected);
          }
        }
        for (const sub of [...model.keys()]) index.remove(sub);
        assert.deepEqual(index.stats(), {
          subscribers: 0,
          exactTopics: 0,
          any: 0,
          patterns: 0,
          prefixBuckets: 0,
          cachedTopics: 0,
        });
      }),
      { numRuns: 500 },
    );
  });
});
