/**
 * The Fetch API transport: a `Request` in, a `Response` with a streaming body out — for Hono, Bun, Deno,
 * or any server that speaks Web-standard types. The body is a `ReadableStream` whose queue is measured in
 * bytes, so `buffered` (and the slow-consumer bound) works as for sockets.
 */
import { SseConnection } from './connection.js';
import type { Batch } from './group.js';
import type { Hub } from './hub.js';
import type { PreparedEvent } from './prepared.js';
import { closedBeforeOpen, type Refusal, refusalFor } from './refusal.js';
import type { SubscribeOptions, Subscription } from './request.js';

const FETCH_SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
});

export class FetchConnection extends SseConnection {
  /** Resolves with the Response once the hub opens the stream. */
  readonly response: Promise<Response>;
  private resolve!: (response: Response) => void;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private readonly body: ReadableStream<Uint8Array>;
  private readonly highWaterMark: number;
  /** A replay slice waiting for the reader to make room (called from the stream's `pull`). */
  private drained: (() => void) | null = null;
  private opened = false;

  constructor(hub: Hub, subscription: Subscription, signal?: AbortSignal) {
    super(hub, subscription);
    this.highWaterMark = hub.options.maxBufferedBytes;
    this.response = new Promise((resolve) => {
      this.resolve = resolve;
    });
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          const drained = this.drained;
          this.drained = null;
          drained?.();
        },
        cancel: () => this.ended(),
      },
      { highWaterMark: this.highWaterMark, size: (chunk) => chunk.byteLength },
    );
    signal?.addEventListener('abort', () => this.close('client', [], false), { once: true });
  }

  open(headers: Record<string, string>, first: readonly PreparedEvent[]): void {
    this.opened = true;
    this.writeNow(first);
    this.resolve(new Response(this.body, { status: 200, headers: { ...FETCH_SSE_HEADERS, ...headers } }));
  }

  get buffered(): number {
    const desired = this.controller?.desiredSize ?? 0;
    return Math.max(0, this.highWaterMark - (desired ?? 0));
  }

  protected writeOne(event: PreparedEvent): void {
    this.controller?.enqueue(event.payload);
  }

  protected writeBatch(batch: Batch): void {
    this.controller?.enqueue(batch.bytes(false));
  }

  protected writeMany(events: readonly PreparedEvent[]): void {
    this.controller?.enqueue(this.hub.join(events, false));
  }

  override writeSlice(events: readonly PreparedEvent[], drained: () => void): void {
    if (this.closed || this.controller === null) return;
    this.wrote = true;
    for (const e of events) this.controller.enqueue(e.payload); // shared bytes, no copy
    // Room left in the queue: go on next turn; otherwise when the reader pulls.
    if ((this.controller.desiredSize ?? 0) > 0) setImmediate(drained);
    else this.drained = drained;
  }

  protected terminate(): void {
    try {
      this.controller?.close();
    } catch {
      // already closed or errored by the reader
    }
    this.hub.draining.delete(this);
    // Closed before it opened (client gone during replay, shutdown): answer rather than hang, the way any
    // refusal is answered. Once opened, `resolve` has been called and this is a no-op.
    if (!this.opened) this.resolve(refusedResponse(closedBeforeOpen()));
  }
}

/** Serves one SSE request with Web-standard types. Never rejects: bad input becomes a 4xx `Response`. */
export async function handleFetchRequest(
  hub: Hub,
  request: Request,
  options: SubscribeOptions = {},
): Promise<Response> {
  let subscription: Subscription;
  try {
    subscription = hub.readSubscription(
      request.url,
      request.headers.get('last-event-id') ?? undefined,
      options,
    );
    const connection = new FetchConnection(hub, subscription, request.signal);
    await hub.attach(connection, subscription, {
      state: options.state,
      request: () => ({ url: request.url, headers: Object.fromEntries(request.headers) }),
    });
    return await connection.response;
  } catch (error) {
    return refusedResponse(refusalFor(error));
  }
}

/**
 * A refusal as a `Response` (refusal.ts decides which): a 4xx with its message, or — for one the client
 * should retry — a 200 `text/event-stream` with an empty body, ended at once. An EventSource treats the
 * end of a stream as a broken connection and reconnects; a 503 would make it give up for good. (A body
 * that errors would do too, but Fetch hosts log each such error; `Response.error()` most hosts answer with a 500.)
 */
function refusedResponse(refusal: Refusal): Response {
  if (refusal.kind === 'answer') {
    return new Response(refusal.body, { status: refusal.status, headers: refusal.headers });
  }
  return new Response(null, { status: 200, headers: FETCH_SSE_HEADERS });
}
