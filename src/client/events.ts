/**
 * The events a Crier event source dispatches besides the server's own messages (which are `MessageEvent`s,
 * exactly as with the browser's `EventSource`).
 */
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

/** `reconnect`: the source will reconnect after `delay` milliseconds; `attempt` counts failures in a row. */
export class ReconnectEvent extends Event {
  readonly attempt: number;
  readonly delay: number;
  readonly lastEventId: string;
  constructor(attempt: number, delay: number, lastEventId: string) {
    super('reconnect');
    this.attempt = attempt;
    this.delay = delay;
    this.lastEventId = lastEventId;
  }
}

/**
 * `gap`: the server could not replay everything after the event ID the client resumed from (its history no
 * longer holds it), so events were missed. Reload the state the events describe. The server reports it with
 * the response header `Crier-Replay: expired` (or `unknown`) and/or the reserved event type `crier-replay-unavailable`, whose data is JSON with
 * at least `{ "lastEventId": "<the id the client asked for>" }`.
 */
export class GapEvent extends Event {
  /** The event ID the client asked to resume from. */
  readonly lastEventId: string;
  /** The decoded JSON data of the `crier-replay-unavailable` event, when it came as an event. */
  readonly detail: Record<string, unknown> | undefined;
  constructor(lastEventId: string, detail?: Record<string, unknown>) {
    super('gap');
    this.lastEventId = lastEventId;
    this.detail = detail;
  }
}

/** The event type and response header a Crier server uses to report a replay gap. */
export const GAP_EVENT_TYPE = 'crier-replay-unavailable';
export const REPLAY_HEADER = 'Crier-Replay';
