/**
 * `EventStream`: events written by the application to ONE response — a chat reply, an LLM's tokens, a
 * job's progress — without a hub. The same encoder as the hub (`PreparedEvent`), the same response head as
 * the hub's node:http transport, and per stream: an awaitable `write` that waits while the client does not
 * read, a bound on what may wait (`maxBufferedBytes`) past which the stream ends with a clear error,
 * heartbeats, and an `AbortSignal` that fires when the client goes away.
 *
 * `openEventStream(req, res)` serves node:http, Express and Fastify (`reply.hijack()`, then the raw
 * objects) and the node:http2 compatibility API; `eventStreamResponse(request, run)` returns a Fetch API
 * `Response` (Hono, Bun, Deno, any Fetch runtime).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { EventFields } from '../protocol/encode.js';
import { textFromHeader } from '../protocol/header-text.js';
import { SSE_HEADERS, writeSseHead } from './adapters/node-http.js';
import { ServerError } from './errors.js';
import { HUB_DEFAULTS } from './options.js';
import { PreparedEvent } from './prepared.js';

export interface EventStreamOptions {
  /** A heartbeat comment is written when nothing was written for this long (ms). 0 disables. Default 15,000. */
  heartbeatMs?: number;
  /**
   * Bytes that may wait for the client (written, not yet taken by the transport) before the stream is ended
   * as slow: the `write` that passes it rejects with `ServerError` `STREAM_BUFFER_FULL`. A writer that
   * awaits each `write` never gets there. Default 256 KiB.
   */
  maxBufferedBytes?: number;
  /** A `retry:` (ms) sent first, for the client's reconnection delay. Default: none. */
  retry?: number;
  /** Response headers added to the SSE ones. */
  headers?: Record<string, string>;
}

/** Why a stream ended: the client went away, the application closed it, or its buffer passed the bound. */
export type EventStreamEnd = 'client' | 'server' | 'slow';

/** What a transport gives an `EventStream`: write bytes, how many wait, end. */
interface Sink {
  /** Writes bytes; false when the writer should wait for `drained`. */
  write(bytes: Uint8Array): boolean;
  readonly buffered: number;
  /** Ends the response: after what was written, or at once (`error`: why, when it is not the client leaving). */
  end(graceful: boolean, error?: Error): void;
}

export class EventStream {
  /** Aborted when the stream ends, whoever ended it; pass it to the work that feeds the stream. */
  readonly signal: AbortSignal;
  /** Resolves once the stream ended, with why. */
  readonly closed: Promise<EventStreamEnd>;
  /** The `Last-Event-ID` the client sent (read as UTF-8), if any: where a resumed stream should continue. */
  readonly lastEventId: string | undefined;
  private readonly controller = new AbortController();
  private resolveClosed!: (end: EventStreamEnd) => void;
  private sink: Sink | null = null;
  private readonly maxBufferedBytes: number;
  private readonly heartbeatMs: number;
  private heartbeat: NodeJS.Timeout | null = null;
  private wrote = false;
  /** Writers waiting for the transport to drain. */
  private waiting: ((written: boolean) => void)[] = [];
  private end: EventStreamEnd | null = null;

  /** Why the stream ended; null while it is open. */
  get endedBy(): EventStreamEnd | null {
    return this.end;
  }

  /** @internal Transports build streams; applications call `openEventStream` or `eventStreamResponse`. */
  constructor(lastEventId: string | undefined, options: EventStreamOptions) {
    this.lastEventId = lastEventId;
    this.signal = this.controller.signal;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.maxBufferedBytes =
      checkOption('maxBufferedBytes', options.maxBufferedBytes, 1) ?? HUB_DEFAULTS.maxBufferedBytes;
    this.heartbeatMs = checkOption('heartbeatMs', options.heartbeatMs, 0) ?? HUB_DEFAULTS.heartbeatMs;
  }

