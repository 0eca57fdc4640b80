/**
 * One connection per browser: the tabs of an origin that open the same stream with `shared: true` elect a
 * leader with the Web Locks API. The leader holds the only connection and relays everything it receives over
 * a BroadcastChannel; the others (followers) dispatch what it relays. When the leader's tab closes (or its
 * source is closed), the browser releases its lock, the next tab in the lock's queue becomes leader and
 * connects with `Last-Event-ID` set to the last event ID it received, so the server replays what was
 * published during the handover: no gap.
 *
 * Exactly once across a handover: a new leader ignores everything relayed after it took the lock. A relay
 * the old leader sent just before leaving may arrive late; the new leader gets that event from the server's
 * replay instead (its last event ID did not move past it), so it is neither lost nor seen twice.
 */
import type { ClientErrorCode } from './errors.js';

/** What the leader tab tells the followers. */
export type RelayMessage =
  | { kind: 'event'; type: string; data: string; lastEventId: string; origin: string }
  | { kind: 'open' }
  | { kind: 'error'; code: ClientErrorCode; message: string; status?: number }
  | {
      kind: 'reconnect';
      attempt: number;
      delay: number;
      status: number | undefined;
      retryAfter: number | undefined;
    }
  | { kind: 'gap'; lastEventId: string; detail: Record<string, unknown> | undefined }
  | { kind: 'failed'; code: ClientErrorCode; message: string }
  | { kind: 'state'; readyState: number; lastEventId: string };

type ChannelMessage = RelayMessage | { kind: 'hello' };

export interface SharedHost {
  /** This tab now holds the lock: open the connection. */
  becomeLeader(): void;
  /** A message from the leader (only delivered while this tab is a follower). */
  receive(message: RelayMessage): void;
  /** The leader's answer to a new follower. */
  describe(): { readyState: number; lastEventId: string };
}

interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<unknown>;
}

function lockManager(): LockManagerLike | undefined {
  return (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
}

/** True where both Web Locks and BroadcastChannel exist (browsers; not Node 20). */
export function sharingSupported(): boolean {
  return lockManager() !== undefined && typeof globalThis.BroadcastChannel === 'function';
}

export class SharedConnection {
  private readonly channel: BroadcastChannel;
  private readonly lockAbort = new AbortController();
  private releaseLock: (() => void) | undefined;
  private leader = false;
  private closed = false;

  constructor(name: string, host: SharedHost) {
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (event: MessageEvent<ChannelMessage>) => {
      if (this.closed) return;
      const message = event.data;
      if (this.leader) {
        // A new tab asks where the stream is; only the leader answers.
        if (message.kind === 'hello') this.post({ kind: 'state', ...host.describe() });
        return; // a late relay from a previous leader: the server's replay covers it
      }
      if (message.kind !== 'hello') host.receive(message);
    };
    this.channel.postMessage({ kind: 'hello' } satisfies ChannelMessage);
    lockManager()!
      .request(name, { signal: this.lockAbort.signal }, () => {
        if (this.closed) return Promise.resolve();
        this.leader = true;
        // Hold the lock until close() (or until the tab goes away, when the browser releases it).
        const held = new Promise<void>((resolve) => {
          this.releaseLock = resolve;
        });
        host.becomeLeader();
        return held;
      })
      .catch(() => {
        // AbortError: closed while still waiting in the lock's queue.
      });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Relays a message to the followers; does nothing unless this tab is the leader. */
  post(message: RelayMessage): void {
    if (!this.leader || this.closed) return;
    this.channel.postMessage(message);
  }

  /** Leaves: releases the lock (the next tab takes over) or leaves the lock's queue. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lockAbort.abort();
    this.releaseLock?.();
    this.leader = false;
    this.channel.close();
  }
}
