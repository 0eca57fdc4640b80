import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { engineContract } from '../contract.test-helpers.js';
import type { StoredUpdate } from '../engine.js';
import { MemoryEngine } from '../memory/index.js';
import { SqliteEngine } from '../sqlite/index.js';
import { channelPair } from './channel.js';
import { ClusterEngine, ClusterEngineHost } from './cluster-engine.js';

/** A host holding `inner` and one worker engine connected to it over an in-process channel pair. */
function connected(inner: ConstructorParameters<typeof ClusterEngineHost>[0]) {
  const host = new ClusterEngineHost(inner);
  const [primarySide, workerSide] = channelPair();
  const detach = host.attach(primarySide);
  const engine = new ClusterEngine({ channel: workerSide });
  return { host, engine, detach };
}

// The IPC engine over the memory engine: what `crier serve --workers N` runs by default.
engineContract('ClusterEngine over a MemoryEngine', async ({ history }) => {
  const { host, engine } = connected(new MemoryEngine({ history }));
  return { engine, cleanup: () => host.close() };
});

// And over SQLite, durable: a restart closes the worker's engine and the primary's, and reopens both on the file.
engineContract(
  'ClusterEngine over a SqliteEngine',
  async ({ history }) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-cluster-'));
    const path = join(dir, 'crier.db');
    let current = connected(new SqliteEngine({ path, history }));
    return {
      engine: current.engine,
      restart: async () => {
        await current.engine.close();
        await current.host.close();
        current = connected(new SqliteEngine({ path, history }));
        return current.engine;
      },
      cleanup: async () => {
        await current.host.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { durable: true },
);

describe('ClusterEngine', () => {
  test('every worker receives every update once, in the one order the primary gave', async () => {
    const host = new ClusterEngineHost(new MemoryEngine());
    const workers = [0, 1, 2].map(() => {
      const [primarySide, workerSide] = channelPair();
      host.attach(primarySide);
      const engine = new ClusterEngine({ channel: workerSide });
      const seen: StoredUpdate[] = [];
      engine.follow({ update: (u) => seen.push(u), reset: () => assert.fail('no reset') });
      return { engine, seen };
    });
    // Publishes from all three workers at once, interleaved.
    await Promise.all(
      workers.flatMap((w, i) =>
        Array.from({ length: 20 }, (_, j) => w.engine.publish({ topics: ['t'], data: `${i}.${j}` })),
      ),
    );
    const position = await workers[0]!.engine.position();
    assert.equal(position.offset, 60);
    for (const w of workers) {
      assert.deepEqual(
        w.seen.map((u) => u.offset),
        Array.from({ length: 60 }, (_, k) => k + 1),
      );
      assert.deepEqual(
        w.seen.map((u) => u.data),
        workers[0]!.seen.map((u) => u.data),
      );
    }
    for (const w of workers) await w.engine.close();
    await host.close();
  });

  test('a detached worker gets nothing more; the others go on', async () => {
    const host = new ClusterEngineHost(new MemoryEngine());
    const a = connected(host.engine);
    const [primarySide, workerSide] = channelPair();
    const detach = host.attach(primarySide);
    const b = new ClusterEngine({ channel: workerSide });
    const seenB: string[] = [];
    b.follow({ update: (u) => seenB.push(u.data), reset: () => {} });
    await a.engine.publish({ topics: ['t'], data: '1' });
    await b.position(); // everything sent before this answer has arrived
    detach();
    await a.engine.publish({ topics: ['t'], data: '2' });
    assert.equal((await a.engine.position()).offset, 2);
    assert.deepEqual(seenB, ['1']);
    await a.engine.close();
    await a.host.close();
  });
});
