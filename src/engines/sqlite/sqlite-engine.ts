/**
 * The SQLite engine: one hub node, history in a local file that survives a restart (`--store sqlite:PATH`).
 *
 * The log is the `updates` table: `offset INTEGER PRIMARY KEY` (the rowid), assigned by the engine,
 * consecutive, and never reused even after retention deleted every row (each deletion records in `meta`
 * the offset history now starts at; AUTOINCREMENT would cost a page write per publish instead). The epoch
 * is drawn once, when the file is created, and kept in the `meta` table: reopening the same file continues
 * the same log; a deleted and recreated file is a new epoch, so IDs handed out by the old file are reported
 * `expired`, never replayed against the wrong updates.
 *
 * Publishing is an INSERT in a transaction (better-sqlite3 is synchronous), then the followers are called
 * synchronously in offset order. Nothing else runs in between in this process, so "append to history and
 * publish" is atomic and ordered. Publishes made in one synchronous run (a batch) are grouped into one
 * transaction, committed in a microtask: one WAL write for the lot. The file is opened with an exclusive
 * lock: a second process (a second hub on the same file) fails at open instead of interleaving offsets.
 *
 * Retention: history is bounded by count, bytes and age, like the memory engine, with the same defaults.
 * Reads apply the count and age bounds exactly; rows are deleted from the file in batches (when the
 * count bound is overshot by a batch, when the byte bound is passed, and on a timer for age), so a busy
 * hub does not pay a DELETE per publish.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import {
  DEFAULT_HISTORY_MAX_AGE_MS,
  DEFAULT_HISTORY_MAX_BYTES,
  DEFAULT_HISTORY_MAX_COUNT,
  HistoryRing,
} from '../../history/ring.js';
import { importDriver } from '../driver.js';
import type {
  Engine,
  EngineFollower,
  EngineHealth,
  HistoryRead,
  ReadOptions,
  StoredUpdate,
  StreamPosition,
  Update,
} from '../engine.js';
import { EngineError } from '../errors.js';
import { checkedLimit, continueAfter, pageOf } from '../paging.js';

// better-sqlite3 (a native build) is an optional peer dependency, loaded with this module (src/engines/driver.ts).
const { default: SqliteDatabase } = await importDriver<{ default: typeof Database }>(
  'better-sqlite3',
  'The SQLite engine (--store sqlite:PATH)',
);

export interface SqliteEngineOptions {
  /**
   * The database file. Created with its tables when missing; its directory must exist and be writable.
   * `:memory:` gives a throwaway store (tests).
   */
  path: string;
  /** History bounds; each has a finite default (10,000 updates, 64 MiB, 1 hour), as in the memory engine. */
  history?: {
    /** Most updates kept. Default 10,000. */
    maxCount?: number;
    /** Most bytes kept (UTF-8 size of data, ID, event and topics, plus 32 per update). Default 64 MiB. */
    maxBytes?: number;
    /** Updates older than this are dropped, in milliseconds. Default 1 hour. */
    maxAgeMs?: number;
    /** The clock, for tests. Default `Date.now`. */
    now?: () => number;
  };
  /**
   * SQLite's `synchronous` setting. `normal` (the default, with WAL): a published update survives a crash
   * of the process but the last few may be lost on power loss or an OS crash. `full`: every publish is
   * fsynced before it resolves (survives power loss; slower).
   */
  synchronous?: 'normal' | 'full';
  /** How often rows past the age bound are deleted from the file. Default `maxAgeMs / 10` within 1 s to 60 s. */
  trimIntervalMs?: number;
  /**
   * How many of the newest updates are also kept in memory (at most 8 MiB of them), so that reconnecting
   * subscribers a little behind — a reconnect storm after a restart — are served by one ID index lookup
   * instead of reading rows.
   * Loaded from the file at open. Default 1,000.
   */
  recentCount?: number;
}

