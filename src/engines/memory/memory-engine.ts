/**
 * The in-memory engine: one process, history in a `HistoryRing`. Publishing appends and calls the followers
 * synchronously, so "append to history and publish" is trivially atomic and ordered. A new epoch is drawn
 * at every construction: IDs handed out by a previous process are reported `expired`, never replayed wrong.
 */
import { randomBytes } from 'node:crypto';
import { HistoryRing, type HistoryRingOptions } from '../../history/ring.js';
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

export interface MemoryEngineOptions {
  /** History bounds; each has a finite default (10,000 updates, 64 MiB, 1 hour). */
  history?: HistoryRingOptions;
}

export class MemoryEngine implements Engine {
  readonly name = 'memory';
  /** Eight base-36 characters, new at every construction. Generated IDs are `<epoch>-<offset>`. */
  readonly epoch: string;
  private readonly ring: HistoryRing<StoredUpdate>;
  private followers: EngineFollower[] = [];
  private closed = false;

  constructor(options: MemoryEngineOptions = {}) {
    this.ring = new HistoryRing<StoredUpdate>(options.history);
    this.epoch = BigInt('0x' + randomBytes(6).toString('hex'))
      .toString(36)
      .padStart(8, '0')
      .slice(-8);
  }

  publish(update: Update): Promise<StoredUpdate> {
    if (this.closed) return Promise.reject(new EngineError('ENGINE_CLOSED', 'The memory engine is closed.'));
    if (update.topics.length === 0) {
      return Promise.reject(new EngineError('INVALID_UPDATE', 'An update needs at least one topic.'));
    }
    const offset = this.ring.lastOffset + 1;
    const stored: StoredUpdate = {
      topics: update.topics,
      data: update.data,
      id: update.id ?? `${this.epoch}-${offset}`,
      event: update.event,
      retry: update.retry,
      private: update.private,
      offset,
      epoch: this.epoch,
      time: Date.now(),
    };
    this.ring.append(stored.id, stored, estimateBytes(stored));
    // Live delivery right after the append, synchronously: no follower can see offset n+1 before n.
    // A follower must not throw; if one does, the update is stored all the same and the others still get it.
    for (const follower of this.followers) {
      try {
        follower.update(stored);
      } catch (error) {
        process.emitWarning(`A memory engine follower threw: ${(error as Error)?.message ?? error}`);
      }
    }
    return Promise.resolve(stored);
  }

  follow(follower: EngineFollower): () => void {
    this.followers = [...this.followers, follower];
    return () => {
      this.followers = this.followers.filter((f) => f !== follower);
    };
  }

  readAfter(lastEventId: string, options?: ReadOptions): Promise<HistoryRead> {
    if (this.closed) return Promise.reject(new EngineError('ENGINE_CLOSED', 'The memory engine is closed.'));
    const position = this.current();
    const found = this.ring.lookup(lastEventId);
    if (found.found) {
      const limit = checkedLimit(options);
      if (limit instanceof Promise) return limit;
      return Promise.resolve(this.page(found.offset, position, limit));
    }
    if (found.evicted) return Promise.resolve({ status: 'expired', position });
    // Not in the ring. If it has the shape of an ID we generated, we can tell it was stored once.
    const dash = lastEventId.lastIndexOf('-');
    const epoch = lastEventId.slice(0, dash);
    const offset = Number(lastEventId.slice(dash + 1));
    const ours = dash > 0 && Number.isSafeInteger(offset) && offset > 0 && /^[0-9a-z]{8}$/.test(epoch);
    const expired = ours && (epoch !== this.epoch || offset < this.ring.firstOffset);
    return Promise.resolve({ status: expired ? 'expired' : 'unknown', position });
  }

  readAll(options?: ReadOptions): Promise<HistoryRead & { readonly status: 'ok' }> {
    if (this.closed) return Promise.reject(new EngineError('ENGINE_CLOSED', 'The memory engine is closed.'));
    const position = this.current();
    const limit = checkedLimit(options);
    if (limit instanceof Promise) return limit;
    return Promise.resolve(this.page(continueAfter(options, this.epoch), position, limit));
  }

  /** The updates after `offset`, at most `limit` of them (the ring's objects, shared: nothing is copied). */
  private page(offset: number, position: StreamPosition, limit: number | undefined) {
    const entries = this.ring.after(offset, limit === undefined ? undefined : limit + 1);
    return pageOf(
      entries.map((e) => e.value),
      position,
      limit,
    );
  }

  position(): Promise<StreamPosition> {
    return Promise.resolve(this.current());
  }

  health(): Promise<EngineHealth> {
    return Promise.resolve(this.closed ? { ready: false, detail: 'closed' } : { ready: true });
  }

  close(): Promise<void> {
    this.closed = true;
    this.followers = [];
    this.ring.clear();
    return Promise.resolve();
  }

  private current(): StreamPosition {
    return { epoch: this.epoch, offset: this.ring.lastOffset };
  }
}

// What an update costs against the byte bound: its strings (UTF-16 length, about bytes for ASCII) plus a
// fixed overhead for the object.
function estimateBytes(u: StoredUpdate): number {
  let n = 64 + u.data.length + u.id.length + (u.event?.length ?? 0);
  for (const t of u.topics) n += t.length;
  return n;
}
