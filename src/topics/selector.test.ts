import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TopicError } from './errors.js';
import { compileSelector, compileSelectors, matchesAny } from './selector.js';

function code(error: unknown): string | undefined {
  return error instanceof TopicError ? error.code : undefined;
}

describe('compileSelector, auto syntax (Mercure draft-07)', () => {
  test('"*" matches every topic, including ones that are not URLs', () => {
    const s = compileSelector('*');
    assert.equal(s.kind, 'any');
    for (const topic of ['', 'a', 'https://example.com/books/1', '{x}']) assert.ok(s.matches(topic));
  });

  test('a selector without "{" is an exact topic name', () => {
    const s = compileSelector('https://example.com/books/1');
    assert.equal(s.kind, 'exact');
    assert.ok(s.matches('https://example.com/books/1'));
    assert.equal(s.matches('https://example.com/books/10'), false);
    assert.equal(s.matches('https://example.com/books/'), false);
  });

  test('https://example.com/books/{id} matches each book and nothing deeper', () => {
    const s = compileSelector('https://example.com/books/{id}');
    assert.equal(s.kind, 'template');
    assert.equal(s.source, 'https://example.com/books/{id}');
    assert.ok(s.matches('https://example.com/books/1'));
    assert.ok(s.matches('https://example.com/books/the-hobbit'));
    assert.ok(s.matches('https://example.com/books/caf%C3%A9'));
    assert.equal(s.matches('https://example.com/books/1/reviews'), false);
    assert.equal(s.matches('https://example.com/authors/1'), false);
    assert.equal(s.matches('http://example.com/books/1'), false);
  });

  test('https://example.com/users/{user}/notifications matches each user and no other path', () => {
    const s = compileSelector('https://example.com/users/{user}/notifications');
    assert.ok(s.matches('https://example.com/users/42/notifications'));
    assert.ok(s.matches('https://example.com/users/alice/notifications'));
    assert.equal(s.matches('https://example.com/users/42/notifications/7'), false);
    assert.equal(s.matches('https://example.com/users/42/../43/notifications'), false);
    assert.equal(s.matches('https://example.com/users/42/messages'), false);
  });

  test('{+path} templates match across path segments', () => {
    const s = compileSelector('https://example.com/{+path}');
    assert.ok(s.matches('https://example.com/a/b/c?d=e'));
  });

  test('a template matches its own text, as draft-07 compares exactly before matching', () => {
    assert.ok(compileSelector('https://example.com/books/{id}').matches('https://example.com/books/{id}'));
  });

  test('an invalid template is refused with INVALID_SELECTOR and a message naming the problem', () => {
    assert.throws(
      () => compileSelector('https://example.com/books/{id'),
      (e) => code(e) === 'INVALID_SELECTOR' && /never closed/.test((e as Error).message),
    );
  });
});

