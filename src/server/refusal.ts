/**
 * How a subscriber the server library will not serve is answered — one policy for node:http, node:http2
 * and Fetch, so the three transports cannot disagree.
 *
 * What matters is what a browser `EventSource` does next (WHATWG HTML, "processing the event stream"):
 * a network error, or a connection closed before any response, makes it reestablish the connection after
 * its reconnection time; a response whose status is not 200 (a 503 included) or whose type is not
 * `text/event-stream` makes it fail the connection — it gives up for good. So:
 *
 * - a refusal the client should retry (the hub is shutting down; a load balancer sends the retry to
 *   another node) is `reconnect`: no answer at all. node:http destroys the socket, node:http2 resets the
 *   stream with REFUSED_STREAM (RFC 9113 §8.7: not processed, safe to retry), and Fetch — which can only
 *   return a Response — returns a 200 `text/event-stream` with an empty body: the stream ends at once,
 *   which an EventSource also treats as a broken connection and reconnects after (it fires `open` first).
 *   `Response.error()` is not an option: Fetch hosts such as @hono/node-server answer it with a 500;
 *   a body that errors works too but every host logs the error;
 * - a request that will never succeed as sent (a bad selector, a query too long) is `answer`: its 4xx
 *   status with a plain-text message, so the EventSource stops instead of retrying forever;
 * - anything else (a bug) is a 500 with a generic message.
 */
import { ServerError } from './errors.js';

export type Refusal =
  /** End the connection without a response: an EventSource reconnects. */
  | { readonly kind: 'reconnect'; readonly error: ServerError }
  /** Answer with this status and plain-text body: an EventSource gives up. */
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string;
    };

const TEXT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/plain; charset=utf-8',
});

/** The server errors a client is told to retry by a connection closed without an answer. */
const RETRY_CODES: ReadonlySet<string> = new Set(['HUB_CLOSED']);

/** Decides how a subscriber refused with `error` is answered, on every transport. */
export function refusalFor(error: unknown): Refusal {
  if (error instanceof ServerError && RETRY_CODES.has(error.code)) return { kind: 'reconnect', error };
  const status = error instanceof ServerError ? error.status : 500;
  const body =
    error instanceof Error && status < 500 ? `${error.message}\n` : 'The event stream could not be opened.\n';
  return { kind: 'answer', status, headers: TEXT_HEADERS, body };
}

/** The refusal for a stream closed before it opened (the hub shut down while it was replaying). */
export function closedBeforeOpen(): Refusal {
  return refusalFor(new ServerError('HUB_CLOSED', 'The server is shutting down; reconnect shortly.'));
}
