import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LatencyHistogram } from './histogram.js';

describe('LatencyHistogram', () => {
  test('an empty histogram reports zeros', () => {
    const h = new LatencyHistogram();
    assert.deepEqual(h.summary(), { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 });
  });

  test('values below 256 µs are kept exactly', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 100; v++) h.record(v);
    assert.equal(h.valueAtPercentile(50), 50);
    assert.equal(h.valueAtPercentile(99), 99);
    assert.equal(h.valueAtPercentile(100), 100);
    assert.equal(h.summary().min, 1);
    assert.equal(h.summary().mean, 50.5);
  });

  test('percentiles of large values are within 1/128 above the true value, never below', () => {
    const values: number[] = [];
    let x = 12345;
    for (let i = 0; i < 10_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      values.push(300 + (x % 5_000_000));
    }
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
      const got = h.valueAtPercentile(p);
      assert.ok(got >= exact, `p${p}: ${got} < ${exact}`);
      assert.ok(got <= exact * (1 + 1 / 128), `p${p}: ${got} too far above ${exact}`);
    }
    assert.equal(h.valueAtPercentile(100), sorted.at(-1));
  });

  test('values past 2^32 µs and negative values are recorded without loss of count', () => {
    const h = new LatencyHistogram();
    h.record(2 ** 33 + 17);
    h.record(-5);
    assert.equal(h.count, 2);
    assert.equal(h.valueAtPercentile(50), 0);
    const top = h.valueAtPercentile(100);
    assert.ok(top >= 2 ** 33 && top <= 2 ** 33 + 17, String(top));
  });

  test('merging sparse copies from several processes equals recording all in one', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 0; i < 1000; i++) {
      const v = (i * 7919) % 100_000;
      (i % 2 ? a : b).record(v);
      all.record(v);
    }
    const merged = LatencyHistogram.fromSparse(JSON.parse(JSON.stringify(a.toSparse())));
    merged.add(LatencyHistogram.fromSparse(b.toSparse()));
    assert.deepEqual(merged.summary(), all.summary());
  });
});
