/**
 * The replay-memory attack, shared by test/security/replay-memory*.test.ts: a hub holds ~30 MB of history;
 * subscribers on raw sockets from 127.0.0.x ask for all of it (`Last-Event-ID: earliest`) and never read,
 * while 10 KB updates keep coming. Watches the hub's RSS the whole time and fails as soon as it passes the
 * bound; returns what the hub reports once the stalled subscribers are dropped as slow.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type HubProcess, token, treeRssKiB } from './hub-process.js';

export async function publishBatch(url: string, bearer: string, updates: unknown[]): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify(updates),
  });
  assert.equal(res.status, 200, await res.text());
}

/** A counter or gauge from the hub's /metrics (summed labels are not: the first line wins). */
export async function metric(origin: string, name: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', origin))).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

export interface ReplayAttack {
  topic: string;
  subscribers: number;
  historyEvents: number;
  /** The most the hub's RSS may grow, in KiB. */
  boundKiB: number;
  /** How long updates keep coming at most, and how long the attack runs at least. */
  maxMs: number;
  minMs: number;
}

export interface ReplayAttackResult {
  rssBeforeKiB: number;
  peakKiB: number;
  failed: number;
  dropped: number;
  replays: number;
}

export async function runReplayAttack(
  t: TestContext,
  hub: HubProcess,
  a: ReplayAttack,
): Promise<ReplayAttackResult> {
  const data = 'h'.repeat(10_000);
  const publisher = await token({ publish: ['*'] });
  const publishUrl = new URL('/v1/publish', hub.origin).href;
  for (let i = 0; i < a.historyEvents; i += 500) {
    const batch = Array.from({ length: 500 }, (_, j) => ({ topics: [a.topic], data: `${i + j} ${data}` }));
    await publishBatch(publishUrl, publisher, batch);
  }
  await sleep(500);
  const rssBeforeKiB = treeRssKiB(hub.pid)!;

  // The attackers: raw sockets from 127.0.0.x that send the request and never read a byte.
  const path = `/.well-known/mercure?topic=${encodeURIComponent(a.topic)}`;
  const sockets: Socket[] = [];
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  let failed = 0; // connections that failed on this side (none expected; counted to tell them apart)
  for (let i = 0; i < a.subscribers; i++) {
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
  // second or so, as with any slow subscriber); stop at once if the hub's memory passes the bound.
  let peakKiB = rssBeforeKiB;
  let published = 0;
  let dropped = 0;
  const started = Date.now();
  while (Date.now() - started < a.maxMs) {
    await publishBatch(
      publishUrl,
      publisher,
      Array.from({ length: 4 }, () => ({ topics: [a.topic], data: `live ${published++} ${data}` })),
    );
    peakKiB = Math.max(peakKiB, treeRssKiB(hub.pid) ?? 0);
    assert.ok(
      peakKiB - rssBeforeKiB < a.boundKiB,
      `hub RSS grew ${Math.round((peakKiB - rssBeforeKiB) / 1024)} MiB (bound ${Math.round(a.boundKiB / 1024)} MiB)`,
    );
    dropped = await metric(hub.origin, 'crier_slow_disconnects_total');
    if (dropped >= a.subscribers - failed && Date.now() - started > a.minMs) break;
    await sleep(100);
  }
  const replays = await metric(hub.origin, 'crier_replays_total');
  t.diagnostic(
    `history ${a.historyEvents} × 10 KB, ${a.subscribers} non-reading subscribers: RSS ${Math.round(rssBeforeKiB / 1024)} MiB before, peak ${Math.round(peakKiB / 1024)} MiB (+${Math.round((peakKiB - rssBeforeKiB) / 1024)} MiB, bound +${Math.round(a.boundKiB / 1024)} MiB), ${replays} replays, ${dropped} slow disconnects, ${failed} failed to connect`,
  );
  return { rssBeforeKiB, peakKiB, failed, dropped, replays };
}
