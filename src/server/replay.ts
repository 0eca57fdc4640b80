/**
 * `Replay`: the history a resuming connection still has to be sent, read from the engine in pages and
 * handed out in slices. Its outbox writes one slice, and asks for the next only once the transport has taken
 * the previous one (the socket drained); the next page is read only once the previous one is all written.
 * So a connection holds at most one page of history in memory, however long the history is; a client that
 * does not read stops the replay where it is, and its backlog of live events makes it a slow subscriber
 * like any other.
 */
import type { HistoryRead, ReadOptions, StoredUpdate, StreamPosition } from '../engines/engine.js';
import type { PreparedEvent } from './prepared.js';

/** The most updates one page of history holds; fewer when updates are large (see `Replay.nextLimit`). */
export const REPLAY_PAGE_MAX = 256;
/** The first page, before the size of updates is known. */
export const REPLAY_FIRST_PAGE = 4;

type OkRead = HistoryRead & { readonly status: 'ok' };

export class Replay {
  /**
   * Where the history read so far is complete up to. Once the last page is read, live updates at or below
   * it come from the replay.
   */
  covered: StreamPosition;
  private updates: readonly StoredUpdate[];
  private at = 0;
  private more: boolean;
  /** The page size for the next read: about `pageBytes` worth of updates of the size seen so far. */
  private limit = REPLAY_PAGE_MAX;

  /**
   * @param read The first page.
   * @param wants Whether the connection gets an update (its selectors and private rights).
   * @param prepare The encoded bytes of an update (shared with other connections while the engine keeps it).
   * @param readAll Reads the next page of history (the engine's `readAll`).
   * @param pageBytes About how many bytes of updates one page should hold.
   * @param sliceBytes The most bytes of one slice (`next`); at least one event, however large.
   */
  constructor(
    read: OkRead,
    private readonly wants: (update: StoredUpdate) => boolean,
    private readonly prepare: (update: StoredUpdate) => PreparedEvent,
    private readonly readAll: (options: ReadOptions) => Promise<OkRead>,
    private readonly pageBytes: number,
    readonly sliceBytes: number,
  ) {
    this.updates = read.updates;
    this.covered = read.position;
    this.more = read.more === true;
    this.sized(read.updates);
  }

  /** Every update has been handed out (the last page read and written out). */
  get done(): boolean {
    return !this.more && this.at >= this.updates.length;
  }

  /** The current page is handed out and another is to be read (`load`). */
  get needsPage(): boolean {
    return this.more && this.at >= this.updates.length;
  }

  /**
   * Reads the next page. Resolves false when the history has a gap from where the previous page stopped
   * (updates trimmed meanwhile, or the log recreated): the caller must close the connection so the client
   * resumes from its last ID and is told.
   */
  async load(): Promise<boolean> {
    const after = this.covered;
    const read = await this.readAll({ after, limit: this.limit });
    const first = read.updates[0];
    const continuous =
      first === undefined
        ? read.position.epoch === after.epoch && read.position.offset >= after.offset
        : first.epoch === after.epoch && first.offset === after.offset + 1;
    if (!continuous) return false;
    this.updates = read.updates;
    this.at = 0;
    this.covered = read.position;
    this.more = read.more === true && read.updates.length > 0;
    this.sized(read.updates);
    return true;
  }

  /**
   * The next updates of the current page this connection wants, encoded (shared with other connections),
   * up to `maxBytes` (at least one event, however large). Empty when the page is over.
   */
  next(maxBytes: number, into: PreparedEvent[] = []): PreparedEvent[] {
    let bytes = 0;
    const updates = this.updates;
    while (this.at < updates.length) {
      const update = updates[this.at]!;
      if (!this.wants(update)) {
        this.at++;
        continue;
      }
      const event = this.prepare(update);
      if (bytes > 0 && bytes + event.payload.length > maxBytes) break;
      into.push(event);
      bytes += event.payload.length;
      this.at++;
    }
    if (this.at >= updates.length) this.updates = []; // let the page go as soon as it is written
    return into;
  }

  /** The options of a connection's first read. */
  static firstRead(): ReadOptions {
    return { limit: REPLAY_FIRST_PAGE };
  }

  private sized(updates: readonly StoredUpdate[]): void {
    if (updates.length === 0) return;
    let bytes = 0;
    for (const u of updates) bytes += u.data.length + 64;
    const average = bytes / updates.length;
    this.limit = Math.max(1, Math.min(REPLAY_PAGE_MAX, Math.floor(this.pageBytes / average)));
  }
}
