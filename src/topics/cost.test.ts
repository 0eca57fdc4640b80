import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ANY_COST,
  exactCost,
  selectorCost,
  subscriptionCost,
  templateCost,
  UNKNOWN_COST,
  urlPatternCost,
} from './cost.js';
import { compileSelector, type TopicSelector } from './selector.js';
import { measureShape, SHAPES } from './selector-memory.js';
import { compileTemplate } from './uri-template.js';
import { compileUrlPattern } from './url-pattern.js';

const cost = (source: string, syntax?: 'auto' | 'exact' | 'urlpattern') =>
  selectorCost(compileSelector(source, syntax));

describe('selector cost', () => {
  test('an exact topic costs a fixed part plus its text, and * the fixed cost of one shared object', () => {
    assert.equal(cost('https://example.com/books/1'), exactCost('https://example.com/books/1'));
    assert.equal(cost('b') + 2 * 99, cost('b'.repeat(100)));
    assert.equal(cost('*'), ANY_COST);
    // A template without expressions is an exact topic, and costs as one.
    assert.equal(cost('https://example.com/books'), exactCost('https://example.com/books'));
  });

  test('a URI template costs more than an exact topic, and more with every expression, variable, operator and modifier', () => {
    const one = cost('https://example.com/books/{id}');
    assert.ok(one > 5 * cost('https://example.com/books/1'), `${one}`);
    assert.equal(
      one,
      templateCost('https://example.com/books/{id}', compileTemplate('https://example.com/books/{id}').size),
    );
    const ladder = [
      'https://example.com/books/{id}',
      'https://example.com/books/{id}/{page}',
      'https://example.com/books/{id}/{page}{?q,sort}',
      'https://example.com/books/{id}/{page}{?q,sort}{#frag}{;m,n}',
      'https://example.com/books/{id}/{page}{?q,sort}{#frag}{;m,n}{/path*}{?query*}',
    ];
    for (let i = 1; i < ladder.length; i++) {
      assert.ok(cost(ladder[i]!) > cost(ladder[i - 1]!), `${ladder[i]} costs more than ${ladder[i - 1]}`);
    }
    // A prefix modifier unrolls into states: {id:100} costs more than {id}, {id:800} far more.
    assert.ok(cost('https://e.x/{id:100}') > 3 * cost('https://e.x/{id}'));
    assert.ok(cost('https://e.x/{id:800}') > 5 * cost('https://e.x/{id:100}'));
  });

  test('a URL pattern costs a fixed part, a part per component and a part per automaton unit', () => {
    const pattern = 'https://example.com/books/:id';
    const matcher = compileUrlPattern(pattern);
    assert.equal(
      cost(pattern, 'urlpattern'),
      urlPatternCost(pattern, matcher.components.length, matcher.size),
    );
    assert.ok(cost('https://*.example.com/:a/:b/*/:c?x=:d#:e', 'urlpattern') > cost(pattern, 'urlpattern'));
  });

  test('a subscription costs the sum of its selectors; a custom selector without a cost is charged a default', () => {
    const custom: TopicSelector = { source: 'mine', kind: 'template', matches: () => false };
    assert.equal(selectorCost(custom), UNKNOWN_COST);
    assert.equal(selectorCost({ ...custom, cost: 10 }), 10);
    const list = ['a', 'https://e.x/{id}', '*'].map((s) => compileSelector(s));
    assert.equal(
      subscriptionCost(list),
      list.reduce((sum, s) => sum + selectorCost(s), 0),
    );
  });

  test('1,000 exact topics fit the default 1 MiB per subscription; 480 one-variable templates do not', () => {
    const exact = Array.from({ length: 1000 }, (_, i) => compileSelector(`https://example.com/books/${i}`));
    assert.ok(subscriptionCost(exact) < 1024 ** 2);
    const templates = Array.from({ length: 480 }, (_, i) => compileSelector(`e/{a}x${i}{b}`));
    assert.ok(subscriptionCost(templates) > 1024 ** 2);
  });
});

describe('selector memory, measured', () => {
  // Shapes whose cost leaves a margin of at least 10 % over the measurement (docs/topics.md has them all).
  for (const name of [
    'template, 1 variable `/{id}`',
    'template, 8 variables, 4 operators',
    'URL pattern, 1 group `/:id`',
  ]) {
    test(`${name}: 1,000 distinct ones, compiled, indexed and matched, hold no more than their cost`, () => {
      const shape = SHAPES.find((s) => s.name === name)!;
      const { bytes, cost } = measureShape(shape, 1000);
      // Before the compiled form was packed, a one-variable template held ~62 KB (cost: ~7.6 KB).
      assert.ok(bytes <= cost, `${Math.round(bytes)} bytes held, cost ${cost}`);
    });
  }
});
