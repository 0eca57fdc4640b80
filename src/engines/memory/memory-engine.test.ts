import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredUpdate } from '../engine.js';
import { MemoryEngine } from './memory-engine.js';

describe('MemoryEngine', () => {
  test('gives consecutive offsets and generated IDs that embed the epoch', async () => {
    const engine = new MemoryEngine();
    const a = await engine.publish({ topics: ['t'], data: 'a' });
    const b = await engine.publish({ topics: ['t'], data: 'b' });
    assert.equal(b.offset, a.offset + 1);
    assert.equal(a.id, `${engine.epoch}-${a.offset}`);
    assert.deepEqual(await engine.position(), { epoch: engine.epoch, offset: b.offset });
  });

  test('delivers each update to followers synchronously, in offset order, after storing it', async () => {
    const engine = new MemoryEngine();
    const seen: number[] = [];
    const inHistory: string[] = [];
    engine.follow({
      update: (u) => {
        seen.push(u.offset);
        // Already in history when followers see it: the ID is findable for replay.
        engine.readAfter(u.id).then((read) => inHistory.push(read.status));
      },
      reset: () => assert.fail('no reset expected'),
    });
    for (let i = 0; i < 5; i++) engine.publish({ topics: ['t'], data: String(i) });
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    await engine.position();
    assert.deepEqual(inHistory, ['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  test('reads history after a generated or a publisher-given ID', async () => {
    const engine = new MemoryEngine();
    await engine.publish({ topics: ['t'], data: '1' });
    await engine.publish({ topics: ['t'], data: '2', id: 'mine' });
    await engine.publish({ topics: ['u'], data: '3' });
    const first = await engine.readAfter(`${engine.epoch}-1`);
    assert.equal(first.status, 'ok');
    assert.deepEqual(
      (first as unknown as { updates: readonly StoredUpdate[] }).updates.map((u) => u.data),
      ['2', '3'],
    );
    const mine = await engine.readAfter('mine');
    assert.deepEqual(
      (mine as unknown as { updates: readonly StoredUpdate[] }).updates.map((u) => u.data),
      ['3'],
    );
    assert.equal(mine.position.offset, 3);
  });

  test('reports an evicted ID as expired, an ID of another epoch as expired, a foreign one as unknown', async () => {
    const engine = new MemoryEngine({ history: { maxCount: 2 } });
    const first = await engine.publish({ topics: ['t'], data: '1' });
    for (let i = 0; i < 3; i++) await engine.publish({ topics: ['t'], data: 'x' });
    assert.equal((await engine.readAfter(first.id)).status, 'expired');
    assert.equal((await engine.readAfter('zzzzzzzz-1')).status, 'expired');
    assert.equal((await engine.readAfter('never-seen')).status, 'unknown');
  });

  test('a new engine has a new epoch, so old IDs are never replayed against new offsets', async () => {
    const a = new MemoryEngine();
    const b = new MemoryEngine();
    assert.notEqual(a.epoch, b.epoch);
    const u = await a.publish({ topics: ['t'], data: '1' });
    await b.publish({ topics: ['t'], data: '1' });
    assert.equal((await b.readAfter(u.id)).status, 'expired');
  });

  test('rejects publishing without topics and after close', async () => {
    const engine = new MemoryEngine();
    await assert.rejects(engine.publish({ topics: [], data: '' }), { code: 'INVALID_UPDATE' });
    await engine.close();
    await assert.rejects(engine.publish({ topics: ['t'], data: '' }), { code: 'ENGINE_CLOSED' });
    assert.deepEqual(await engine.health(), { ready: false, detail: 'closed' });
  });
});
