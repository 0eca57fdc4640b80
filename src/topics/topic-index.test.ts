import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSelector, compileSelectors } from './selector.js';
import { TopicIndex } from './topic-index.js';

function matched<T>(index: TopicIndex<T>, topics: string[]): T[] {
  const out: T[] = [];
  index.match(topics, (s) => out.push(s));
  return out;
}

describe('TopicIndex', () => {
  test('exact, "*" and template subscribers each receive the topics they select', () => {
    const index = new TopicIndex<string>();
    index.add('exact', compileSelectors(['https://example.com/books/1']));
    index.add('all', compileSelectors(['*']));
    index.add('books', compileSelectors(['https://example.com/books/{id}']));
    index.add('pattern', compileSelectors(['https://example.com/books/:id'], { syntax: 'urlpattern' }));
    index.add('other', compileSelectors(['https://example.com/authors/{id}']));
    assert.deepEqual(matched(index, ['https://example.com/books/1']).sort(), [
      'all',
      'books',
      'exact',
      'pattern',
    ]);
    assert.deepEqual(matched(index, ['https://example.com/books/2']).sort(), ['all', 'books', 'pattern']);
    assert.deepEqual(matched(index, ['https://example.com/authors/2']).sort(), ['all', 'other']);
    assert.deepEqual(matched(index, ['elsewhere']), ['all']);
  });

  test('a subscriber is visited once even when several selectors match several topics', () => {
    const index = new TopicIndex<string>();
    index.add('s', compileSelectors(['a', 'b', '{x}', '*', 'https://example.com/:id'], { syntax: 'auto' }));
    index.add('s', [compileSelector('https://example.com/:id', 'urlpattern')]);
    assert.deepEqual(matched(index, ['a', 'b', 'c', 'https://example.com/1']), ['s']);
  });

  test('adding again for the same subscriber adds selectors; remove drops them all', () => {
    const index = new TopicIndex<string>();
    index.add('s', compileSelectors(['a']));
    index.add('s', compileSelectors(['b']));
    assert.deepEqual(matched(index, ['b']), ['s']);
    assert.equal(index.size, 1);
    index.remove('s');
    assert.deepEqual(matched(index, ['a', 'b']), []);
    index.remove('s'); // unknown: ignored
  });

  test('subscribersOf counts distinct subscribers of a topic', () => {
    const index = new TopicIndex<number>();
    for (let i = 0; i < 5; i++) index.add(i, compileSelectors(['t']));
    index.add(5, compileSelectors(['{x}', 't']));
    index.add(6, compileSelectors(['u']));
    assert.equal(index.subscribersOf('t'), 6);
    assert.equal(index.subscribersOf('u'), 2);
    assert.equal(index.subscribersOf('nobody/here'), 0);
  });

  test('removing every subscriber leaves every internal structure empty', () => {
    const index = new TopicIndex<number>({ cacheSize: 16 });
    for (let i = 0; i < 100; i++) {
      index.add(
        i,
        compileSelectors([
          `t${i}`,
          `https://example.com/users/${i % 7}/{x}`,
          i % 10 === 0 ? '*' : `u${i % 3}`,
        ]),
      );
      index.add(i, [compileSelector(`https://example.com/${i % 5}/:id`, 'urlpattern')]);
    }
    for (let i = 0; i < 50; i++) matched(index, [`t${i}`, `https://example.com/users/${i % 9}/a`]);
    assert.ok(index.stats().cachedTopics > 0);
    for (let i = 0; i < 100; i++) index.remove(i);
    assert.deepEqual(index.stats(), {
      subscribers: 0,
      exactTopics: 0,
      any: 0,
      patterns: 0,
      prefixBuckets: 0,
      cachedTopics: 0,
    });
  });

  test('a template shared by many subscribers is compiled and matched once per topic', () => {
    const index = new TopicIndex<number>();
    let calls = 0;
    const selector = compileSelector('https://example.com/books/{id}');
    const counting = {
      source: selector.source,
      kind: selector.kind,
      matches: (topic: string) => {
        calls++;
        return selector.matches(topic);
      },
    };
    for (let i = 0; i < 1000; i++) index.add(i, [counting]);
    assert.equal(index.stats().patterns, 1);
    assert.equal(matched(index, ['https://example.com/books/1']).length, 1000);
    assert.equal(calls, 1);
    assert.equal(matched(index, ['https://example.com/books/1']).length, 1000);
    assert.equal(calls, 1, 'the second publish to the topic is answered from the cache');
  });

  test('the topic cache is bounded by cacheSize and evicts the least recently used topic', () => {
    const index = new TopicIndex<number>({ cacheSize: 3 });
    index.add(1, compileSelectors(['{x}']));
    for (const t of ['a', 'b', 'c', 'a', 'd']) matched(index, [t]);
    assert.equal(index.stats().cachedTopics, 3);
  });

  test('a pattern added after a topic was cached still receives that topic', () => {
    const index = new TopicIndex<string>({ cacheSize: 8 });
    index.add('first', compileSelectors(['https://example.com/a/{x}']));
    assert.deepEqual(matched(index, ['https://example.com/b/1']), []);
    index.add('late', compileSelectors(['https://example.com/b/{x}']));
    assert.deepEqual(matched(index, ['https://example.com/b/1']), ['late']);
    index.remove('late');
    assert.deepEqual(matched(index, ['https://example.com/b/1']), []);
  });

  test('cacheSize 0 disables the cache and matching still works', () => {
    const index = new TopicIndex<string>({ cacheSize: 0 });
    index.add('s', compileSelectors(['{x}']));
    assert.deepEqual(matched(index, ['a']), ['s']);
    assert.equal(index.stats().cachedTopics, 0);
    assert.throws(() => new TopicIndex({ cacheSize: -1 }), RangeError);
  });

  test('a subscriber removed from a callback during match is not visited afterwards', () => {
    const index = new TopicIndex<number>();
    for (let i = 0; i < 10; i++) index.add(i, compileSelectors(['t', '{x}', '*']));
    const visited: number[] = [];
    index.match(['t', 'u'], (s) => {
      visited.push(s);
      // Every subscriber closes the next one's connection, and itself.
      index.remove(s + 1);
      index.remove(s);
    });
    assert.deepEqual(visited, [0, 2, 4, 6, 8]);
    assert.equal(index.size, 0);
    assert.deepEqual(index.stats(), {
      subscribers: 0,
      exactTopics: 0,
      any: 0,
      patterns: 0,
      prefixBuckets: 0,
      cachedTopics: 0,
    });
  });

  test('a subscriber added from a callback during match is not visited by that match', () => {
    const index = new TopicIndex<string>();
    index.add('a', compileSelectors(['t']));
    const visited: string[] = [];
    index.match(['t'], (s) => {
      visited.push(s);
      index.add(`${s}+`, compileSelectors(['t', '{x}']));
    });
    assert.deepEqual(visited, ['a']);
    assert.deepEqual(matched(index, ['t']).sort(), ['a', 'a+']);
  });

  test('a match nested in a callback (a publish from a handler) visits correctly and does not disturb the outer one', () => {
    const index = new TopicIndex<string>();
    index.add('a', compileSelectors(['t', 'u']));
    index.add('b', compileSelectors(['t', 'u']));
    const outer: string[] = [];
    const inner: string[] = [];
    index.match(['t', 'u'], (s) => {
      outer.push(s);
      if (s === 'a') index.match(['u', 't'], (x) => inner.push(x));
    });
    assert.deepEqual(outer, ['a', 'b']);
    assert.deepEqual(inner, ['a', 'b']);
  });
});
