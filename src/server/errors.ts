import { CrierError } from '../protocol/errors.js';

export type ServerErrorCode =
  /** A topic selector could not be compiled, or its syntax is unknown. 400. */
  | 'INVALID_SELECTOR'
  /** The request names no topic selector and the endpoint has no fixed topics. 400. */
  | 'NO_SELECTOR'
  /** More selectors than `maxSelectors`. 400. */
  | 'TOO_MANY_SELECTORS'
  /** Selectors whose estimated memory passes `maxSelectorCost`. 400. */
  | 'SELECTORS_TOO_COSTLY'
  /** `Last-Event-ID` (header or query) longer than `maxLastEventIdLength`. 400. */
  | 'LAST_EVENT_ID_TOO_LONG'
  /** The query string is longer than `maxQueryLength`. 400. */
  | 'QUERY_TOO_LONG'
  /** A query parameter has a value that cannot be used (e.g. `maxRate=abc`). 400. */
  | 'INVALID_PARAMETER'
  /** The hub is shutting down and accepts no new subscribers. 503. */
  | 'HUB_CLOSED'
  /** A publish was refused (no topics, a bad field). */
  | 'INVALID_UPDATE'
  /** An `EventStream` write would pass its `maxBufferedBytes`: the client is not reading; the stream ended. */
  | 'STREAM_BUFFER_FULL'
  /** The reason an `EventStream`'s `signal` aborts: the stream ended (`cause`: who ended it). */
  | 'STREAM_CLOSED';

const STATUS: Record<ServerErrorCode, number> = {
  INVALID_SELECTOR: 400,
  NO_SELECTOR: 400,
  TOO_MANY_SELECTORS: 400,
  SELECTORS_TOO_COSTLY: 400,
  LAST_EVENT_ID_TOO_LONG: 400,
  QUERY_TOO_LONG: 400,
  INVALID_PARAMETER: 400,
  HUB_CLOSED: 503,
  INVALID_UPDATE: 400,
  // Not HTTP answers: an event stream's head is already sent when these happen.
  STREAM_BUFFER_FULL: 500,
  STREAM_CLOSED: 500,
};

/** An error the HTTP layer answers with `status` and `message` as a plain-text body. */
export class ServerError extends CrierError<ServerErrorCode> {
  readonly status: number;
  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ServerError';
    this.status = STATUS[code];
  }
}
