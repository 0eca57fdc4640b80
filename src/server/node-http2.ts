/**
 * The node:http2 transport (cleartext h2c or TLS): one HTTP/2 stream per subscriber. HTTP/2 does its own
 * framing, so connections write each event's `payload` (still encoded once and shared). No `Connection`
 * header: it is forbidden in HTTP/2.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { SseConnection } from './connection.js';
import { ServerError } from './errors.js';
import type { Batch } from './group.js';
import type { Hub } from './hub.js';
import { joinEvents, type PreparedEvent } from './prepared.js';
import type { SubscribeOptions, Subscription } from './request.js';

const H2_SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
});

export class Http2Connection extends SseConnection {
  private readonly stream: ServerHttp2Stream;

  constructor(hub: Hub, subscription: Subscription, stream: ServerHttp2Stream) {
    super(hub, subscription);
    this.stream = stream;
    stream.once('close', () => this.ended());
    stream.on('error', () => this.ended());
  }

  open(headers: Record<string, string>, first: readonly PreparedEvent[]): void {
    if (this.stream.destroyed) {
      this.ended();
      return;
    }
    this.stream.respond({ ':status': 200, ...H2_SSE_HEADERS, ...headers });
    this.writeNow(first);
  }

  get buffered(): number {
    return this.stream.writableLength;
  }

  protected writeOne(event: PreparedEvent): void {
    this.stream.write(event.payload);
  }

  protected writeBatch(batch: Batch): void {
    this.stream.write(batch.bytes(false));
  }

  protected writeMany(events: readonly PreparedEvent[]): void {
    this.stream.write(this.hub.join(events, false));
  }

  override writeSlice(events: readonly PreparedEvent[], drained: () => void): void {
    if (this.closed) return;
    this.wrote = true;
    this.stream.write(joinEvents(events, false), (error) => {
      if (error == null) drained();
    });
  }

  protected terminate(graceful: boolean): void {
    if (graceful && !this.stream.destroyed) this.stream.end();
    else this.stream.close();
  }
}

/** Serves one SSE request on a raw HTTP/2 stream (`server.on('stream', ...)`). */
export async function handleHttp2Stream(
  hub: Hub,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  options: SubscribeOptions = {},
): Promise<void> {
  let subscription: Subscription;
  try {
    const header = headers['last-event-id'];
    subscription = hub.readSubscription(
      String(headers[':path'] ?? '/'),
      Array.isArray(header) ? header[0] : header,
      options,
    );
    await hub.attach(new Http2Connection(hub, subscription, stream), subscription, {
      state: options.state,
      request: () => ({ url: String(headers[':path'] ?? '/'), headers }),
    });
  } catch (error) {
    if (stream.headersSent || stream.destroyed) {
      stream.close();
      return;
    }
    const status = error instanceof ServerError ? error.status : 500;
    const message =
      error instanceof Error && status < 500 ? error.message : 'The event stream could not be opened.';
    stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
    stream.end(message + '\n');
  }
}
