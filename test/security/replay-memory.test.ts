/**
 * Replay as an attack on memory: 200 anonymous subscribers ask for all history (`Last-Event-ID:
 * earliest`, ~30 MB of 10 KB events) over raw sockets and never read, while updates keep being published.
 * The hub writes replay in slices bounded by --write-buffer, the next only once the socket took the
 * previous one: its RSS grows by less than 200 × --write-buffer + 50 MB, and the subscribers are dropped
 * as slow like any other.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHub, token, treeRssKiB } from '../support/hub-process.js';

const TOPIC = 'https://example.com/history';
const HISTORY_EVENTS = 3_000; // × 10 KB ≈ 30 MB
const DATA = 'h'.repeat(10_000);
const SUBSCRIBERS = 200;
const WRITE_BUFFER_KIB = 256;

async function publishBatch(url: string, bearer: string, updates: unknown[]): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify(updates),
  });
  assert.equal(res.status, 200, await res.text());
}

async function metric(origin: string, name: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', origin))).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

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
    const publisher = await token({ publish: ['*'] });
    const publishUrl = new URL('/v1/publish', hub.origin).href;
    for (let i = 0; i < HISTORY_EVENTS; i += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => ({ topics: [TOPIC], data: `${i + j} ${DATA}` }));
      await publishBatch(publishUrl, publisher, batch);
    }
    await sleep(500);
    const rssBefore = treeRssKiB(hub.pid)!;
    const boundKiB = SUBSCRIBERS * WRITE_BUFFER_KIB + 50 * 1024;

    // The attackers: raw sockets from 127.0.0.x that send the request and never read a byte.
    const path = `/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`;
    const sockets: Socket[] = [];
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    let failed = 0; // connections that failed on this side (none expected; counted to tell them apart)
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const socket = connect({ port: hub.port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 8)}` });
      socket.once('error', () => failed++);
      socket.on('error', () => {});
      socket.pause();
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nLast-Event-ID: earliest\r\n\r\n`,
      );
      sockets.push(socket);
    }

    // Updates keep coming (10 KB, ~40/s: a stalled subscriber's backlog passes --write-buffer within a
    // second or so, as with any slow subscriber); watch the hub's memory the whole time, and stop at once if it
    // passes the bound (before the fix it climbed by gigabytes).
    let peak = rssBefore;
    let published = 0;
    const deadline = Date.now() + 30_000;
    let dropped = 0;
    while (Date.now() < deadline) {
      await publishBatch(
        publishUrl,
        publisher,
        Array.from({ length: 4 }, () => ({ topics: [TOPIC], data: `live ${published++} ${DATA}` })),
      );
      peak = Math.max(peak, treeRssKiB(hub.pid) ?? 0);
      assert.ok(
        peak - rssBefore < boundKiB,
        `hub RSS grew ${Math.round((peak - rssBefore) / 1024)} MiB (bound ${Math.round(boundKiB / 1024)} MiB)`,
      );
      dropped = await metric(hub.origin, 'crier_slow_disconnects_total');
      if (dropped >= SUBSCRIBERS - failed && Date.now() > deadline - 25_000) break;
      await sleep(100);
    }
    const replays = await metric(hub.origin, 'crier_replays_total');
    const metrics = await (await fetch(new URL('/metrics', hub.origin))).text();
    t.diagnostic(
      `${failed} failed to connect; ${metrics
        .split('\n')
        .filter((l) => /^crier_(disconnects|replays)_total/.test(l))
        .join('; ')}`,
    );
    t.diagnostic(
      `history ${HISTORY_EVENTS} × 10 KB, ${SUBSCRIBERS} non-reading subscribers, --write-buffer ${WRITE_BUFFER_KIB}KiB: RSS ${Math.round(rssBefore / 1024)} MiB before, peak ${Math.round(peak / 1024)} MiB (+${Math.round((peak - rssBefore) / 1024)} MiB, bound +${Math.round(boundKiB / 1024)} MiB), ${dropped} slow disconnects`,
    );
    assert.equal(replays, SUBSCRIBERS - failed, 'every attacker that connected was served its replay');
    assert.ok(failed <= SUBSCRIBERS / 20, `${failed} attackers failed to connect`);
    assert.equal(dropped, replays, `every attacker was dropped as slow (${dropped} slow disconnects)`);
    assert.equal(await metric(hub.origin, 'crier_connections'), 0, 'no attacker is still connected');
  });
});
