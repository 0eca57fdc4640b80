/**
 * The Redis Streams engine: many hub nodes share one log in Redis (7 or later, or Valkey), so a publish
 * on any node reaches subscribers on every node and any node replays any client's history.
 *
 * - Append: one Lua script (EVALSHA, EVAL when Redis lost the script) increments the log's offset, XADDs
 *   the update with the stream ID `<offset>-0`, indexes a publisher-given ID, and trims history by count,
 *   bytes and age — atomically. Offsets are consecutive and shared by every node, and the stream ID is the
 *   offset, so no offset→ID index is needed for generated IDs (`<epoch>-<offset>`).
 * - Follow: a dedicated connection runs `XREAD BLOCK` from the last delivered offset and hands entries to
 *   the followers in order. After a disconnect or a Redis restart it resumes from that offset: no gap, no
 *   duplicate. It calls `reset` only when it cannot: the offsets it gets skip some (history it needed was
 *   trimmed), or the epoch changed (the log was lost and recreated).
 * - Read: one Lua script finds the ID (the ID index, or the offset inside a generated ID) and returns
 *   everything after it with `XRANGE (`, plus the newest offset, at one instant.
 * - Faults: publishing while Redis is unreachable rejects at once with `ENGINE_UNAVAILABLE`; a Redis that
 *   does not answer (paused, overloaded) makes publishes reject after `commandTimeoutMs`, and a publish
 *   that reaches Redis after its deadline is refused there, so it is not stored behind the publisher's
 *   back. A timeout is still ambiguous (Redis may have run it in time, and the node read the answer late):
 *   such a rejection has `mayBeStored` set and says so.
 *
 * See docs/redis.md for the key layout, the guarantees and measured costs.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import {
  DEFAULT_HISTORY_MAX_AGE_MS,
  DEFAULT_HISTORY_MAX_BYTES,
  DEFAULT_HISTORY_MAX_COUNT,
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
import { limitOf } from '../paging.js';
import { POSITION, PUBLISH, READ } from './scripts.js';

// ioredis is an optional peer dependency, loaded with this module (src/engines/driver.ts).
const { Redis } = await importDriver<typeof import('ioredis')>('ioredis', 'The Redis engine');

export interface RedisStreamsEngineOptions {
  /** Where Redis is: `redis://[user:password@]host:port[/db]` (or `rediss://`). Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Further ioredis options (TLS, Sentinel, username...). The engine sets its own timeouts and retries. */
  redis?: RedisOptions;
  /**
   * Prefix of every key the engine uses (`<prefix>log`, `<prefix>stream`, `<prefix>ids`). Engines with the
   * same prefix on the same Redis share one log. Default `{crier}:` — the braces are a hash tag, so the
   * keys share a slot and the scripts also work on Redis Cluster.
   */
  keyPrefix?: string;
  /** History bounds; each has a finite default (10,000 updates, 64 MiB, 1 hour), as in the memory engine. */
  history?: {
    /** Most updates kept. Default 10,000. */
    maxCount?: number;
    /** Most bytes kept (UTF-8 size of data, ID, event and topics, plus 32 per update). Default 64 MiB. */
    maxBytes?: number;
    /** Updates older than this are dropped, in milliseconds. Default 1 hour. */
    maxAgeMs?: number;
    /** The clock, for tests. Default `Date.now`. Updates are timed by the publishing node's clock. */
    now?: () => number;
  };
  /**
   * How long a command may wait for Redis before it is rejected with `ENGINE_UNAVAILABLE`, in
   * milliseconds. A publish also carries a deadline, three quarters of this after it was sent, checked
   * by Redis' clock: one that reaches Redis later is refused there instead of stored behind the back of
   * a publisher that was already told it failed. (The quarter left is the margin for clock skew between
   * the node and Redis and for the reply's way back.) Default 5,000.
   */
  commandTimeoutMs?: number;
  /**
   * How long one `XREAD` blocks, in milliseconds. An idle follower checks the log's epoch this often, so
   * a log deleted under it (FLUSHALL) is noticed within this time. Default 1,000.
   */
  blockMs?: number;
  /** Most entries one `XREAD` returns. Default 1,000. */
  readBatch?: number;
}

/** The epoch and offset of the newest update this engine has seen (published, read or followed). */
interface Known {
  epoch: string;
  offset: number;
}

type Entry = [id: string, fields: string[]];

const DEFAULT_URL = 'redis://127.0.0.1:6379';

