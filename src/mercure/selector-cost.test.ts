import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { until } from '../testing/wait.test-helpers.js';
import { startHub, subscribe } from './hub.test-helpers.js';

const enc = encodeURIComponent;

describe('selector cost in the hub', () => {
  test('connections with the same selectors share the compiled ones, and the pool empties when they leave', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const pool = hub.hub.selectorPool;
    const v07 = `${hub.url}?topic=${enc('https://example.com/books/{id}')}&topic=${enc('https://example.com/a')}`;
    const v08 = `${hub.url}?match_urlpattern=${enc('https://example.com/books/:id')}&match=${enc('https://example.com/a')}`;
    const streams = [];
    for (let i = 0; i < 5; i++) streams.push(await subscribe(t, v07), await subscribe(t, v08));
    for (const s of streams) assert.equal(s.status, 200, s.body);
    // One template, one URL pattern, and the exact topic once per matcher type.
    await until('the pool to hold the distinct selectors', () => pool.size === 4);
    const head = await fetch(v07, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(pool.size, 4);
    for (const s of streams) s.close();
    await until('the pool to empty', () => pool.size === 0);
  });

  test('past --max-selector-cost a subscribe is a 400, past --max-selector-cost-per-ip a 429, and closing gives the allowance back', async (t) => {
    const hub = await startHub(t, [
      '--anonymous',
      '--max-selector-cost',
      '40KiB',
      '--max-selector-cost-per-ip',
      '48KiB',
    ]);
    const templates = (n: number, salt: string) =>
      Array.from({ length: n }, (_, i) => `topic=${enc(`https://example.com/${salt}${i}/{id}`)}`).join('&');
    const tooMany = await subscribe(t, `${hub.url}?${templates(8, 'a')}`);
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body, /--max-selector-cost\)/);
    assert.equal(hub.hub.selectorPool.size, 0, 'a refused subscription holds nothing');
    const first = await subscribe(t, `${hub.url}?${templates(4, 'b')}`);
    assert.equal(first.status, 200, first.body);
    const second = await subscribe(t, `${hub.url}?${templates(4, 'c')}`);
    assert.equal(second.status, 429);
    assert.match(second.body, /--max-selector-cost-per-ip/);
    assert.equal(second.headers['retry-after'], '5');
    // Exact topics are cheap: they still fit beside the templates.
    const exact = await subscribe(t, `${hub.url}?topic=${enc('https://example.com/x')}`);
    assert.equal(exact.status, 200);
    first.close();
    exact.close();
    await until('the pool to empty', () => hub.hub.selectorPool.size === 0);
    const again = await subscribe(t, `${hub.url}?${templates(4, 'c')}`);
    assert.equal(again.status, 200, again.body);
    again.close();
  });
});
