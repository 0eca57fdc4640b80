import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HistoryRing } from './ring.js';

describe('HistoryRing', () => {
  test('assigns consecutive offsets and returns the entries after an offset', () => {
    const ring = new HistoryRing<string>();
    for (const v of ['a', 'b', 'c']) ring.append(`id-${v}`, v, 1);
    assert.deepEqual(
      ring.after(1).map((e) => [e.offset, e.value]),
      [
        [2, 'b'],
        [3, 'c'],
      ],
    );
    assert.deepEqual(ring.lookup('id-b'), { found: true, offset: 2 });
    assert.deepEqual(ring.lookup('nope'), { found: false, evicted: false });
  });

  test('is bounded by count and remembers only the last 10,000 IDs it evicted', () => {
    const ring = new HistoryRing<number>({ maxCount: 3 });
    for (let i = 1; i <= 12_000; i++) ring.append(`e${i}`, i, 1);
    assert.equal(ring.size, 3);
    assert.equal(ring.firstOffset, 11_998);
    assert.deepEqual(ring.lookup('e1'), { found: false, evicted: false });
    assert.deepEqual(ring.lookup('e11997'), { found: false, evicted: true });
    assert.deepEqual(ring.lookup('e1998'), { found: false, evicted: true });
    assert.deepEqual(ring.lookup('e1997'), { found: false, evicted: false });
    assert.deepEqual(ring.lookup('e11999'), { found: true, offset: 11_999 });
    assert.deepEqual(
      ring.after(0).map((e) => e.value),
      [11_998, 11_999, 12_000],
    );
  });

  test('is bounded by bytes but always keeps the newest entry', () => {
    const ring = new HistoryRing<string>({ maxBytes: 10 });
    ring.append('a', 'a', 4);
    ring.append('b', 'b', 4);
    ring.append('c', 'c', 4);
    assert.deepEqual(
      ring.after(0).map((e) => e.id),
      ['b', 'c'],
    );
    assert.equal(ring.bytes, 8);
    ring.append('huge', 'x', 100);
    assert.deepEqual(
      ring.after(0).map((e) => e.id),
      ['huge'],
    );
  });

  test('drops entries older than maxAgeMs', () => {
    let now = 1000;
    const ring = new HistoryRing<string>({ maxAgeMs: 100, now: () => now });
    ring.append('old', 'o', 1);
    now = 1050;
    ring.append('new', 'n', 1);
    now = 1120;
    assert.deepEqual(ring.lookup('old'), { found: false, evicted: true });
    assert.deepEqual(
      ring.after(0).map((e) => e.id),
      ['new'],
    );
  });

  test('a repeated ID names its earliest entry (Mercure §7)', () => {
    const ring = new HistoryRing<string>();
    ring.append('x', '1', 1);
    ring.append('x', '2', 1);
    assert.deepEqual(ring.lookup('x'), { found: true, offset: 1 });
  });

  test('once the earliest entry with an ID is evicted, the ID reads evicted, later copies or not', () => {
    const ring = new HistoryRing<string>({ maxCount: 2 });
    ring.append('x', '1', 1);
    ring.append('x', '2', 1);
    ring.append('y', '3', 1);
    assert.deepEqual(ring.lookup('x'), { found: false, evicted: true });
    ring.append('x', '4', 1);
    assert.deepEqual(ring.lookup('x'), { found: false, evicted: true });
  });

  test('has a default bound on count, bytes and age', () => {
    const ring = new HistoryRing<string>();
    assert.ok(
      Number.isFinite(ring.maxCount) && Number.isFinite(ring.maxBytes) && Number.isFinite(ring.maxAgeMs),
    );
  });
});