export class RedisStreamsEngine implements Engine {
  readonly name = 'redis';
  readonly keyPrefix: string;
  readonly maxCount: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  /**
   * Resolves once the live stream has its starting position (the newest offset when the engine first
   * reached Redis): `follow` delivers every update after it. Rejects only if the engine is closed first.
   */
  readonly ready: Promise<void>;

  private readonly keys: [string, string, string];
  private readonly commands: RedisClient;
  private readonly reader: RedisClient;
  private readonly now: () => number;
  private readonly commandTimeoutMs: number;
  private readonly blockMs: number;
  private readonly readBatch: number;
  private readonly where: string;
  private readonly shas = new Map<string, string>();
  private followers: EngineFollower[] = [];
  private closed = false;
  private known: Known = { epoch: '', offset: 0 };
  /** Set when a command timed out; cleared by the next answer. Publishes reject at once meanwhile. */
  private unresponsive = false;

  // The live stream: the epoch and the offset of the last update handed to followers (-1: none yet in
  // this epoch, accept whatever comes first).
  private liveEpoch: string | undefined;
  private liveOffset = 0;
  private liveOk = false;
  private liveProblem = 'connecting';
  private resolveReady!: () => void;
  private rejectReady!: (e: unknown) => void;
  private readonly readerDone: Promise<void>;
  /** Aborted by close(), to cut the reader's back-off short. */
  private readonly closing = new AbortController();

  constructor(options: RedisStreamsEngineOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? '{crier}:';
    this.keys = [`${this.keyPrefix}log`, `${this.keyPrefix}stream`, `${this.keyPrefix}ids`];
    this.maxCount = positive('maxCount', options.history?.maxCount ?? DEFAULT_HISTORY_MAX_COUNT);
    this.maxBytes = positive('maxBytes', options.history?.maxBytes ?? DEFAULT_HISTORY_MAX_BYTES);
    this.maxAgeMs = positive('maxAgeMs', options.history?.maxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS);
    this.now = options.history?.now ?? Date.now;
    this.commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs ?? 5000);
    this.blockMs = positive('blockMs', options.blockMs ?? 1000);
    this.readBatch = positive('readBatch', options.readBatch ?? 1000);
    const url = options.url ?? DEFAULT_URL;
    this.where = redactUrl(url);

