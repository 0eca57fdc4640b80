import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { CrierError } from '../../protocol/errors.js';
import { engineContract } from '../contract.test-helpers.js';
import type { StoredUpdate } from '../engine.js';
import { SqliteEngine, type SqliteEngineOptions } from './index.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'crier-sqlite-'));
}

/** The contract, twice: as configured by default, and with reads served from the file, not the recent cache. */
for (const [name, recentCount] of [
  ['SqliteEngine', undefined],
  ['SqliteEngine reading from the file (recentCount: 1)', 1],
] as const) {
  engineContract(
    name,
    async ({ history }) => {
      const dir = tempDir();
      const options: SqliteEngineOptions = { path: join(dir, 'crier.db'), history, recentCount };
      let engine = new SqliteEngine(options);
      return {
        engine,
        restart: async () => {
          await engine.close();
          engine = new SqliteEngine(options);
          return engine;
        },
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    { durable: true },
  );
}

/** Runs `body` with a temporary directory, removed afterwards. */
async function inDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The engine's own connection (the file is locked to it, so tests look through it). */
function dbOf(engine: SqliteEngine): Database.Database {
  // biome-ignore lint/complexity/useLiteralKeys: reaching a private field on purpose, in a test
  return engine['db'];
}

/** Rows in the file, counted by SQLite. */
function rowCount(engine: SqliteEngine): number {
  return dbOf(engine).prepare('SELECT count(*) FROM updates').pluck().get() as number;
}

describe('SqliteEngine', () => {
  test('opens the file in WAL mode with synchronous=NORMAL by default, FULL on request', async () => {
    await inDir(async (dir) => {
      for (const [synchronous, expected] of [
        [undefined, 1],
        ['full', 2],
      ] as const) {
        const engine = new SqliteEngine({ path: join(dir, `${synchronous}.db`), synchronous });
        const db = dbOf(engine);
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(db.pragma('synchronous', { simple: true }), expected);
        await engine.close();
      }
    });
  });

  test('a directory that does not exist fails at open with a CrierError naming the path', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'missing', 'crier.db');
      assert.throws(
        () => new SqliteEngine({ path }),
        (error) => {
          assert.ok(error instanceof CrierError);
          assert.equal(error.code, 'ENGINE_UNAVAILABLE');
          assert.match(error.message, /does not exist/);
          assert.ok(error.message.includes(join(dir, 'missing')), error.message);
          return true;
        },
      );
    });
  });

  test('a path under a file, or a file that is not a database, fails at open with a CrierError', async () => {
    await inDir(async (dir) => {
      const file = join(dir, 'plain.txt');
      writeFileSync(file, 'not a database, and long enough for SQLite to look at its header. '.repeat(20));
      assert.throws(() => new SqliteEngine({ path: join(file, 'crier.db') }), {
        code: 'ENGINE_UNAVAILABLE',
        message: /does not exist/,
      });
      assert.throws(() => new SqliteEngine({ path: file }), {
        code: 'ENGINE_UNAVAILABLE',
        message: /not a SQLite database/,
      });
    });
  });

  test('a second process cannot open a file a hub has open', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'crier.db');
      const engine = new SqliteEngine({ path });
      await engine.publish({ topics: ['t'], data: '1' });
      // Another process, as a second hub would be (within one process SQLite shares the lock).
      const script = `
        const Database = require('better-sqlite3');
        try { new Database(${JSON.stringify(path)}, { timeout: 0 }).prepare('SELECT * FROM updates').all(); console.log('opened'); }
        catch (e) { console.log(e.code); }`;
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      assert.equal(child.stdout.trim(), 'SQLITE_BUSY');
      await engine.close();
      const after = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      assert.equal(after.stdout.trim(), 'opened');
    });
  });

  test('a recreated file gets a new epoch, and IDs from the old file are expired', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'crier.db');
      const first = new SqliteEngine({ path });
      const old = await first.publish({ topics: ['t'], data: 'old' });
      await first.close();
      const reopened = new SqliteEngine({ path });
      assert.equal(reopened.epoch, first.epoch);
      await reopened.close();

      unlinkSync(path);
      const recreated = new SqliteEngine({ path });
      assert.notEqual(recreated.epoch, first.epoch);
      const fresh = await recreated.publish({ topics: ['t'], data: 'new' });
      assert.equal(fresh.offset, 1);
      assert.equal((await recreated.readAfter(old.id)).status, 'expired');
      await recreated.close();
    });
  });

  test('offsets keep counting after retention deleted every row, across a restart', async () => {
    await inDir(async (dir) => {
      let now = 1_000_000;
      const options: SqliteEngineOptions = {
        path: join(dir, 'crier.db'),
        history: { maxAgeMs: 1000, now: () => now },
      };
      const engine = new SqliteEngine(options);
      for (let i = 0; i < 4; i++) await engine.publish({ topics: ['t'], data: `${i}` });
      now += 5000;
      engine.trim();
      assert.equal(rowCount(engine), 0);
      await engine.close();
      const reopened = new SqliteEngine(options);
      assert.deepEqual(await reopened.position(), { epoch: engine.epoch, offset: 4 });
      assert.equal((await reopened.publish({ topics: ['t'], data: 'next' })).offset, 5);
      await reopened.close();
    });
  });

  test('deletes rows in batches past the count bound, and reads apply the bound exactly', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'crier.db');
      const engine = new SqliteEngine({ path, history: { maxCount: 100 } });
      const published: StoredUpdate[] = [];
      let most = 0;
      for (let i = 0; i < 1000; i++) {
        published.push(await engine.publish({ topics: ['t'], data: `${i}` }));
        most = Math.max(most, engine.stored().updates);
      }
      // A batch is a tenth of the bound: never more than 110 rows in the file, never fewer than 100.
      assert.ok(most <= 110, `at most ${most} rows`);
      const rows = rowCount(engine);
      assert.ok(rows >= 100 && rows <= 110, `${rows} rows`);
      assert.equal((await engine.readAfter(published[899]!.id)).status, 'expired');
      const read = await engine.readAfter(published[900]!.id);
      assert.equal(read.status === 'ok' && read.updates.length, 99);
      await engine.close();
    });
  });

  test('the byte bound holds on disk too: the file stays near maxBytes of updates', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'crier.db');
      const maxBytes = 256 * 1024;
      const engine = new SqliteEngine({ path, history: { maxBytes } });
      for (let i = 0; i < 2000; i++) await engine.publish({ topics: ['t'], data: 'x'.repeat(1000) });
      assert.ok(engine.stored().bytes <= maxBytes);
      const rows = rowCount(engine);
      assert.ok(rows < 260 && rows > 150, `${rows} rows of ~1 KB`);
      await engine.close();
    });
  });

  test('the age bound removes old rows from the file on trim', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'crier.db');
      let now = 1_000_000;
      const engine = new SqliteEngine({ path, history: { maxAgeMs: 1000, now: () => now } });
      for (let i = 0; i < 10; i++) await engine.publish({ topics: ['t'], data: 'old' });
      now += 2000;
      const fresh = await engine.publish({ topics: ['t'], data: 'fresh' });
      engine.trim();
      assert.equal(rowCount(engine), 1);
      const read = await engine.readAfter(fresh.id);
      assert.equal(read.status === 'ok' && read.updates.length, 0);
      await engine.close();
    });
  });

  test('a trimmed publisher-given ID is expired for about 10,000 more updates, then unknown', async () => {
    await inDir(async (dir) => {
      const engine = new SqliteEngine({ path: join(dir, 'crier.db'), history: { maxCount: 5 } });
      await engine.publish({ topics: ['t'], data: '1', id: 'mine' });
      for (let i = 0; i < 6; i++) await engine.publish({ topics: ['t'], data: 'x' });
      engine.trim();
      assert.equal(rowCount(engine), 5);
      assert.equal((await engine.readAfter('mine')).status, 'expired');
      const publish100 = () =>
        Promise.all(Array.from({ length: 100 }, () => engine.publish({ topics: ['t'], data: 'x' })));
      for (let i = 0; i < 99; i++) await publish100(); // 9,900 more: still within the remembered span
      engine.trim();
      assert.equal((await engine.readAfter('mine')).status, 'expired');
      await publish100();
      await publish100();
      engine.trim();
      assert.equal((await engine.readAfter('mine')).status, 'unknown');
      assert.equal(
        (await engine.readAfter(`${engine.epoch}.${engine.run.toString(36)}-999999`)).status,
        'unknown',
      );
      await engine.close();
    });
  });

  test('publish fails with ENGINE_UNAVAILABLE when the write fails, and the offset is not used', async () => {
    await inDir(async (dir) => {
      const engine = new SqliteEngine({ path: join(dir, 'crier.db') });
      await engine.publish({ topics: ['t'], data: '1' });
      const seen: number[] = [];
      engine.follow({ update: (u) => seen.push(u.offset), reset: () => {} });
      // Make the next insert fail inside SQLite, as a full disk would.
      dbOf(engine).exec(
        "CREATE TRIGGER fail BEFORE INSERT ON updates BEGIN SELECT RAISE(ABORT, 'disk is full'); END",
      );
      await assert.rejects(engine.publish({ topics: ['t'], data: '2' }), {
        code: 'ENGINE_UNAVAILABLE',
        message: /disk is full/,
      });
      dbOf(engine).exec('DROP TRIGGER fail');
      assert.equal((await engine.publish({ topics: ['t'], data: '3' })).offset, 2);
      assert.deepEqual(seen, [2]);
      await engine.close();
    });
  });

  test('publishes made together commit together: all stored in order, or all rejected', async () => {
    await inDir(async (dir) => {
      const engine = new SqliteEngine({ path: join(dir, 'crier.db') });
      const seen: number[] = [];
      engine.follow({ update: (u) => seen.push(u.offset), reset: () => {} });
      const stored = await Promise.all(
        Array.from({ length: 100 }, (_, i) => engine.publish({ topics: ['t'], data: `${i}` })),
      );
      assert.deepEqual(
        stored.map((u) => u.offset),
        seen,
      );
      assert.deepEqual(
        seen,
        Array.from({ length: 100 }, (_, i) => i + 1),
      );

      dbOf(engine).exec(
        "CREATE TRIGGER fail BEFORE INSERT ON updates WHEN NEW.data = 'bad' BEGIN SELECT RAISE(ABORT, 'no'); END",
      );
      const results = await Promise.allSettled([
        engine.publish({ topics: ['t'], data: 'good' }),
        engine.publish({ topics: ['t'], data: 'bad' }),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['rejected', 'rejected'],
      );
      assert.equal(rowCount(engine), 100);
      assert.deepEqual(await engine.position(), { epoch: engine.epoch, offset: 100 });
      await engine.close();
    });
  });

  test('close commits the publishes already accepted', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'crier.db');
      const engine = new SqliteEngine({ path });
      const pending = engine.publish({ topics: ['t'], data: 'last words' });
      await engine.close();
      const stored = await pending;
      const reopened = new SqliteEngine({ path });
      assert.deepEqual(await reopened.position(), { epoch: engine.epoch, offset: stored.offset });
      await reopened.close();
    });
  });

  test('after a power loss lost the newest updates, their IDs are expired, not confused with new ones', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'crier.db');
      const first = new SqliteEngine({ path });
      const kept = await first.publish({ topics: ['t'], data: 'kept' });
      const lost = await first.publish({ topics: ['t'], data: 'lost' });
      await first.close();
      // What a power loss with synchronous=NORMAL can do: the WAL's tail (the last commits) is gone.
      const raw = new Database(path);
      raw.prepare('DELETE FROM updates WHERE "offset" = ?').run(lost.offset);
      raw.close();

      const second = new SqliteEngine({ path });
      assert.equal(second.run, first.run + 1);
      const reused = await second.publish({ topics: ['t'], data: 'new at the same offset' });
      assert.equal(reused.offset, lost.offset);
      assert.notEqual(reused.id, lost.id);
      assert.equal((await second.readAfter(lost.id)).status, 'expired');
      const read = await second.readAfter(kept.id);
      assert.equal(read.status === 'ok' && read.updates[0]?.data, 'new at the same offset');
      await second.close();
    });
  });

  test('a database of another application fails at open with a CrierError and leaves the file unlocked', async () => {
    await inDir(async (dir) => {
      const path = join(dir, 'other.db');
      const other = new Database(path);
      other.exec('CREATE TABLE updates (name TEXT)');
      other.close();
      assert.throws(() => new SqliteEngine({ path }), { code: 'ENGINE_UNAVAILABLE', message: /other\.db/ });
      const again = new Database(path, { timeout: 0 });
      assert.deepEqual(again.prepare('SELECT count(*) AS n FROM updates').get(), { n: 0 });
      const tables = again.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      assert.deepEqual(tables, ['updates']);
      again.close();
    });
  });
});
