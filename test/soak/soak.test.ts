/**
 * A one-minute soak (the full one is `npm run soak`): 1,000 subscribers over two processes, 20 updates a
 * second, 2 % of the connections closed and reconnected with Last-Event-ID every second. Every client gets
 * every update once, and the hub's RSS does not keep growing (a generous bound: under 2x its size after
 * warm-up — not a timing assertion).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSoak } from './soak.js';

describe('soak', () => {
  test('1,000 subscribers with churn for one minute: no update lost or duplicated, hub RSS bounded', {
    timeout: 150_000,
  }, async () => {
    const lines: string[] = [];
    const result = await runSoak({
      connections: 1000,
      durationMs: 60_000,
      workers: 2,
      rate: 20,
      churn: 0.02,
      sampleMs: 5_000,
      log: (line) => lines.push(line),
    });
    const report = `${lines.join('\n')}\n${JSON.stringify(result.totals)}`;
    assert.ok(result.hubAlive, report);
    assert.equal(result.connected, 1000, report);
    assert.equal(result.publishFailures, 0, report);
    assert.ok(result.published >= 400, report);
    assert.ok(result.totals.reconnects >= 500, `churn happened: ${report}`);
    assert.equal(result.totals.lost, 0, report);
    assert.equal(result.totals.duplicated, 0, report);
    assert.equal(result.totals.complete, 1000, `every client reached the last update: ${report}`);
    // Warm-up: the sample 10 s into publishing; growth after it stays under 2x.
    const warm = result.rss.find(([s]) => s >= 10)?.[1] ?? result.rss[0]![1];
    const peak = Math.max(...result.rss.filter(([s]) => s >= 10).map(([, kib]) => kib));
    assert.ok(peak < 2 * warm, `hub RSS ${warm} KiB after warm-up, peak ${peak} KiB: ${report}`);
  });
});
