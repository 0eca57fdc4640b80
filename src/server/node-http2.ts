/**
 * The node:http2 transport (cleartext h2c or TLS): one HTTP/2 stream per subscriber. HTTP/2 does its own
 * framing, so connections write each event's `payload` (still encoded once and shared). No `Connection`
 * header: it is forbidden in HTTP/2.
 */
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { SseConnection } from './connection.js';
import type { Batch } from './group.js';
import type { Hub } from './hub.js';
import { joinEvents, type PreparedEvent } from './prepared.js';
import { refusalFor } from './refusal.js';
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
    // One policy for every transport (refusal.ts): during shutdown the stream is reset unanswered, which an
    // EventSource retries; a bad request gets its 4xx, on which it stops.
    const refusal = refusalFor(error);
    if (refusal.kind === 'reconnect' || stream.headersSent || stream.destroyed) {
      resetRefused(stream);
      return;
    }
    stream.respond({ ':status': refusal.status, ...refusal.headers });
    stream.end(refusal.body);
  }
}

/**
 * Ends a stream without a response: RST_STREAM with REFUSED_STREAM (RFC 9113 §8.7, "not processed, safe
 * to retry"), which a browser reports to an EventSource as a network error, so it reconnects.
 */
export function resetRefused(stream: ServerHttp2Stream): void {
  if (stream.destroyed) return;
  // Closing with an error code makes node emit that code as an 'error' on our own stream: expected here.
  stream.on('error', ignore);
  stream.close(constants.NGHTTP2_REFUSED_STREAM);
}

function ignore(): void {}
