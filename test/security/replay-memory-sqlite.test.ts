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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStreamParser, type ParsedEvent } from '../../src/protocol/index.js';
import { startHub, token } from '../support/hub-process.js';
import { publishBatch, runReplayAttack } from '../support/replay-attack.js';

const TOPIC = 'https://example.com/history';
const SUBSCRIBERS = 200;
const WRITE_BUFFER_KIB = 256;

function store(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'crier-replay-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'hub.db')}`;
}

describe('replay over SQLite is read in pages', () => {
  test(`${SUBSCRIBERS} subscribers that ask for ~30 MB of SQLite history and never read: RSS grows by less than ${SUBSCRIBERS} × 2 × --write-buffer + 50 MB, whatever the history size`, {
    timeout: 60_000,
  }, async (t) => {
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
    const { failed, replays } = await runReplayAttack(t, hub, {
      topic: TOPIC,
      subscribers: SUBSCRIBERS,
      historyEvents: 3_000,
      boundKiB: SUBSCRIBERS * 2 * WRITE_BUFFER_KIB + 50 * 1024,
      maxMs: 20_000,
      minMs: 5_000,
    });
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
