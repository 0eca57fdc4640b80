/**
 * The hub's view of its engine: the same engine, plus what Mercure needs that the server library does not
 * know about — the ID of the newest update (the subscriptions API's `last_event_id` and `ETag`) and of the
 * newest public one (the `Last-Event-ID` / `Mercure-Last-Event-ID` response headers of a subscriber that
 * does not resume: an ID any subscriber may read, so no private update's existence or time is volunteered).
 */
import type {
  Engine,
  EngineFollower,
  EngineHealth,
  HistoryRead,
  ReadOptions,
  StoredUpdate,
  StreamPosition,
  Update,
} from '../engines/engine.js';

export class TrackedEngine implements Engine {
  readonly name: string;
  /** The ID of the newest update stored (seen live, or found at start); `undefined` when none. */
  lastEventId: string | undefined;
  /** The ID of the newest update not marked private (seen live, or found at start); `undefined` when none. */
  lastPublicEventId: string | undefined;
  private readonly unfollow: () => void;

  constructor(private readonly inner: Engine) {
    this.name = inner.name;
    this.unfollow = inner.follow({
      update: (update) => {
        this.lastEventId = update.id;
        if (update.private !== true) this.lastPublicEventId = update.id;
      },
      reset: () => {},
    });
  }

  /** Finds the newest IDs already in history (a durable store after a restart), a page at a time. */
  async init(): Promise<void> {
    let newest: StoredUpdate | undefined;
    let newestPublic: StoredUpdate | undefined;
    let read = await this.inner.readAll({ limit: 1000 });
    for (;;) {
      newest = read.updates.at(-1) ?? newest;
      newestPublic = read.updates.findLast((u) => u.private !== true) ?? newestPublic;
      if (read.more !== true) break;
      read = await this.inner.readAll({ after: read.position, limit: 1000 });
    }
    if (newest !== undefined && this.lastEventId === undefined) this.lastEventId = newest.id;
    if (newestPublic !== undefined && this.lastPublicEventId === undefined)
      this.lastPublicEventId = newestPublic.id;
  }

  publish(update: Update): Promise<StoredUpdate> {
    return this.inner.publish(update);
  }
  follow(follower: EngineFollower): () => void {
    return this.inner.follow(follower);
  }
  readAfter(lastEventId: string, options?: ReadOptions): Promise<HistoryRead> {
    return this.inner.readAfter(lastEventId, options);
  }
  readAll(options?: ReadOptions): Promise<HistoryRead & { readonly status: 'ok' }> {
    return this.inner.readAll(options);
  }
  position(): Promise<StreamPosition> {
    return this.inner.position();
  }
  health(): Promise<EngineHealth> {
    return this.inner.health();
  }
  async close(): Promise<void> {
    this.unfollow();
    await this.inner.close();
  }
}
