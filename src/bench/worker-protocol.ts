/** The messages between `SubscriberPool` and its worker processes. */

import type { SparseHistogram } from './histogram.js';
import type { Target } from './target.js';

export interface WorkerOpen {
  type: 'open';
  target: Target;
  /** The subscriber indices this worker holds (fill `%I` in the path). */
  indices: number[];
  headers: Array<[string, string]>;
  /** Local addresses to bind, round robin (empty: let the kernel choose). */
  sourceAddresses: string[];
  /** Connections at most in flight (connecting, waiting for the head) at once. */
  connectConcurrency: number;
  /** Sent as the `Last-Event-ID` header when set. */
  lastEventId?: string;
  /** When > 0, record the time until each connection has received this many events (reconnect storm). */
  expectEvents: number;
  captureIds: boolean;
  /** Connects still pending after this long are abandoned and counted as failed. */
  connectTimeoutMs: number;
}

export type ToWorker = WorkerOpen | { type: 'mark'; since: number } | { type: 'report' } | { type: 'close' };

export interface WorkerCounts {
  connected: number;
  failed: number;
  non200: number;
  closed: number;
  malformed: number;
  caughtUp: number;
}

export type ToParent =
  | ({ type: 'connected'; connectMs: number; errorCodes: Record<string, number> } & WorkerCounts)
  | ({ type: 'progress'; events: number } & WorkerCounts)
  | { type: 'marked' }
  | { type: 'closed' }
  | ({
      type: 'report';
      events: number;
      /** Events received since the mark whose `t` was older than it (a backlog from before). */
      stale: number;
      /** CPU time this worker used since the mark (user + system), in µs. */
      cpuMicros: number;
      histogram: SparseHistogram;
      catchUp: SparseHistogram;
      connectMs: number;
      errorCodes: Record<string, number>;
      lastEventId: string;
    } & WorkerCounts);
