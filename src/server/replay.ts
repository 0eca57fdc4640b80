/**
 * `Replay`: the history a resuming connection still has to be sent, handed out in slices. The hub writes
 * one slice, and asks for the next only once the transport has taken the previous one (the socket
 * drained), so a connection holds at most one slice of replay in memory, however long the history is; a
 * client that does not read stops the replay where it is, and its backlog of live events makes it a
 * slow subscriber like any other.
 */
import type { StoredUpdate, StreamPosition } from '../engines/engine.js';
import type { PreparedEvent } from './prepared.js';

export class Replay {
  /** Where the history read was complete up to: live updates at or below it come from the replay. */
  readonly covered: StreamPosition;
  private readonly updates: readonly StoredUpdate[];
  private at = 0;

  constructor(
    updates: readonly StoredUpdate[],
    covered: StreamPosition,
    private readonly wants: (update: StoredUpdate) => boolean,
    private readonly prepare: (update: StoredUpdate) => PreparedEvent,
  ) {
    this.updates = updates;
    this.covered = covered;
  }

  /** Whether every update has been handed out. */
  get done(): boolean {
    return this.at >= this.updates.length;
  }

  /**
   * The next updates this connection wants, encoded (shared with other connections), up to `maxBytes`
   * (at least one event, however large). Empty when the replay is over.
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
    return into;
  }
}
