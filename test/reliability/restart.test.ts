/**
 * The hub with its durable store (--store sqlite:): a graceful restart and a SIGKILL lose no update the hub
 * acknowledged (200) to a publisher, and clients resume with Last-Event-ID across the restart with nothing
 * lost and nothing twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type HubProcess,
  publishForm,
  startHub,
  subscribe,
  token,
  topicUrl,
} from '../support/hub-process.js';

const TOPIC = 'https://example.com/durable';

function tempStore(t: { after(f: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'crier-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'hub.db')}`;
}

async function publishRange(hub: HubProcess, bearer: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const res = await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', `u${i}`],
      ],
      bearer,
    );
    assert.equal(res.status, 200, res.body);
  }
}

describe('hub restarts with the SQLite store', () => {
  test('a client resumes with Last-Event-ID across a graceful restart: nothing lost, nothing twice', async (t) => {
    const store = tempStore(t);
    const publisher = await token({ publish: ['*'] });
    const args = ['--store', store, '--anonymous'];
    let hub = await startHub(t, { args });
    const port = hub.port;
    const first = await subscribe(t, topicUrl(hub.url, [TOPIC]));
    await publishRange(hub, publisher, 0, 50);
    const seen = await first.waitFor(50);
    const lastId = seen[49]!.lastEventId;
    first.close();
    // Published while the client is away, then the hub restarts.
    await publishRange(hub, publisher, 50, 100);
    const stopped = await hub.stop('SIGTERM');
    assert.equal(stopped.code, 0, 'graceful shutdown exits 0');
    hub = await startHub(t, { args, port });
    const resumed = await subscribe(t, topicUrl(hub.url, [TOPIC]), { 'last-event-id': lastId });
    assert.equal(resumed.status, 200);
    await publishRange(hub, publisher, 100, 120);
    const events = await resumed.waitFor(70);
    assert.deepEqual(
      events.map((e) => e.data),
      Array.from({ length: 70 }, (_, i) => `u${50 + i}`),
    );
    assert.equal(new Set(events.map((e) => e.lastEventId)).size, 70, 'IDs are unique');
  });

  test('SIGKILL mid-publishing loses no acknowledged update', async (t) => {
    const store = tempStore(t);
    const publisher = await token({ publish: ['*'] });
    const args = ['--store', store, '--anonymous'];
    let hub = await startHub(t, { args });
    const port = hub.port;
    const acknowledged: string[] = [];
    // Four publishers in parallel; the hub is killed while they run.
    const publishers = [0, 1, 2, 3].map(async (p) => {
      for (let i = 0; ; i++) {
        const data = `p${p}-${i}`;
        try {
          const res = await publishForm(
            hub.url,
            [
              ['topic', TOPIC],
              ['data', data],
            ],
            publisher,
          );
          if (res.status === 200) acknowledged.push(data);
          else return;
        } catch {
          return; // connection refused or reset: the hub is gone
        }
      }
    });
    while (acknowledged.length < 300) await new Promise((r) => setTimeout(r, 5));
    const killed = await hub.stop('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    await Promise.all(publishers);
    hub = await startHub(t, { args, port });
    const replay = await subscribe(t, topicUrl(hub.url, [TOPIC], { lastEventID: 'earliest' }));
    assert.equal(replay.status, 200);
    // A marker after the replay: once it arrives, the replay is complete.
    await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', 'marker'],
      ],
      publisher,
    );
    let n = 1;
    while ((await replay.waitFor(n)).at(-1)!.data !== 'marker') n++;
    const stored = new Set(replay.events.map((e) => e.data));
    const lost = acknowledged.filter((d) => !stored.has(d));
    assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged updates lost`);
    assert.equal(stored.size, replay.events.length, 'no update is stored twice');
  });
});