    const base: RedisOptions = {
      lazyConnect: false,
      // Reconnect forever, backing off to 1 s: Redis coming back is the normal end of an outage.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
      // A command in flight when the connection drops is failed (with maxRetriesPerRequest 0: ioredis
      // would otherwise leave it pending forever), never silently sent twice.
      autoResendUnfulfilledCommands: false,
      ...options.redis,
    };
    this.commands = new Redis(url, {
      ...base,
      commandTimeout: this.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      connectionName: 'crier-engine',
    });
    this.reader = new Redis(url, {
      ...base,
      // A dropped connection fails the XREAD in flight; the loop resynchronises and reads again.
      maxRetriesPerRequest: 0,
      connectionName: 'crier-engine-follow',
    });
    // Errors surface through commands and health(); without listeners ioredis would print each one.
    this.commands.on('error', () => {});
    this.reader.on('error', () => {});

    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.readerDone = this.runReader();
  }

  async publish(update: Update): Promise<StoredUpdate> {
    if (update.topics.length === 0)
      throw new EngineError('INVALID_UPDATE', 'An update needs at least one topic.');
    if (update.id !== undefined && (update.id === '' || /[\r\n\0]/.test(update.id))) {
      throw new EngineError(
        'INVALID_UPDATE',
        'An update ID must be non-empty without CR, LF or NUL; leave it out to have one generated.',
      );
    }
    await this.usable();
    const meta = metaOf(update);
    const topics = JSON.stringify(update.topics);
    const id = update.id ?? '';
    const size =
      32 +
      Buffer.byteLength(update.data) +
      Buffer.byteLength(id) +
      Buffer.byteLength(update.event ?? '') +
      Buffer.byteLength(topics);
    const sent = Date.now();
    const reply = (await this.run(PUBLISH, [
      ...this.openArgs(),
      String(this.now()),
      String(sent + this.commandTimeoutMs - Math.ceil(this.commandTimeoutMs / 4)),
      String(this.maxCount),
      String(this.maxBytes),
      String(this.maxAgeMs),
      String(size),
      id,
      topics,
      update.data,
      meta,
    ])) as [string, number, string];
    const [epoch, offset, time] = reply;
    this.saw(epoch, offset);
    return decode(`${offset}-0`, [
      'e',
      epoch,
      't',
      time,
      'b',
      '',
      'i',
      id,
      'p',
      topics,
      'd',
      update.data,
      'm',
      meta,
    ]);
  }

  follow(follower: EngineFollower): () => void {
    this.followers = [...this.followers, follower];
    return () => {
      this.followers = this.followers.filter((f) => f !== follower);
    };
  }

  async readAfter(lastEventId: string, options?: ReadOptions): Promise<HistoryRead> {
    const limit = limitOf(options);
    await this.usable();
    const generated = /^([0-9a-z]{8})-([1-9][0-9]{0,15})$/.exec(lastEventId);
    const reply = (await this.run(READ, [
      ...this.openArgs(),
      String(this.now()),
      String(this.maxAgeMs),
      String(this.maxCount),
      'after',
      limit === undefined ? '' : String(limit),
      lastEventId,
      generated?.[1] ?? '',
      generated?.[2] ?? '',
    ])) as [HistoryRead['status'], string, number, Entry[]?, number?];
    return this.historyRead(reply);
  }

  async readAll(options?: ReadOptions): Promise<HistoryRead & { readonly status: 'ok' }> {
    const limit = limitOf(options);
    await this.usable();
    const reply = (await this.run(READ, [
      ...this.openArgs(),
      String(this.now()),
      String(this.maxAgeMs),
      String(this.maxCount),
      'all',
      limit === undefined ? '' : String(limit),
      options?.after?.epoch ?? '',
      String(options?.after?.offset ?? 0),
    ])) as ['ok', string, number, Entry[], number];
    return this.historyRead(reply) as HistoryRead & { readonly status: 'ok' };
  }

  async position(): Promise<StreamPosition> {
    await this.usable();
    const [epoch, offset] = (await this.run(POSITION, this.openArgs())) as [string, number];
    this.saw(epoch, offset);
    return { epoch, offset };
  }

  async health(): Promise<EngineHealth> {
    if (this.closed) return { ready: false, detail: 'closed' };
    if (this.commands.status !== 'ready') {
      return { ready: false, detail: `Redis at ${this.where} is not connected (${this.commands.status})` };
    }
    if (this.unresponsive) return { ready: false, detail: `Redis at ${this.where} does not answer` };
    if (!this.liveOk) return { ready: false, detail: `live stream: ${this.liveProblem}` };
    try {
      await this.commands.ping();
      return { ready: true, detail: `redis ${this.where} ${this.keyPrefix}` };
    } catch (error) {
      return { ready: false, detail: `Redis at ${this.where}: ${messageOf(error)}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.followers = [];
    this.rejectReady(new EngineError('ENGINE_CLOSED', 'The Redis engine was closed before it was ready.'));
    this.reader.disconnect();
    this.commands.disconnect();
    await this.readerDone;
  }

  // --- Commands -----------------------------------------------------------------------------------

  /** Rejects unless commands can be sent now: open, connected, answering. */
  private async usable(): Promise<void> {
    if (this.closed) throw new EngineError('ENGINE_CLOSED', 'The Redis engine is closed.');
    if (this.commands.status !== 'ready' && this.liveEpoch === undefined) {
      // Still starting: wait for the first connection, as long as a command may wait.
      await Promise.race([
        this.ready.catch(() => {}),
        sleep(this.commandTimeoutMs, undefined, { ref: false }),
      ]);
      if (this.closed) throw new EngineError('ENGINE_CLOSED', 'The Redis engine is closed.');
    }
    if (this.commands.status !== 'ready') {
      throw new EngineError(
        'ENGINE_UNAVAILABLE',
        `Redis at ${this.where} is not reachable (connection ${this.commands.status}); nothing was stored. Retry when it is back.`,
      );
    }
    if (this.unresponsive) {
      throw new EngineError(
        'ENGINE_UNAVAILABLE',
        `Redis at ${this.where} does not answer (paused or overloaded); nothing was stored. Retry when it is back.`,
      );
    }
  }

  /** Arguments every script starts with: a candidate epoch, and the newest position this engine knows. */
  private openArgs(): string[] {
    return [newEpoch(), this.known.epoch, String(this.known.offset)];
  }

  /** Runs a script by EVALSHA (EVAL when Redis does not have it), mapping failures to EngineErrors. */
  private async run(script: string, args: string[], on: RedisClient = this.commands): Promise<unknown> {
    try {
      let sha = this.shas.get(script);
      if (sha !== undefined) {
        try {
          return await on.evalsha(sha, 3, ...this.keys, ...args);
        } catch (error) {
          if (!messageOf(error).startsWith('NOSCRIPT')) throw error;
        }
      }
      sha = (await on.script('LOAD', script)) as string;
      this.shas.set(script, sha);
      return await on.evalsha(sha, 3, ...this.keys, ...args);
    } catch (error) {
      throw this.failure(error, on);
    }
  }

  private failure(error: unknown, on: RedisClient): EngineError {
    if (error instanceof EngineError) return error;
    const message = messageOf(error);
    if (this.closed) return new EngineError('ENGINE_CLOSED', 'The Redis engine is closed.', { cause: error });
    if (message.includes('CRIER_DEADLINE')) {
      return new EngineError(
        'ENGINE_UNAVAILABLE',
        `Redis at ${this.where} answered too late: the publish was refused and not stored. Retry.`,
        { cause: error },
      );
    }
    if (/timed out/i.test(message)) {
      if (on === this.commands) this.markUnresponsive();
      return new EngineError(
        'ENGINE_UNAVAILABLE',
        `Redis at ${this.where} did not answer within ${this.commandTimeoutMs} ms (paused or overloaded). A publish may have been stored: Redis refuses one that reaches it after its deadline, but one it ran in time may have been answered too late to be read. Retry with the update's own id.`,
        { cause: error, mayBeStored: true },
      );
    }
    if (/connection|closed|ECONN|EPIPE|reached the max retries/i.test(message)) {
      return new EngineError(
        'ENGINE_UNAVAILABLE',
        `The connection to Redis at ${this.where} was lost before it answered (${message}). Retry; a publish may have been stored if Redis had received it.`,
        { cause: error, mayBeStored: true },
      );
    }
    return new EngineError('ENGINE_UNAVAILABLE', `Redis at ${this.where} failed: ${message}`, {
      cause: error,
    });
  }

  /** Redis did not answer in time: refuse publishes until a PING comes back. */
  private markUnresponsive(): void {
    if (this.unresponsive) return;
    this.unresponsive = true;
    void (async () => {
      while (this.unresponsive && !this.closed) {
        try {
          await this.commands.ping();
          this.unresponsive = false;
        } catch {
          await sleep(100);
        }
      }
    })();
  }

  private historyRead([status, epoch, last, entries, more]: [
    HistoryRead['status'],
    string,
    number,
    Entry[]?,
    number?,
  ]): HistoryRead {
    this.saw(epoch, last);
    const position = { epoch, offset: last };
    if (status !== 'ok') return { status, position };
    const updates = (entries ?? []).map(([id, fields]) => decode(id, fields));
    const end = updates.at(-1);
    // A partial page is complete up to its last update only.
    if (more === 1 && end !== undefined)
      return { status, updates, position: { epoch: end.epoch, offset: end.offset }, more: true };
    return { status, updates, position };
  }

  private saw(epoch: string, offset: number): void {
    if (epoch !== this.known.epoch) this.known = { epoch, offset };
    else if (offset > this.known.offset) this.known.offset = offset;
  }

  // --- The live stream ----------------------------------------------------------------------------

  /**
   * The follower loop, on its own connection. `sync` (at start, after an error, after an idle XREAD)
   * checks the log's epoch with the POSITION script — which also starts a new epoch if the log was lost —
   * then XREAD continues from the last delivered offset.
   */
  private async runReader(): Promise<void> {
    let sync = true;
    let failures = 0;
    while (!this.closed) {
      try {
        if (sync) {
          const [epoch, last] = (await this.watch(this.run(POSITION, this.openArgs(), this.reader))) as [
            string,
            number,
          ];
          this.saw(epoch, last);
          if (this.liveEpoch === undefined) {
            this.liveEpoch = epoch;
            this.liveOffset = last;
            this.resolveReady();
          } else if (epoch !== this.liveEpoch) {
            this.newEpoch(epoch, `the Redis log was lost and restarted as epoch ${epoch}`);
          }
          sync = false;
        }
        this.liveOk = true;
        failures = 0;
        const from = this.liveOffset <= 0 ? '0-0' : `${this.liveOffset}-0`;
        const reply = (await this.watch(
          this.reader.xread('COUNT', this.readBatch, 'BLOCK', this.blockMs, 'STREAMS', this.keys[1], from),
        )) as [string, Entry[]][] | null;
        if (reply === null) {
          sync = true; // idle: make sure the log is still the one we follow
          continue;
        }
        this.deliver(reply[0]?.[1] ?? []);
      } catch (error) {
        if (this.closed) break;
        this.liveOk = false;
        this.liveProblem = `reconnecting to Redis at ${this.where} (${messageOf(error)})`;
        sync = true;
        failures++;
        await sleep(Math.min(25 * 2 ** Math.min(failures, 6), 1000), undefined, {
          signal: this.closing.signal,
        }).catch(() => {});
      }
    }
  }

  /** Hands entries to the followers, checking that offsets are consecutive and the epoch unchanged. */
  private deliver(entries: Entry[]): void {
    for (const [id, fields] of entries) {
      const update = decode(id, fields);
      if (update.epoch !== this.liveEpoch) {
        this.newEpoch(update.epoch, `the Redis log changed epoch to ${update.epoch}`);
        return; // re-read the new epoch from its start
      }
      if (this.liveOffset >= 0 && update.offset !== this.liveOffset + 1) {
        this.resetFollowers(
          `the live stream skipped offsets ${this.liveOffset + 1} to ${update.offset - 1} (trimmed before this node read them)`,
        );
      }
      this.liveOffset = update.offset;
      this.saw(update.epoch, update.offset);
      for (const follower of this.followers) {
        try {
          follower.update(update);
        } catch (error) {
          // A follower must not throw; if one does, the others still get the update and the stream goes on.
          process.emitWarning(`A Redis engine follower threw: ${messageOf(error)}`);
        }
      }
    }
  }

  private newEpoch(epoch: string, reason: string): void {
    this.liveEpoch = epoch;
    this.liveOffset = -1;
    this.resetFollowers(reason);
  }

  private resetFollowers(reason: string): void {
    for (const follower of this.followers) {
      try {
        follower.reset(reason);
      } catch (error) {
        process.emitWarning(`A Redis engine follower threw on reset: ${messageOf(error)}`);
      }
    }
  }

  /**
   * Waits for a reader command, but not forever: when Redis stops answering on a live connection (paused,
   * or a network path that died without a reset), the connection is dropped and made again.
   */
  private async watch<T>(command: Promise<T>): Promise<T> {
    const limit = this.blockMs + this.commandTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let onClose = () => {};
    const arm = () => {
      timer = setTimeout(() => {
        if (this.reader.status === 'ready') this.reader.disconnect(true);
        else arm(); // not sent yet (reconnecting): keep waiting
      }, limit);
    };
    arm();
    // close() ends the wait even when ioredis keeps the command queued.
    const closed = new Promise<never>((_, reject) => {
      onClose = () => reject(new EngineError('ENGINE_CLOSED', 'The Redis engine is closed.'));
      this.closing.signal.addEventListener('abort', onClose, { once: true });
    });
    command.catch(() => {});
    try {
      return await Promise.race([command, closed]);
    } finally {
      clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
    }
  }
}