  /** @internal */
  attach(sink: Sink, first: Uint8Array | null): void {
    this.sink = sink;
    if (first !== null) sink.write(first);
    if (this.heartbeatMs > 0) {
      this.heartbeat = setInterval(this.beat, this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Bytes written and not yet taken by the transport. */
  get buffered(): number {
    return this.sink?.buffered ?? 0;
  }

  /**
   * Writes one event (encoded by the protocol encoder, which throws `ProtocolError` for a field it cannot
   * send unchanged). Resolves `true` at once while the transport takes bytes, else once it drained; `false`
   * when the stream has ended (the client left: stop producing). Rejects with `ServerError`
   * `STREAM_BUFFER_FULL`, and ends the stream, when the bytes waiting pass `maxBufferedBytes`.
   */
  write(event: EventFields | PreparedEvent): Promise<boolean> {
    const bytes = event instanceof PreparedEvent ? event.payload : PreparedEvent.ofFields(event).payload;
    return this.writeBytes(bytes);
  }

  /** Writes `value` as JSON in one event's `data` (with `fields` such as `event` and `id`). */
  writeJson(value: unknown, fields: Omit<EventFields, 'data'> = {}): Promise<boolean> {
    const data = JSON.stringify(value);
    if (data === undefined) {
      return Promise.reject(new ServerError('INVALID_UPDATE', `${typeof value} has no JSON form.`));
    }
    return this.write({ ...fields, data });
  }

  /** Writes a comment line (ignored by clients). */
  comment(text = ''): Promise<boolean> {
    return this.write({ comment: text });
  }

  /** Ends the stream; what was written still goes out. */
  close(): void {
    this.finish('server', true);
  }

  private writeBytes(bytes: Uint8Array): Promise<boolean> {
    const sink = this.sink;
    if (this.end !== null || sink === null) return Promise.resolve(false);
    this.wrote = true;
    if (sink.buffered + bytes.byteLength > this.maxBufferedBytes) {
      const error = new ServerError(
        'STREAM_BUFFER_FULL',
        `The client is not reading: ${sink.buffered + bytes.byteLength} bytes would wait, more than ` +
          `maxBufferedBytes (${this.maxBufferedBytes}). Await each write() to wait for the client instead.`,
      );
      this.finish('slow', false, error);
      return Promise.reject(error);
    }
    if (sink.write(bytes)) return Promise.resolve(true);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** @internal The transport took the bytes: the writers waiting go on. */
  drained(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve(this.end === null);
  }

  /** @internal The transport ended (the client went away, or the response failed). */
  ended(): void {
    this.finish('client', false);
  }

  private readonly beat = (): void => {
    if (this.wrote || this.buffered > 0) {
      this.wrote = false;
      return;
    }
    void this.comment().catch(() => {});
    this.wrote = false;
  };

  private finish(end: EventStreamEnd, graceful: boolean, error?: Error): void {
    if (this.end !== null) return;
    this.end = end;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.sink?.end(graceful, error);
    this.drained();
    this.controller.abort(
      new ServerError('STREAM_CLOSED', `The event stream ended (${end}).`, { cause: end }),
    );
    this.resolveClosed(end);
  }
}

function checkOption(name: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(
      `Event stream option ${name} must be a finite number ≥ ${min}, got ${String(value)}.`,
    );
  }
  return value;
}

function firstBytes(options: EventStreamOptions): Uint8Array | null {
  return options.retry === undefined ? null : PreparedEvent.ofFields({ retry: options.retry }).payload;
}

/**
 * Opens an event stream on a node:http response (Express's `res`, Fastify's `reply.raw` after
 * `reply.hijack()`, or the node:http2 compatibility API): the response head goes out now, with the same
 * headers as the hub's streams. The stream ends when the client leaves (`signal`, `closed`) or on `close()`.
 */
export function openEventStream(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  options: EventStreamOptions = {},
): EventStream {
  const header = req.headers['last-event-id'];
  const lastEventId = Array.isArray(header) ? header[0] : header;
  const stream = new EventStream(
    lastEventId === undefined ? undefined : textFromHeader(lastEventId),
    options,
  );
  const headers = options.headers ?? {};
  let sink: Sink;
  if ('stream' in res && req.httpVersionMajor === 2) {
    const h2 = (res as Http2ServerResponse).stream;
    h2.respond({ ':status': 200, ...SSE_HEADERS, ...headers });
    h2.on('drain', () => stream.drained());
    h2.once('close', () => stream.ended());
    h2.on('error', () => stream.ended());
    sink = {
      write: (bytes) => h2.write(bytes),
      get buffered() {
        return h2.writableLength;
      },
      end: (graceful) => (graceful && !h2.destroyed ? h2.end() : h2.close()),
    };
  } else {
    const http1 = res as ServerResponse;
    const socket = http1.socket as Socket | null;
    if (socket !== null) {
      socket.setNoDelay(true);
      socket.setTimeout(0);
    }
    writeSseHead(http1, headers);
    http1.on('drain', () => stream.drained());
    http1.once('close', () => stream.ended());
    http1.on('error', () => stream.ended());
    sink = {
      write: (bytes) => http1.write(bytes),
      get buffered() {
        return http1.writableLength;
      },
      end: (graceful) => (graceful && !http1.destroyed ? http1.end() : http1.destroy()),
    };
  }
  if (res.destroyed) stream.ended();
  else stream.attach(sink, firstBytes(options));
  return stream;
}

/**
 * A Fetch API `Response` whose body is an event stream fed by `run`. The stream ends when `run` settles
 * (a rejection is given to `onError`, default `console.error`), when `run` calls `close()`, or when the
 * client leaves (`request.signal`, or the body cancelled): then `stream.signal` aborts.
 */
export function eventStreamResponse(
  request: Request,
  run: (stream: EventStream) => void | Promise<void>,
  options: EventStreamOptions & { onError?: (error: unknown) => void } = {},
): Response {
  const header = request.headers.get('last-event-id');
  const stream = new EventStream(header === null ? undefined : textFromHeader(header), options);
  const highWaterMark = Math.min(64 * 1024, options.maxBufferedBytes ?? HUB_DEFAULTS.maxBufferedBytes);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      pull: () => stream.drained(),
      cancel: () => stream.ended(),
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );
  stream.attach(
    {
      write: (bytes) => {
        controller.enqueue(bytes);
        return (controller.desiredSize ?? 0) > 0;
      },
      get buffered() {
        // desiredSize is null once the body is closed or errored: nothing waits then.
        const desired = controller.desiredSize;
        return desired === null ? 0 : Math.max(0, highWaterMark - desired);
      },
      end: (_graceful, error) => {
        try {
          // An errored body is how a Fetch server learns to cut the response short; the client leaving
          // needs no more than a close.
          if (error === undefined) controller.close();
          else controller.error(error);
        } catch {
          // already closed or cancelled by the reader
        }
      },
    },
    firstBytes(options),
  );
  if (request.signal.aborted) stream.ended();
  else request.signal.addEventListener('abort', () => stream.ended(), { once: true });
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  void (async () => {
    try {
      await run(stream);
    } catch (error) {
      if (stream.endedBy !== 'client') onError(error);
    } finally {
      stream.close();
    }
  })();
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...options.headers } });
}
