/**
 * Replay over the durable store (`--store sqlite:`): history is read in pages, the next one only once the
 * previous one was written and the socket drained, so a replaying connection holds one page however long
 * the history. 200 subscribers asking for ~30 MB of history and never reading would otherwise hold 200
 * copies of it (6 GB); and live updates published during a replay of many pages follow it with no gap and
 * no duplicate. Unlike the memory store, whose replays write the encoded bytes every connection shares,
 * each page read from SQLite is decoded and encoded for its connection: a replaying connection holds up to
 * about twice the write buffer (its page and its slice in flight), so the bound here is
 * 200 × 2 × --write-buffer + 50 MB — still independent of the history's size.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStreamParser, type ParsedEvent } from '../../src/protocol/index.js';
import { startHub, token, treeRssKiB } from '../support/hub-process.js';

const TOPIC = 'https://example.com/history';
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

function store(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'crier-replay-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'hub.db')}`;
}

describe('replay over SQLite is read in pages', () => {
  test(`${SUBSCRIBERS} subscribers that ask for ~30 MB of SQLite history and never read: RSS grows by less than ${SUBSCRIBERS} × 2 × --write-buffer + 50 MB, whatever the history size`, {
    timeout: 60_000,
  }, async (t) => {
    const data = 'h'.repeat(10_000);
    const hub = await startHub(t, {
      args: [
        '--anonymous',
        '--store',
        store(t),
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
    for (let i = 0; i < 3_000; i += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => ({ topics: [TOPIC], data: `${i + j} ${data}` }));
      await publishBatch(publishUrl, publisher, batch);
    }
    await sleep(500);
    const rssBefore = treeRssKiB(hub.pid)!;
    const boundKiB = SUBSCRIBERS * 2 * WRITE_BUFFER_KIB + 50 * 1024;

    const path = `/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`;
    const sockets: Socket[] = [];
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    let failed = 0;
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

    // Watch the hub's memory while the replays stall (and updates keep coming, so the stalled subscribers
    // are eventually dropped as slow); stop at once if it passes the bound.
    let peak = rssBefore;
    let published = 0;
    const deadline = Date.now() + 20_000;
    let dropped = 0;
    while (Date.now() < deadline) {
      await publishBatch(
        publishUrl,
        publisher,
        Array.from({ length: 4 }, () => ({ topics: [TOPIC], data: `live ${published++} ${data}` })),
      );
      peak = Math.max(peak, treeRssKiB(hub.pid) ?? 0);
      assert.ok(
        peak - rssBefore < boundKiB,
        `hub RSS grew ${Math.round((peak - rssBefore) / 1024)} MiB (bound ${Math.round(boundKiB / 1024)} MiB)`,
      );
      dropped = await metric(hub.origin, 'crier_slow_disconnects_total');
      if (dropped >= SUBSCRIBERS - failed && Date.now() > deadline - 15_000) break;
      await sleep(100);
    }
    const replays = await metric(hub.origin, 'crier_replays_total');
    t.diagnostic(
      `SQLite history 3000 × 10 KB, ${SUBSCRIBERS} non-reading subscribers, --write-buffer ${WRITE_BUFFER_KIB}KiB: RSS ${Math.round(rssBefore / 1024)} MiB before, peak ${Math.round(peak / 1024)} MiB (+${Math.round((peak - rssBefore) / 1024)} MiB, bound +${Math.round(boundKiB / 1024)} MiB), ${replays} replays, ${dropped} slow disconnects, ${failed} failed to connect`,
    );
    assert.equal(replays, SUBSCRIBERS - failed, 'every subscriber that connected was served its replay');
    assert.ok(failed <= SUBSCRIBERS / 20, `${failed} subscribers failed to connect`);
  });

  test('live updates published during a replay of many SQLite pages follow it with no gap and no duplicate', {
    timeout: 60_000,
  }, async (t) => {
    const history = 4_000; // × 4 KB ≈ 16 MB: more than the socket buffers hold, so the replay waits for the reader
    const live = 60;
    const data = 'p'.repeat(4_000);
    const hub = await startHub(t, {
      args: ['--anonymous', '--store', store(t), '--write-buffer', '64KiB', '--max-body', '16MiB'],
    });
    const publisher = await token({ publish: ['*'] });
    const publishUrl = new URL('/v1/publish', hub.origin).href;
    for (let i = 0; i < history; i += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => ({ topics: [TOPIC], data: `h${i + j} ${data}` }));
      await publishBatch(publishUrl, publisher, batch);
    }

    const events: ParsedEvent[] = [];
    const parser = new EventStreamParser({ onEvent: (e) => events.push(e) });
    const url = new URL(`/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`, hub.origin);
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(url, { headers: { 'last-event-id': 'earliest' }, agent: false });
      req.on('error', reject);
      req.on('response', resolve);
      t.after(() => req.destroy());
      req.end();
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['crier-replay'], 'ok');
    res.pause(); // nothing read yet: the replay stalls a few pages in
    for (let i = 0; i < live; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => ({ topics: [TOPIC], data: `l${i + j}` }));
      await publishBatch(publishUrl, publisher, batch);
    }
    res.on('data', (chunk: Buffer) => parser.push(chunk));
    res.resume();
    const deadline = Date.now() + 40_000;
    const messages = () => events.filter((e) => e.data !== undefined && e.data !== '');
    while (messages().length < history + live && Date.now() < deadline) await sleep(20);
    await sleep(200); // a duplicate would arrive now
    const got = messages().map((e) => e.data.split(' ')[0]);
    const expected = [
      ...Array.from({ length: history }, (_, i) => `h${i}`),
      ...Array.from({ length: live }, (_, i) => `l${i}`),
    ];
    assert.equal(got.length, expected.length, `${got.length} events arrived`);
    assert.deepEqual(got, expected);
  });
});
