/**
 * Replay as an attack on memory: 200 anonymous subscribers ask for all history (`Last-Event-ID:
 * earliest`, ~30 MB of 10 KB events) over raw sockets and never read, while updates keep being published.
 * The hub writes replay in slices bounded by --write-buffer, the next only once the socket took the
 * previous one: its RSS grows by less than 200 × --write-buffer + 50 MB, and the subscribers are dropped
 * as slow like any other.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startHub } from '../support/hub-process.js';
import { metric, runReplayAttack } from '../support/replay-attack.js';

const SUBSCRIBERS = 200;
const WRITE_BUFFER_KIB = 256;

describe('replay bounded by the write buffer', () => {
  test(`${SUBSCRIBERS} subscribers that ask for ~30 MB of history and never read: RSS grows by less than ${SUBSCRIBERS} × --write-buffer + 50 MB and every one is dropped as slow`, {
    timeout: 60_000,
  }, async (t) => {
    const hub = await startHub(t, {
      args: [
        '--anonymous',
        '--write-buffer',
        `${WRITE_BUFFER_KIB}KiB`,
        '--max-body',
        '16MiB',
        '--history-bytes',
        '64MiB',
      ],
    });
    const { failed, dropped, replays } = await runReplayAttack(t, hub, {
      topic: 'https://example.com/history',
      subscribers: SUBSCRIBERS,
      historyEvents: 3_000, // × 10 KB ≈ 30 MB
      boundKiB: SUBSCRIBERS * WRITE_BUFFER_KIB + 50 * 1024,
      maxMs: 30_000,
      minMs: 5_000,
    });
    assert.equal(replays, SUBSCRIBERS - failed, 'every attacker that connected was served its replay');
    assert.ok(failed <= SUBSCRIBERS / 20, `${failed} attackers failed to connect`);
    assert.equal(dropped, replays, `every attacker was dropped as slow (${dropped} slow disconnects)`);
    assert.equal(await metric(hub.origin, 'crier_connections'), 0, 'no attacker is still connected');
  });
});