/** Builds a stored update from a stream entry (`<offset>-0` and its fields, in the order PUBLISH writes). */
function decode(id: string, f: string[] | (string | number)[]): StoredUpdate {
  const offset = Number.parseInt(id, 10);
  const epoch = String(f[1]);
  const given = String(f[7]);
  const meta = String(f[13]);
  const m = meta === '' ? {} : (JSON.parse(meta) as { v?: string; r?: number; x?: boolean });
  return {
    topics: JSON.parse(String(f[9])) as string[],
    data: String(f[11]),
    id: given === '' ? `${epoch}-${offset}` : given,
    event: m.v,
    retry: m.r,
    private: m.x,
    offset,
    epoch,
    time: Number(f[3]),
  };
}

/** The optional fields as compact JSON, or '' when there are none (the common case costs nothing). */
function metaOf(update: Update): string {
  if (update.event === undefined && update.retry === undefined && update.private === undefined) return '';
  return JSON.stringify({ v: update.event, r: update.retry, x: update.private });
}

/** Eight base-36 characters. */
function newEpoch(): string {
  return BigInt(`0x${randomBytes(6).toString('hex')}`)
    .toString(36)
    .padStart(8, '0')
    .slice(-8);
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'the configured address';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`RedisStreamsEngine ${name} must be a positive number, got ${value}.`);
  }
  return value;
}
