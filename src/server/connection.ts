/**
 * `SseConnection`: one subscriber — who it is (ID, selectors, group) and how it ends. What it is sent and
 * when is its `Outbox`'s business; how bytes reach the peer is its transport's (`adapters/`). The hub
 * creates connections (`Hub.attach`) and hears of their end through `ConnectionOwner`.
 */
import type { StoredUpdate } from '../engines/engine.js';
import type { Transport } from './adapters/transport.js';
import type { StreamCoder } from './compression.js';
import type { SubscriberGroup } from './group.js';
import { Outbox, type OutboxOwner } from './outbox.js';
import type { PreparedEvent } from './prepared.js';
import type { Subscription } from './request.js';
import type { Scheduler } from './scheduler.js';
import { matchesAny, type TopicSelector } from './selectors.js';

export type CloseReason =
  | 'client' // the client went away
  | 'slow' // its buffer passed maxBufferedBytes
  | 'stalled' // half-open: its buffer did not drain for stallTimeoutMs
  | 'lifetime' // maxLifetimeMs reached
  | 'shutdown' // hub.close()
  | 'engine-reset' // the engine lost continuity
  | 'server'; // closed by the application (connection.close())

/** What a connection tells the hub that holds it. */
export interface ConnectionOwner {
  /** Once per connection when it ends, whatever the reason; `held` while its transport is still closing. */
  detach(connection: SseConnection, reason: CloseReason, held: boolean): void;
  /** The transport of a connection the server closed has finished closing. */
  released(connection: SseConnection): void;
  /** Its replay could not go on (a failed read, or a gap in history): close it so the client resumes. */
  replayBroken(connection: SseConnection, error: unknown): void;
}

let nextConnectionId = 1;

export class SseConnection implements OutboxOwner {
  readonly id = nextConnectionId++;
  readonly selectors: readonly TopicSelector[];
  /** The connections with the same subscription shape; its members are their outboxes. */
  readonly group: SubscriberGroup;
  readonly outbox: Outbox;
  // Liveness state: written by the liveness ticker only (liveness.ts).
  /** When the connection reaches its lifetime (ms since the epoch); 0: never. */
  deadline = 0;
  idleTicks = 0;
  stallTicks = 0;
  lastBuffered = 0;
  /** Gives the subscription's selectors back to the hub's pool; called (and cleared) by the hub when it ends. */
  release: (() => void) | null = null;
  private readonly privateSelectors: readonly TopicSelector[] | null;
  private readonly owner: ConnectionOwner;

  constructor(
    owner: ConnectionOwner,
    transport: Transport,
    subscription: Subscription,
    group: SubscriberGroup,
    scheduler: Scheduler,
    coder: StreamCoder | null = null,
  ) {
    this.owner = owner;
    this.selectors = subscription.selectors;
    this.privateSelectors = subscription.privateSelectors;
    this.group = group;
    this.outbox = new Outbox(transport, scheduler, this, subscription.maxRate, coder);
    transport.onEnd(() => this.ended());
  }

  /** True once `close` or the transport ended it. */
  get closed(): boolean {
    return this.outbox.closed;
  }

  /** Whether this subscription should get the update: a selector matches, and it may see it if private. */
  wants(update: StoredUpdate): boolean {
    if (!matchesAny(this.selectors, update.topics)) return false;
    return (
      !update.private || (this.privateSelectors !== null && matchesAny(this.privateSelectors, update.topics))
    );
  }

  /**
   * Closes the stream. `last` (e.g. a jittered `retry:`) is written first, queued events before it, unless
   * not `graceful` (the transport is ended at once). The owner is told once.
   */
  close(reason: CloseReason, last: readonly PreparedEvent[] = [], graceful = true): void {
    if (this.outbox.closed) return;
    this.owner.detach(this, reason, true);
    this.outbox.close(last, graceful);
  }

  overflowed(): void {
    this.close('slow', [], false);
  }

  replayBroken(error: unknown): void {
    this.owner.replayBroken(this, error);
  }

  /** The transport is gone: the peer left or the stream failed (or finished closing after `close`). */
  private ended(): void {
    if (this.outbox.closed) {
      this.owner.released(this);
      return;
    }
    this.outbox.gone();
    this.owner.detach(this, 'client', false);
  }
}
