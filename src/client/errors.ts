/**
 * The reasons a client connection stops or restarts, as values with a stable `code`. They travel on the
 * `error` events the client dispatches (`event.error`), and an async iteration rethrows the one that closed
 * the source for good.
 */
import { CrierError } from '../protocol/errors.js';

export type ClientErrorCode =
  /** The request failed before a response arrived (DNS, refused, reset), or the body broke off. Reconnects. */
  | 'NETWORK_ERROR'
  /** The server ended the response body. Reconnects, as the spec says. */
  | 'STREAM_ENDED'
  /**
   * The response status was not 200 and not one the source retries. Fails the connection: no reconnection.
   * (A 401 after one retry with fresh credentials ends here too.)
   */
  | 'BAD_STATUS'
  /**
   * The server is busy or briefly down: 429, 502, 503 or 504 (the `retryStatuses` option). Reconnects after
   * its `Retry-After` or the backoff, whichever is longer, and counts toward `maxRetries`.
   */
  | 'UNAVAILABLE'
  /** 401 with a `getToken` or `getHeaders` callback: reconnects once at once, with fresh credentials. */
  | 'UNAUTHORIZED'
  /** The response status was 204 No Content: the server asks the client to stop. Fails the connection. */
  | 'NO_CONTENT'
  /** The response `Content-Type` was not `text/event-stream`. Fails the connection. */
  | 'BAD_CONTENT_TYPE'
  /**
   * The stream broke a parser limit (`maxLineLength` or `maxEventSize`; the message names it). Reconnects;
   * a connection that delivered no event before it counts as a failed attempt.
   */
  | 'MALFORMED_STREAM'
  /** The `getHeaders`/`getToken`/`body` callback threw or rejected. Reconnects with backoff. */
  | 'HEADERS_FAILED'
  /** `maxRetries` reconnection attempts in a row failed. Fails the connection. */
  | 'MAX_RETRIES'
  /** The `decode` option threw for an event; that event is dropped and the stream goes on. */
  | 'DECODE_FAILED'
  /** The shared connection's leader tab reported that its connection failed. */
  | 'SHARED_FAILED'
  /** Mercure hub discovery found no `Link: <...>; rel="mercure"` header. */
  | 'NO_HUB';

export class ClientError extends CrierError<ClientErrorCode> {
  /** The HTTP status, when the error came from a response. */
  readonly status: number | undefined;
  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, message, options);
    this.name = 'ClientError';
    this.status = options?.status;
  }
}