/** The schema version written in `meta`; a file with another version is refused rather than misread. */
const SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS updates (
  "offset" INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  topics TEXT NOT NULL,   -- JSON array of strings
  data TEXT NOT NULL,
  event TEXT,
  retry INTEGER,
  private INTEGER,        -- NULL when the publisher did not say, else 0 or 1
  time INTEGER NOT NULL,  -- ms since the Unix epoch, never decreasing with the offset
  bytes INTEGER NOT NULL  -- what the update costs against maxBytes
);
CREATE INDEX IF NOT EXISTS updates_by_id ON updates (id);
-- Publisher-given IDs whose update was trimmed, so readAfter can say "expired" rather than "unknown"
-- (also while a later update reusing the ID is still held: the ID may name the trimmed one).
-- (Generated IDs need no entry: their epoch and offset are in the ID.) Bounded by offset span.
CREATE TABLE IF NOT EXISTS trimmed_ids (
  id TEXT PRIMARY KEY,
  "offset" INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trimmed_ids_by_offset ON trimmed_ids ("offset");
`;

interface UpdateRow {
  offset: number;
  id: string;
  topics: string;
  data: string;
  event: string | null;
  retry: number | null;
  private: number | null;
  time: number;
}

type Statement = Database.Statement<unknown[], unknown>;

/** Trimmed publisher IDs are remembered over at least this many offsets, so they answer `expired`. */
const REMEMBERED_TRIMMED_IDS = 10_000;

export class SqliteEngine implements Engine {
  readonly name = 'sqlite';
  /** Eight base-36 characters, drawn when the file was created. */
  readonly epoch: string;
  /**
   * How many times the file has been opened, this time included (written with an fsync at open). Generated
   * IDs are `<epoch>.<run in base 36>-<offset>`: after a power loss the last updates may be lost and their
   * offsets given again, but never their IDs, so a client holding a lost ID is told, never misplaced.
   */
  readonly run: number;
  private readonly idPrefix: string;
  /** The database file, as given. */
  readonly path: string;
  readonly maxCount: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;

  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly batch: number;
  private readonly timer: NodeJS.Timeout;
  private followers: EngineFollower[] = [];
  /** The newest updates, a suffix of the log (never holding one the file no longer does). */
  private readonly recent: HistoryRing<StoredUpdate>;
  private closed = false;

  // The log as the file holds it, kept in step with every insert and delete.
  private lastOffset: number;
  private lastTime: number;
  /** Rows in the file and their total `bytes` (may exceed maxCount by up to a batch; never maxBytes). */
  private rows: number;
  private rowBytes: number;
  /** The oldest offset in the file (lastOffset + 1 when empty). */
  private firstOffset: number;

  private readonly insert: Statement;
  private readonly byId: Statement;
  private readonly after: Statement;
  private readonly afterPage: Statement;
  private readonly trimmedId: Statement;
  private readonly oldest: Statement;
  private readonly rangeStats: Statement;
  private readonly tombstone: Statement;
  private readonly deleteBefore: Statement;
  private readonly forgetTombstones: Statement;
  private readonly setMeta: Statement;
  private readonly insertRows: (rows: unknown[][]) => void;
  private pending: { update: Update; resolve: (u: StoredUpdate) => void; reject: (e: unknown) => void }[] =
    [];

  constructor(options: SqliteEngineOptions) {
    this.path = options.path;
    this.maxCount = positive('maxCount', options.history?.maxCount ?? DEFAULT_HISTORY_MAX_COUNT);
    this.maxBytes = positive('maxBytes', options.history?.maxBytes ?? DEFAULT_HISTORY_MAX_BYTES);
    this.maxAgeMs = positive('maxAgeMs', options.history?.maxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS);
    this.now = options.history?.now ?? Date.now;
    // Delete in batches of a tenth of the count bound (at most 1,000 rows): one DELETE per batch publishes.
    this.batch = Math.max(1, Math.min(1000, Math.ceil(this.maxCount / 10)));
    const recentCount = positive('recentCount', options.recentCount ?? 1000);
    const synchronous = options.synchronous ?? 'normal';
    if (synchronous !== 'normal' && synchronous !== 'full') {
      throw new RangeError(
        `SqliteEngine synchronous must be 'normal' or 'full', got ${String(synchronous)}.`,
      );
    }

    this.db = open(options.path);
    try {
      // Exclusive: the first write below takes the lock until close, so a second process fails now.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      // The run counter must reach the disk before any ID using it is handed out.
      this.db.pragma('synchronous = FULL');
      // One transaction: a file that is not ours is left without a stray table.
      [this.epoch, this.run] = this.db.transaction(() => {
        this.db.exec(SCHEMA);
        return this.initMeta();
      })();
      this.db.pragma(`synchronous = ${synchronous.toUpperCase()}`);

      this.idPrefix = `${this.epoch}.${this.run.toString(36)}-`;
      this.insert = this.db.prepare(
        'INSERT INTO updates ("offset", id, topics, data, event, retry, private, time, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      this.byId = this.db.prepare(
        'SELECT "offset", time FROM updates WHERE id = ? ORDER BY "offset" LIMIT 1',
      );
      this.after = this.db.prepare(
        'SELECT "offset", id, topics, data, event, retry, private, time FROM updates WHERE "offset" > ? ORDER BY "offset"',
      );
      this.afterPage = this.db.prepare(
        'SELECT "offset", id, topics, data, event, retry, private, time FROM updates WHERE "offset" > ? ORDER BY "offset" LIMIT ?',
      );
      this.trimmedId = this.db.prepare('SELECT 1 FROM trimmed_ids WHERE id = ?').pluck();
      this.oldest = this.db.prepare(
        'SELECT "offset", time, bytes FROM updates WHERE "offset" >= ? ORDER BY "offset"',
      );
      this.rangeStats = this.db.prepare(
        'SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM updates WHERE "offset" < ?',
      );
      this.tombstone = this.db.prepare(
        `INSERT OR REPLACE INTO trimmed_ids (id, "offset")
       SELECT id, "offset" FROM updates WHERE "offset" < ? AND id NOT GLOB (? || '.*-' || "offset")`,
      );
      this.deleteBefore = this.db.prepare('DELETE FROM updates WHERE "offset" < ?');
      this.forgetTombstones = this.db.prepare('DELETE FROM trimmed_ids WHERE "offset" < ?');
      this.setMeta = this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
      this.insertRows = this.db.transaction((rows: unknown[][]) => {
        for (const row of rows) this.insert.run(row);
      });

      const trimmedBefore = Number(
        this.db.prepare("SELECT value FROM meta WHERE key = 'trimmed_before'").pluck().get() ?? 0,
      );
      const stats = this.db
        .prepare(
          'SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b, min("offset") AS first, max("offset") AS last FROM updates',
        )
        .get() as { n: number; b: number; first: number | null; last: number | null };
      this.lastOffset = Math.max(trimmedBefore - 1, stats.last ?? 0);
      this.firstOffset = stats.first ?? this.lastOffset + 1;
      this.rows = stats.n;
      this.rowBytes = stats.b;
      this.lastTime =
        (this.db.prepare('SELECT time FROM updates ORDER BY "offset" DESC LIMIT 1').pluck().get() as
          | number
          | undefined) ?? 0;
      // The bounds may have been lowered since the file was last open.
      this.trim();
      this.recent = this.loadRecent(recentCount);
    } catch (error) {
      // A failed open leaves nothing open: not a half-read file, not the lock.
      this.db.close();
      throw openError(options.path, error);
    }

    const interval = options.trimIntervalMs ?? Math.min(60_000, Math.max(1000, this.maxAgeMs / 10));
    this.timer = setInterval(
      () => {
        try {
          this.trim();
        } catch {
          // A failing disk shows up in publish and health; the next tick tries again.
        }
      },
      positive('trimIntervalMs', interval),
    );
    this.timer.unref();
  }

  publish(update: Update): Promise<StoredUpdate> {
    if (this.closed) return Promise.reject(closedError());
    if (update.topics.length === 0) {
      return Promise.reject(new EngineError('INVALID_UPDATE', 'An update needs at least one topic.'));
    }
    return new Promise((resolve, reject) => {
      // Group commit: publishes made in the same synchronous run (a batch, a Promise.all) share one
      // transaction, committed in a microtask. A lone publish is committed as soon as its caller yields.
      this.pending.push({ update, resolve, reject });
      if (this.pending.length === 1) queueMicrotask(() => this.flush());
    });
  }

  /** Stores the pending publishes in one transaction, then delivers and resolves them in offset order. */
  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const stored: StoredUpdate[] = [];
    const rows: unknown[][] = [];
    let offset = this.lastOffset;
    let time = this.lastTime;
    let bytes = 0;
    for (const { update } of batch) {
      offset++;
      // Time never goes backwards along the log, so the age bound always cuts a prefix of it.
      time = Math.max(this.now(), time);
      const id = update.id ?? this.idPrefix + offset;
      const topics = JSON.stringify(update.topics);
      const size =
        32 +
        Buffer.byteLength(update.data) +
        Buffer.byteLength(id) +
        Buffer.byteLength(topics) +
        (update.event === undefined ? 0 : Buffer.byteLength(update.event));
      bytes += size;
      const isPrivate = update.private === undefined ? null : update.private ? 1 : 0;
      rows.push([
        offset,
        id,
        topics,
        update.data,
        update.event ?? null,
        update.retry ?? null,
        isPrivate,
        time,
        size,
      ]);
      stored.push({
        topics: update.topics,
        data: update.data,
        id,
        event: update.event,
        retry: update.retry,
        private: update.private,
        offset,
        epoch: this.epoch,
        time,
      });
    }
    try {
      if (this.closed) throw new Error('the engine was closed');
      this.insertRows(rows);
    } catch (error) {
      const failure = new EngineError(
        'ENGINE_UNAVAILABLE',
        `The SQLite store ${this.path} could not store the update: ${message(error)}`,
        { cause: error },
      );
      for (const p of batch) p.reject(failure);
      return;
    }
    if (this.rows === 0) this.firstOffset = this.lastOffset + 1;
    this.lastOffset = offset;
    this.lastTime = time;
    this.rows += rows.length;
    this.rowBytes += bytes;
    if (this.rows >= this.maxCount + this.batch || this.rowBytes > this.maxBytes) {
      try {
        this.trim();
      } catch {
        // Stored and committed already; the next publish or the timer trims.
      }
    }
    for (const [i, u] of stored.entries()) this.recent.append(u.id, u, rows[i]![8] as number);
    // Live delivery right after the commit, in offset order, before anything else runs: no follower can
    // see offset n+1 before n, and every update a caller sees resolved is already in history.
    for (const [i, u] of stored.entries()) {
      for (const follower of this.followers) {
        try {
          follower.update(u);
        } catch (error) {
          // A follower must not throw. The update is stored; the other followers and callers still get it.
          process.emitWarning(`A SqliteEngine follower threw: ${message(error)}`, {
            code: 'CRIER_FOLLOWER_THREW',
          });
        }
      }
      batch[i]!.resolve(u);
    }
  }

  follow(follower: EngineFollower): () => void {
    this.followers = [...this.followers, follower];
    return () => {
      this.followers = this.followers.filter((f) => f !== follower);
    };
  }

  readAfter(lastEventId: string, options?: ReadOptions): Promise<HistoryRead> {
    if (this.closed) return Promise.reject(closedError());
    const limit = checkedLimit(options);
    if (limit instanceof Promise) return limit;
    try {
      return Promise.resolve(this.read(lastEventId, limit));
    } catch (error) {
      return Promise.reject(
        new EngineError(
          'ENGINE_UNAVAILABLE',
          `The SQLite store ${this.path} could not be read: ${message(error)}`,
          {
            cause: error,
          },
        ),
      );
    }
  }

  readAll(options?: ReadOptions): Promise<HistoryRead & { readonly status: 'ok' }> {
    if (this.closed) return Promise.reject(closedError());
    const limit = checkedLimit(options);
    if (limit instanceof Promise) return limit;
    try {
      const position = this.current();
      // The count and age bounds apply exactly, whatever the batched deletion has done so far.
      const floor = Math.max(this.firstOffset, this.lastOffset - this.maxCount + 1);
      const cutoff = this.now() - this.maxAgeMs;
      let from = Math.max(floor - 1, continueAfter(options, this.epoch));
      if (limit === undefined) {
        const rows = (this.after.all(from) as UpdateRow[]).filter((r) => r.time >= cutoff);
        return Promise.resolve({ status: 'ok', updates: rows.map((r) => this.toStored(r)), position });
      }
      // A page: LIMIT on the offset index. Aged updates are a prefix of the log (times never decrease).
      for (;;) {
        const rows = this.afterPage.all(from, limit + 1) as UpdateRow[];
        const kept = rows.filter((r) => r.time >= cutoff);
        if (kept.length > 0 || rows.length <= limit)
          return Promise.resolve(
            pageOf(
              kept.map((r) => this.toStored(r)),
              position,
              limit,
            ),
          );
        from = rows.at(-1)!.offset;
      }
    } catch (error) {
      return Promise.reject(
        new EngineError(
          'ENGINE_UNAVAILABLE',
          `The SQLite store ${this.path} could not be read: ${message(error)}`,
          {
            cause: error,
          },
        ),
      );
    }
  }

  position(): Promise<StreamPosition> {
    return Promise.resolve(this.current());
  }

  health(): Promise<EngineHealth> {
    if (this.closed) return Promise.resolve({ ready: false, detail: 'closed' });
    try {
      this.db.prepare('SELECT 1').get();
      return Promise.resolve({ ready: true, detail: `sqlite ${this.path}` });
    } catch (error) {
      return Promise.resolve({ ready: false, detail: message(error) });
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Publishes already accepted are committed (and resolved) before the file is closed.
    this.flush();
    this.closed = true;
    this.followers = [];
    this.recent.clear();
    clearInterval(this.timer);
    this.db.close();
    return Promise.resolve();
  }

  /** What the file holds now (for metrics and tests): rows may exceed `maxCount` by up to a tenth. */
  stored(): { readonly updates: number; readonly bytes: number; readonly firstOffset: number } {
    return { updates: this.rows, bytes: this.rowBytes, firstOffset: this.firstOffset };
  }

  /**
   * Deletes from the file every row past a bound now: the count bound exactly, the byte bound down to 7/8
   * of it (so the next deletion is a batch away), the age bound. The engine calls it by itself (on
   * publish when a bound is overshot, and on a timer); it is public for tools and tests.
   */
  trim(): void {
    if (this.closed || this.rows === 0) return;
    // The count bound: everything below this offset goes.
    let floor = Math.max(this.firstOffset, this.lastOffset - this.maxCount + 1);
    let remaining = this.rowBytes - (this.rangeStats.get(floor) as { n: number; b: number }).b;
    // The byte bound: when passed, down to 7/8 of it, so the next deletion is a batch of publishes away.
    const bytesTarget =
      remaining > this.maxBytes ? this.maxBytes - this.maxBytes / 8 : Number.POSITIVE_INFINITY;
    const cutoff = this.now() - this.maxAgeMs;
    for (const row of this.oldest.iterate(floor) as IterableIterator<{
      offset: number;
      time: number;
      bytes: number;
    }>) {
      // The newest update is kept whatever its size, as in the memory engine; not past the age bound.
      const tooBig = remaining > bytesTarget && row.offset < this.lastOffset;
      if (!tooBig && row.time >= cutoff) break;
      floor = row.offset + 1;
      remaining -= row.bytes;
    }
    if (floor <= this.firstOffset) return;
    this.db.transaction(() => {
      const removed = this.rangeStats.get(floor) as { n: number; b: number };
      this.tombstone.run(floor, this.epoch);
      this.deleteBefore.run(floor);
      // Trimmed publisher IDs are remembered over the last max(maxCount, 10,000) offsets, to answer expired.
      this.forgetTombstones.run(floor - Math.max(this.maxCount, REMEMBERED_TRIMMED_IDS));
      // Where the log starts now: with every row gone, the next offset is still known after a restart.
      this.setMeta.run('trimmed_before', String(floor));
      this.rows -= removed.n;
      this.rowBytes -= removed.b;
      this.firstOffset = floor;
    })();
  }

  private read(lastEventId: string, limit: number | undefined): HistoryRead {
    const position = this.current();
    // The earliest update with this ID (Mercure §7: a reused ID names the earliest; replay sends all after
    // it, later copies included), by the file's ID index: one lookup per resume.
    const found = this.byId.get(lastEventId) as { offset: number; time: number } | undefined;
    // An update with this ID was trimmed: the subscriber may have meant that one, so even a later copy
    // still held cannot vouch for what followed it.
    if (this.trimmedId.get(lastEventId) !== undefined) return { status: 'expired', position };
    const generated = /^([0-9a-z]{8})\.([0-9a-z]{1,10})-([1-9][0-9]{0,15})$/.exec(lastEventId);
    if (found !== undefined) {
      // Generated IDs are not tombstoned: one naming an offset below the earliest copy was trimmed.
      if (generated !== null && generated[1] === this.epoch && Number(generated[3]) < found.offset)
        return { status: 'expired', position };
      // Still in the file, but maybe past a bound that the batched deletion has not applied yet.
      const evicted =
        found.offset <= this.lastOffset - this.maxCount || found.time < this.now() - this.maxAgeMs;
      if (evicted) return { status: 'expired', position };
      // The in-memory suffix serves the read when it holds every update after the one found.
      const recent = this.recent.after(found.offset);
      if (recent.length === this.lastOffset - found.offset)
        return pageOf(
          recent.map((e) => e.value),
          position,
          limit,
        );
      const rows = (
        limit === undefined ? this.after.all(found.offset) : this.afterPage.all(found.offset, limit + 1)
      ) as UpdateRow[];
      return pageOf(
        rows.map((r) => this.toStored(r)),
        position,
        limit,
      );
    }
    // Not stored now. If it has the shape of a generated ID, it tells whether it was stored once: from
    // another file, trimmed, or from an earlier run (lost in a power loss if its offset is not trimmed).
    if (generated === null) return { status: 'unknown', position };
    const [, epoch, run, offset] = generated;
    const expired =
      epoch !== this.epoch || Number.parseInt(run!, 36) < this.run || Number(offset) <= this.lastOffset;
    return { status: expired ? 'expired' : 'unknown', position };
  }

  /**
   * The in-memory suffix of the log, filled from the file. Its byte bound is 7/8 of `maxBytes` (where
   * trim() cuts the file down to) so it never holds an update the file has dropped.
   */
  private loadRecent(count: number): HistoryRing<StoredUpdate> {
    const recent = new HistoryRing<StoredUpdate>(
      {
        maxCount: Math.min(this.maxCount, count),
        maxBytes: Math.min(this.maxBytes - this.maxBytes / 8, 8 * 1024 * 1024),
        maxAgeMs: this.maxAgeMs,
        now: this.now,
      },
      this.lastOffset - Math.min(this.rows, count) + 1,
    );
    const rows = this.db
      .prepare(
        `SELECT "offset", id, topics, data, event, retry, private, time, bytes FROM updates
         WHERE "offset" > ? ORDER BY "offset"`,
      )
      .all(this.lastOffset - Math.min(this.rows, count)) as (UpdateRow & { bytes: number })[];
    for (const row of rows) recent.append(row.id, this.toStored(row), row.bytes);
    return recent;
  }

  private toStored(row: UpdateRow): StoredUpdate {
    return {
      topics: JSON.parse(row.topics) as string[],
      data: row.data,
      id: row.id,
      event: row.event ?? undefined,
      retry: row.retry ?? undefined,
      private: row.private === null ? undefined : row.private === 1,
      offset: row.offset,
      epoch: this.epoch,
      time: row.time,
    };
  }

  private current(): StreamPosition {
    return { epoch: this.epoch, offset: this.lastOffset };
  }

  /** Reads the epoch, or writes a new one (and the schema version) when the file is new; counts the run. */
  private initMeta(): [epoch: string, run: number] {
    const get = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    const schema = get.get('schema') as string | undefined;
    if (schema !== undefined && schema !== SCHEMA_VERSION) {
      throw new EngineError(
        'ENGINE_UNAVAILABLE',
        `The SQLite store ${this.path} has schema version ${schema}; this Crier reads version ${SCHEMA_VERSION}.`,
      );
    }
    const put = this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    let epoch = get.get('epoch') as string | undefined;
    if (epoch === undefined) {
      epoch = BigInt('0x' + randomBytes(6).toString('hex'))
        .toString(36)
        .padStart(8, '0')
        .slice(-8);
      put.run('schema', SCHEMA_VERSION);
      put.run('epoch', epoch);
      put.run('created', new Date().toISOString());
    }
    const run = Number(get.get('runs') ?? 0) + 1;
    put.run('runs', String(run));
    return [epoch, run];
  }
}

/** Opens the file, turning every way that can fail into an EngineError that names the path and the fix. */
function open(path: string): Database.Database {
  if (path !== ':memory:' && path !== '') {
    const dir = dirname(resolve(path));
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      // handled below
    }
    if (!isDir) {
      throw new EngineError(
        'ENGINE_UNAVAILABLE',
        `Cannot open the SQLite store ${path}: the directory ${dir} does not exist. Create it, or choose another path.`,
      );
    }
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new EngineError(
        'ENGINE_UNAVAILABLE',
        `Cannot open the SQLite store ${path}: the directory ${dir} is not writable (SQLite writes its WAL file beside the database). Fix its permissions, or choose another path.`,
      );
    }
  }
  try {
    // timeout 0: another process holding the lock is an error now, not a hang.
    return new SqliteDatabase(path, { timeout: 0 });
  } catch (error) {
    throw openError(path, error);
  }
}

function openError(path: string, error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  const code = (error as { code?: unknown }).code;
  let why = message(error);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    why = 'another process has it open (one hub per SQLite file; use Redis or NATS to share history)';
  } else if (code === 'SQLITE_NOTADB') {
    why = 'the file is not a SQLite database';
  } else if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN') {
    why = `${why} (check the file's permissions)`;
  }
  return new EngineError('ENGINE_UNAVAILABLE', `Cannot open the SQLite store ${path}: ${why}.`, {
    cause: error,
  });
}

function closedError(): EngineError {
  return new EngineError('ENGINE_CLOSED', 'The SQLite engine is closed.');
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`SqliteEngine ${name} must be a positive number, got ${value}.`);
  return value;
}
