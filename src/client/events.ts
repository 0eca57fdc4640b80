/**
 * The events a Crier event source dispatches besides the server's own messages (which are `MessageEvent`s,
 * exactly as with the browser's `EventSource`).
 */
import { REPLAY_HEADER, REPLAY_UNAVAILABLE_EVENT } from '../protocol/vocabulary.js';
import type { ClientError } from './errors.js';

/**
 * `error`: the connection broke and will be re-established (`willReconnect`, `readyState` is CONNECTING), or
 * failed for good (`readyState` is CLOSED), or one event could not be decoded. `error` says why.
 */
export class SourceErrorEvent extends Event {
  readonly error: ClientError | undefined;
  readonly willReconnect: boolean;
  constructor(error: ClientError | undefined, willReconnect: boolean) {
    super('error');
    this.error = error;
    this.willReconnect = willReconnect;
  }
  /** A sentence saying what went wrong ('' when nothing is known). */
  get message(): string {
    return this.error?.message ?? '';
  }
}

/**
 * `reconnect`: the source will reconnect after `delay` milliseconds; `attempt` counts failures in a row.
 * `status` is the HTTP status that made it retry (429, 503, a 401 retried with fresh credentials …), and
 * `retryAfter` the wait the server's `Retry-After` asked for (ms, capped), when there was one.
 */
export class ReconnectEvent extends Event {
  readonly attempt: number;
  readonly delay: number;
  readonly lastEventId: string;
  readonly status: number | undefined;
  readonly retryAfter: number | undefined;
  constructor(
    attempt: number,
    delay: number,
    lastEventId: string,
    options: { status?: number; retryAfter?: number } = {},
  ) {
    super('reconnect');
    this.attempt = attempt;
    this.delay = delay;
    this.lastEventId = lastEventId;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }
}

/**
 * `gap`: the server could not replay everything after the event ID the client resumed from (its history no
 * longer holds it), so events were missed. Reload the state the events describe. A Crier server reports it
 * with the response header `Crier-Replay: expired` (or `unknown`) and the reserved event type
 * `crier-replay-unavailable` first in the body, whose data is JSON with at least
 * `{ "lastEventId": "<the id the client asked for>" }`. The client believes both only from a response that
 * carries `Crier-Replay` (a Crier server sets it on every resumed stream); from any other server an event
 * named `crier-replay-unavailable` is an ordinary event.
 */
export class GapEvent extends Event {
  /** The event ID the client asked to resume from. */
  readonly lastEventId: string;
  /** The decoded JSON data of the `crier-replay-unavailable` event (undefined if the notice had none). */
  readonly detail: Record<string, unknown> | undefined;
  constructor(lastEventId: string, detail?: Record<string, unknown>) {
    super('gap');
    this.lastEventId = lastEventId;
    this.detail = detail;
  }
}

/**
 * The events the source dispatches about itself, apart from the server's events: listen with
 * `source.addClientListener(type, listener)` (or `onreconnect`/`ongap`). A server event named `reconnect` or `gap` goes to
 * `addEventListener` like any other server event and never reaches these.
 */
export interface ClientEventMap {
  reconnect: ReconnectEvent;
  gap: GapEvent;
}

/** The event type and response header a Crier server uses to report a replay gap (src/protocol/vocabulary.ts). */
export const GAP_EVENT_TYPE = REPLAY_UNAVAILABLE_EVENT;
export { REPLAY_HEADER };
