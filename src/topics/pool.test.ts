import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SelectorPool } from './pool.js';
import { compileSelector } from './selector.js';

describe('SelectorPool', () => {
  test('identical selectors are compiled once and shared; the pool forgets one when its last holder releases it', () => {
    const pool = new SelectorPool();
    let compiled = 0;
    const compile = (s: string) => {
      compiled++;
      return compileSelector(s);
    };
    const a = pool.acquire('https://example.com/{id}', 'auto', compile);
    const b = pool.acquire('https://example.com/{id}', 'auto', compile);
    assert.equal(a, b);
    assert.equal(compiled, 1);
    assert.equal(pool.refs(a), 2);
    assert.equal(pool.size, 1);
    pool.release([a]);
    assert.equal(pool.refs(a), 1);
    assert.equal(pool.size, 1);
    pool.release([b]);
    assert.equal(pool.size, 0);
    assert.equal(pool.refs(a), 0);
    // Released for good: the next acquire compiles anew.
    const c = pool.acquire('https://example.com/{id}', 'auto', compile);
    assert.notEqual(c, a);
    assert.equal(compiled, 2);
  });

  test('the same text in another syntax is another selector', () => {
    const pool = new SelectorPool();
    const template = pool.acquire('https://example.com/{id}', 'auto');
    const exact = pool.acquire('https://example.com/{id}', 'exact');
    assert.notEqual(template, exact);
    assert.equal(template.kind, 'template');
    assert.equal(exact.kind, 'exact');
    assert.equal(pool.size, 2);
  });

  test('a selector that fails to compile takes nothing; releasing selectors not from the pool does nothing', () => {
    const pool = new SelectorPool();
    assert.throws(() => pool.acquire('https://example.com/{', 'auto'), /Invalid URI template/);
    assert.equal(pool.size, 0);
    pool.release([compileSelector('https://example.com/{id}')]);
    assert.equal(pool.size, 0);
  });

  test('`*` under several syntaxes is one object, counted once per hold', () => {
    const pool = new SelectorPool();
    const a = pool.acquire('*', 'auto');
    const b = pool.acquire('*', 'template');
    assert.equal(a, b);
    assert.equal(pool.refs(a), 2);
    pool.release([a, b]);
    assert.equal(pool.size, 0);
  });

  test('20,000 subscribe-and-leave cycles of distinct templates leave the pool empty', () => {
    const pool = new SelectorPool();
    for (let i = 0; i < 20_000; i++) {
      const s = pool.acquire(`https://example.com/${i % 1000}/{id}`, 'auto');
      pool.release([s]);
    }
    assert.equal(pool.size, 0);
  });
});