describe('compileSelector, other syntaxes', () => {
  test('exact syntax compares literally, even "*" and "{id}"', () => {
    assert.equal(compileSelector('*', 'exact').kind, 'exact');
    assert.equal(compileSelector('*', 'exact').matches('a'), false);
    assert.ok(compileSelector('/books/{id}', 'exact').matches('/books/{id}'));
    assert.equal(compileSelector('/books/{id}', 'exact').matches('/books/1'), false);
  });

  test('template syntax: a template without expressions is an exact name', () => {
    const s = compileSelector('https://example.com/books', 'template');
    assert.equal(s.kind, 'exact');
    assert.ok(s.matches('https://example.com/books'));
    assert.throws(
      () => compileSelector('a b', 'template'),
      (e) => code(e) === 'INVALID_SELECTOR',
    );
  });

  test('urlpattern syntax matches WHATWG URL patterns', () => {
    const s = compileSelector('https://example.com/books/:id', 'urlpattern');
    assert.equal(s.kind, 'urlpattern');
    assert.ok(s.matches('https://example.com/books/1'));
    assert.equal(s.matches('https://example.com/books/1/reviews'), false);
    const all = compileSelector('https://example.com/books/*', 'urlpattern');
    assert.ok(all.matches('https://example.com/books/1/reviews'));
    const host = compileSelector('https://*.example.com/feed', 'urlpattern');
    assert.ok(host.matches('https://eu.example.com/feed'));
    assert.equal(host.matches('https://example.org/feed'), false);
  });

  test('urlpattern topics that are not absolute URLs simply do not match', () => {
    const s = compileSelector('https://example.com/books/:id', 'urlpattern');
    for (const topic of ['', '/books/1', 'books', 'not a url', '%', 'https://']) {
      assert.equal(s.matches(topic), false, topic);
    }
  });

  test('urlpattern refuses relative patterns and bad syntax, and takes regular-expression groups', () => {
    assert.ok(
      compileSelector('https://example.com/:id(\\d+)', 'urlpattern').matches('https://example.com/7'),
    );
    assert.ok(!compileSelector('https://example.com/(a|b)', 'urlpattern').matches('https://example.com/c'));
    for (const bad of ['/books/:id', 'https://ex ample.com/{']) {
      assert.throws(
        () => compileSelector(bad, 'urlpattern'),
        (e) => code(e) === 'INVALID_SELECTOR' && (e as Error).message.includes('URL pattern'),
        bad,
      );
    }
  });

  test('urlpattern refuses patterns with more than 8 wildcards and named groups', () => {
    assert.throws(
      () => compileSelector('https://example.com/*a*a*a*a*a*a*a*a*a*b', 'urlpattern'),
      (e) => code(e) === 'INVALID_SELECTOR' && /wildcards/.test((e as Error).message),
    );
  });

  test('an unknown syntax is refused with INVALID_SELECTOR', () => {
    assert.throws(
      () => compileSelector('a', 'regex' as never),
      (e) => code(e) === 'INVALID_SELECTOR' && /Unknown selector syntax "regex"/.test((e as Error).message),
    );
  });
});

describe('compileSelectors and matchesAny', () => {
  test('more selectors than the cap is refused with TOO_MANY_SELECTORS naming the cap', () => {
    const list = Array.from({ length: 11 }, (_, i) => `t${i}`);
    assert.throws(
      () => compileSelectors(list, { max: 10 }),
      (e) => code(e) === 'TOO_MANY_SELECTORS' && /at most 10 /.test((e as Error).message),
    );
    assert.equal(compileSelectors(list.slice(0, 10), { max: 10 }).length, 10);
  });

  test('the default cap is 1,000 selectors', () => {
    const list = Array.from({ length: 1001 }, (_, i) => `t${i}`);
    assert.throws(
      () => compileSelectors(list),
      (e) => code(e) === 'TOO_MANY_SELECTORS' && /1000/.test(String(e)),
    );
  });

  test('duplicate selectors are compiled once', () => {
    assert.equal(compileSelectors(['a', 'a', '{x}', '{x}']).length, 2);
  });

  test('the syntax option applies to every selector', () => {
    const [s] = compileSelectors(['https://example.com/:id'], { syntax: 'urlpattern' });
    assert.ok(s?.matches('https://example.com/1'));
  });

  test('matchesAny is true when one selector matches one topic (private update authorization)', () => {
    const claims = compileSelectors(['https://example.com/users/42/{+rest}', 'https://example.com/public']);
    assert.ok(matchesAny(claims, ['https://example.com/users/42/notifications']));
    assert.ok(matchesAny(claims, ['https://example.com/other', 'https://example.com/public']));
    assert.ok(matchesAny(claims, 'https://example.com/public'));
    assert.equal(matchesAny(claims, ['https://example.com/users/43/notifications']), false);
    assert.equal(matchesAny([], ['https://example.com/public']), false);
    assert.ok(matchesAny(compileSelectors(['*']), ['anything']));
    assert.equal(matchesAny(compileSelectors(['*']), []), false);
  });
});
