/**
 * `PreparedEvent`: an event encoded ONCE, shared by every connection it goes to. HTTP/1.1 connections
 * write its `chunk` (the SSE bytes already wrapped in chunked transfer-encoding framing, built lazily the
 * first time an HTTP/1.1 subscriber needs it); HTTP/2 and Fetch connections write `payload`; connections
 * with a content coding write `deflated` (compressed once, built the first time one needs it).
 */
import type { StoredUpdate } from '../engines/engine.js';
import { type EventFields, encodeEventText } from '../protocol/encode.js';
import { frameChunk } from './chunk.js';
import { type Deflated, deflate, store } from './compression.js';

export class PreparedEvent {
  /** The `text/event-stream` bytes of the event. */
  readonly payload: Buffer;
  /** The stored update it encodes; null for control messages (heartbeats, `retry:`, the replay notice). */
  readonly update: StoredUpdate | null;
  /**
   * The hub's fan-out sequence number (consecutive across live updates); -1 for events prepared for one
   * connection only (replay, control). Lets the hub share one joined buffer between connections.
   */
  seq = -1;
  private framed: Buffer | null = null;
  private compressed: Deflated | null = null;

  constructor(payload: Buffer, update: StoredUpdate | null = null) {
    this.payload = payload;
    this.update = update;
  }

  static ofUpdate(update: StoredUpdate): PreparedEvent {
    const fields: EventFields = { id: update.id, data: update.data };
    if (update.event !== undefined) fields.event = update.event;
    if (update.retry !== undefined) fields.retry = update.retry;
    return new PreparedEvent(Buffer.from(encodeEventText(fields), 'utf8'), update);
  }

  static ofFields(fields: EventFields): PreparedEvent {
    return new PreparedEvent(Buffer.from(encodeEventText(fields), 'utf8'));
  }

  /** The payload as one HTTP/1.1 chunk: `<hex length>\r\n<payload>\r\n`. Built once, then shared. */
  get chunk(): Buffer {
    if (this.framed === null) this.framed = frameChunk(this.payload);
    return this.framed;
  }

  /**
   * The payload as an independent raw-deflate block (compression.ts), for compressed streams: built once,
   * the first time a connection that negotiated a coding needs it, then shared by all of them. An event of
   * its own block: a private update's compressed size depends on nothing else. Control messages (`retry:`,
   * heartbeats, notices, messages to one connection) are stored blocks: small, and no compressor per connect.
   */
  get deflated(): Deflated {
    if (this.compressed === null)
      this.compressed = this.update === null ? store(this.payload) : deflate(this.payload);
    return this.compressed;
  }
}

/** Concatenates the `payload`s (or `chunk`s) of several events into one buffer for one write. */
export function joinEvents(events: readonly PreparedEvent[], framed: boolean): Buffer {
  let total = 0;
  for (const e of events) total += framed ? e.chunk.length : e.payload.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of events) {
    const b = framed ? e.chunk : e.payload;
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * The payloads of several events as ONE HTTP/1.1 chunk (a replay slice): one copy, and no per-event
 * framed buffer is built and kept for history that only replays read.
 */
export function joinAsChunk(events: readonly PreparedEvent[]): Buffer {
  let total = 0;
  for (const e of events) total += e.payload.length;
  const size = total.toString(16);
  const out = Buffer.allocUnsafe(size.length + 4 + total);
  out.write(size, 0, 'latin1');
  let at = size.length;
  out[at++] = 13;
  out[at++] = 10;
  for (const e of events) {
    out.set(e.payload, at);
    at += e.payload.length;
  }
  out[at++] = 13;
  out[at] = 10;
  return out;
}

/**
 * The bytes of one or more events for one write: an event's own (shared) bytes, or several joined — framed
 * as ONE chunk (`joinAsChunk`), so a replay's first slice builds and keeps no per-event chunk. Not for
 * none: an empty chunk would end the body.
 */
export function eventBytes(events: readonly PreparedEvent[], framed: boolean): Buffer {
  if (events.length === 1) return framed ? events[0]!.chunk : events[0]!.payload;
  return framed ? joinAsChunk(events) : joinEvents(events, false);
}
