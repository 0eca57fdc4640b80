/**
 * The Fetch API adapter: a `Request` in, a `Response` with a streaming body out — for Hono, Bun, Deno, or
 * any server that speaks Web-standard types. The body is a `ReadableStream` whose queue is measured in
 * bytes, so `buffered` (and the slow-consumer bound) works as for sockets.
 */
import { eventBytes, type PreparedEvent } from '../prepared.js';
import { closedBeforeOpen, type Refusal, refusalFor } from '../refusal.js';
import type { SubscribeOptions } from '../request.js';
import { noop, SSE_HEADERS, type SubscriberHost, subscribe, type Transport } from './transport.js';

export class FetchTransport implements Transport {
  readonly framed = false;
  /** Resolves with the Response once the stream opens (or with a refusal, if it ends before). */
  readonly response: Promise<Response>;
  private resolve!: (response: Response) => void;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private readonly body: ReadableStream<Uint8Array>;
  private readonly highWaterMark: number;
  /** A replay slice waiting for the reader to make room (called from the stream's `pull`). */
  private drained: (() => void) | null = null;
  private ended: () => void = noop;
  private opened = false;
  private done = false;

  constructor(maxBufferedBytes: number, signal?: AbortSignal) {
    this.highWaterMark = maxBufferedBytes;
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
        cancel: () => this.end(),
      },
      { highWaterMark: this.highWaterMark, size: (chunk) => chunk.byteLength },
    );
    // The client went away: end the body at once.
    signal?.addEventListener('abort', () => this.terminate(), { once: true });
  }

  onEnd(ended: () => void): void {
    this.ended = ended;
  }

  open(headers: Record<string, string>, first: readonly PreparedEvent[]): void {
    this.opened = true;
    if (first.length > 0) this.controller?.enqueue(eventBytes(first, false));
    this.resolve(new Response(this.body, { status: 200, headers: { ...SSE_HEADERS, ...headers } }));
  }

  get buffered(): number {
    const desired = this.controller?.desiredSize ?? 0;
    return Math.max(0, this.highWaterMark - (desired ?? 0));
  }

  write(bytes: Uint8Array): void {
    if (!this.done) this.controller?.enqueue(bytes);
  }

  writeThen(parts: readonly Uint8Array[], drained: () => void): void {
    const controller = this.controller;
    if (this.done || controller === null) return;
    for (const part of parts) controller.enqueue(part); // shared bytes, no copy
    // Room left in the queue: go on next turn; otherwise when the reader pulls.
    if ((controller.desiredSize ?? 0) > 0) setImmediate(drained);
    else this.drained = drained;
  }

  /** Closes the body (what was enqueued is still read); a Fetch body has no abrupt end short of an error. */
  terminate(): void {
    if (!this.done) {
      try {
        this.controller?.close();
      } catch {
        // already closed or errored by the reader
      }
    }
    // Closed before it opened (client gone during replay, shutdown): answer rather than hang, the way any
    // refusal is answered. Once opened, `resolve` has been called and this is a no-op.
    if (!this.opened) this.resolve(refusedResponse(closedBeforeOpen()));
    this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.drained = null;
    this.ended();
  }
}

/** Serves one SSE request with Web-standard types. Never rejects: bad input becomes a 4xx `Response`. */
export async function handleFetchRequest(
  hub: SubscriberHost,
  request: Request,
  options: SubscribeOptions = {},
): Promise<Response> {
  try {
    const transport = await subscribe(
      hub,
      request.url,
      request.headers.get('last-event-id') ?? undefined,
      request.headers.get('accept-encoding'),
      options,
      () => new FetchTransport(hub.options.maxBufferedBytes, request.signal),
      () => ({ url: request.url, headers: Object.fromEntries(request.headers) }),
    );
    return await transport.response;
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
  return new Response(null, { status: 200, headers: SSE_HEADERS });
}
