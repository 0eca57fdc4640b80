/**
 * The node:http2 adapter (cleartext h2c or TLS): one HTTP/2 stream per subscriber. HTTP/2 does its own
 * framing, so it writes each event's `payload` (still encoded once and shared). No `Connection` header: it
 * is forbidden in HTTP/2.
 */
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { eventBytes, type PreparedEvent } from '../prepared.js';
import { refusalFor } from '../refusal.js';
import type { SubscribeOptions } from '../request.js';
import { noop, SSE_HEADERS, type SubscriberHost, subscribe, type Transport } from './transport.js';

export class Http2Transport implements Transport {
  readonly framed = false;
  private readonly stream: ServerHttp2Stream;
  private ended: () => void = noop;

  constructor(stream: ServerHttp2Stream) {
    this.stream = stream;
  }

  onEnd(ended: () => void): void {
    this.ended = ended;
    this.stream.once('close', ended);
    this.stream.on('error', ended);
  }

  open(headers: Record<string, string>, first: readonly PreparedEvent[]): void {
    if (this.stream.destroyed) {
      this.ended();
      return;
    }
    this.stream.respond({ ':status': 200, ...SSE_HEADERS, ...headers });
    if (first.length > 0) this.stream.write(eventBytes(first, false));
  }

  get buffered(): number {
    return this.stream.writableLength;
  }

  write(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  writeThen(parts: readonly Uint8Array[], drained: () => void): void {
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.stream.write(bytes, (error) => {
      if (error == null) drained();
    });
  }

  terminate(graceful: boolean): void {
    if (graceful && !this.stream.destroyed) this.stream.end();
    else this.stream.close();
  }
}

/** Serves one SSE request on a raw HTTP/2 stream (`server.on('stream', ...)`). */
export async function handleHttp2Stream(
  hub: SubscriberHost,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  options: SubscribeOptions = {},
): Promise<void> {
  const url = String(headers[':path'] ?? '/');
  try {
    await subscribe(
      hub,
      url,
      headers['last-event-id'],
      headers['accept-encoding'],
      options,
      () => new Http2Transport(stream),
      () => ({ url, headers }),
    );
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
