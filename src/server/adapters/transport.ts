/**
 * The seam between the server core and a transport (node:http, node:http2, Fetch). An adapter knows how to
 * open a stream, write bytes, say how many wait, and end it — nothing of topics, queues, replay or the hub.
 * The core (`SseConnection` and its `Outbox`) decides what to write and when; the adapter only writes.
 *
 * Adapters import nothing from the core above them: a request handler reaches the hub through
 * `SubscriberHost`, an interface the `Hub` implements.
 */
import { type Coding, negotiateEncoding } from '../compression.js';
import type { PreparedEvent } from '../prepared.js';
import type { SubscribeOptions, Subscription } from '../request.js';

/** What every SSE response carries, whatever the transport. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
});

export interface Transport {
  /**
   * True when the bytes written must carry HTTP/1.1 chunked framing (write `PreparedEvent.chunk`, not
   * `payload`). Final once `open` returned.
   */
  readonly framed: boolean;
  /** Bytes accepted but not yet handed to the kernel (or taken by the reader, for Fetch). */
  readonly buffered: number;
  /**
   * Registers what to call once the stream is gone — the peer left, the stream failed, or `terminate`
   * finished. Called at most once; set before `open` (a client may leave while its history is read).
   */
  onEnd(ended: () => void): void;
  /** Sends the response head (status 200, `SSE_HEADERS` and `headers`) and the first events, together. */
  open(headers: Record<string, string>, first: readonly PreparedEvent[]): void;
  /** Writes bytes now (the hot path: one call per delivery, bytes shared by every subscriber). */
  write(bytes: Uint8Array): void;
  /**
   * Writes `parts` in order as one write and calls `drained` once the transport has taken them (the socket
   * drained, the reader pulled), never if the stream failed. Replay paces itself on this.
   */
  writeThen(parts: readonly Uint8Array[], drained: () => void): void;
  /** Ends the stream: gracefully (what was written still goes out) or at once. */
  terminate(graceful: boolean): void;
}

/** The request a connection was opened with. */
export interface ConnectionRequest {
  /** The request target (`/events?topic=…`), or the full URL for Fetch requests. */
  readonly url: string;
  /** The request headers, names in lower case. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** What a transport knows of a connection besides its subscription (see `Hub.attach`). */
export interface ConnectionMeta {
  /** The application's `SubscribeOptions.state`. */
  state?: unknown;
  /** The request, read only when an event needs it. */
  request?: () => ConnectionRequest;
  /** The content coding negotiated from `Accept-Encoding` among the hub's (`subscribe`); none: identity. */
  coding?: Coding | null;
}

/** What a request handler needs of the hub: read a subscription, then start a connection on a transport. */
export interface SubscriberHost {
  readonly options: {
    readonly maxBufferedBytes: number;
    readonly heartbeatMs: number;
    /** The content codings offered (empty: streams are not compressed). */
    readonly compression: readonly Coding[];
  };
  /** Throws `ServerError` (400, or `HUB_CLOSED` during shutdown). */
  readSubscription(
    target: string,
    lastEventIdHeader: string | undefined,
    options?: SubscribeOptions,
  ): Subscription;
  /** Starts a connection on `transport`; rejects (after releasing the subscription) when it cannot. */
  attach(transport: Transport, subscription: Subscription, meta?: ConnectionMeta): Promise<void>;
}

/**
 * What every request handler does with a request: reads the subscription from its target and
 * `Last-Event-ID` (the first, if repeated), negotiates the content coding from `Accept-Encoding` (the one
 * place it is done, for every transport), then starts a connection on the transport `transport` makes,
 * and resolves with that transport. Throws or rejects as `readSubscription` and `attach` do; the handler
 * answers that with its refusal.
 */
export async function subscribe<T extends Transport>(
  hub: SubscriberHost,
  target: string,
  lastEventId: string | readonly string[] | undefined,
  acceptEncoding: string | readonly string[] | null | undefined,
  options: SubscribeOptions,
  transport: () => T,
  request: () => ConnectionRequest,
): Promise<T> {
  const header = typeof lastEventId === 'object' ? lastEventId[0] : lastEventId;
  const subscription = hub.readSubscription(target, header, options);
  const coding = negotiateEncoding(acceptEncoding, hub.options.compression);
  const opened = transport();
  await hub.attach(opened, subscription, { state: options.state, request, coding });
  return opened;
}

export function noop(): void {}
