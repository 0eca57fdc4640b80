/**
 * The encoder for `text/event-stream` (WHATWG HTML, "Server-sent events", section "Parsing an event
 * stream" read backwards). Every byte Crier sends goes through here, once per event: the server encodes an
 * event a single time and writes the same bytes to every subscriber.
 */

import { ProtocolError } from './errors.js';

/** One event as a publisher describes it. Every field is optional; an empty object encodes a bare blank line. */
export interface EventFields {
  /**
   * The payload. Split on CR, LF and CRLF into one `data:` line each; `''` is still one `data:` line.
   * Readers join the lines with LF, so CR and CRLF in data arrive as LF: the only change the format makes.
   */
  data?: string;
  /** The event type (`event:`). Must not contain CR, LF or NUL. */
  event?: string;
  /** The event ID (`id:`). Must not contain CR, LF or NUL. `''` resets the client's last event ID. */
  id?: string;
  /** The reconnection time in milliseconds (`retry:`): a non-negative integer. */
  retry?: number;
  /** A comment, ignored by clients; split into one `:` line per line. Heartbeats are comments. */
  comment?: string;
}

// Matches each line ending the parser recognises: CRLF first, so it counts as one.
const LINE_BREAK = /\r\n|\r|\n/;
const FORBIDDEN_IN_FIELD = /[\r\n\0]/;

const utf8 = new TextEncoder();

/**
 * Encodes one event to its wire form as a string: comments, `event:`, `id:`, `retry:`, `data:` lines,
 * then the blank line that makes the client dispatch it. Throws a {@link ProtocolError} for a field that
 * cannot be sent unchanged; it never alters a field to make it fit.
 */
export function encodeEventText(fields: EventFields): string {
  let out = '';
  if (fields.comment !== undefined) {
    checkWellFormed('comment', fields.comment);
    for (const line of fields.comment.split(LINE_BREAK)) out += line === '' ? ':\n' : ': ' + line + '\n';
  }
  if (fields.event !== undefined) out += 'event: ' + checkField('event', fields.event) + '\n';
  if (fields.id !== undefined) out += fields.id === '' ? 'id\n' : 'id: ' + checkField('id', fields.id) + '\n';
  if (fields.retry !== undefined) out += 'retry: ' + checkRetry(fields.retry) + '\n';
  if (fields.data !== undefined) {
    const data = fields.data;
    checkWellFormed('data', data);
    // Fast path: most payloads (JSON) have no line breaks at all.
    if (data.indexOf('\n') === -1 && data.indexOf('\r') === -1) out += 'data: ' + data + '\n';
    else for (const line of data.split(LINE_BREAK)) out += 'data: ' + line + '\n';
  }
  return out + '\n';
}

/** Encodes one event to UTF-8 bytes, ready to be written to any number of subscribers unchanged. */
export function encodeEvent(fields: EventFields): Uint8Array {
  return utf8.encode(encodeEventText(fields));
}

/** Encodes a comment line alone (a heartbeat): `: text\n\n`, or `:\n\n` for no text. */
export function encodeComment(text = ''): Uint8Array {
  return encodeEvent({ comment: text });
}

function checkField(name: 'id' | 'event', value: string): string {
  if (typeof value !== 'string') {
    throw new ProtocolError('INVALID_FIELD', `The event's ${name} must be a string, got ${typeof value}.`);
  }
  const bad = FORBIDDEN_IN_FIELD.exec(value);
  if (bad !== null) {
    const what = bad[0] === '\r' ? 'a carriage return (CR)' : bad[0] === '\n' ? 'a line feed (LF)' : 'a NUL';
    throw new ProtocolError(
      'INVALID_FIELD',
      `The event's ${name} contains ${what} at index ${bad.index}; ${name} must be a single line without NUL.`,
    );
  }
  checkWellFormed(name, value);
  return value;
}

function checkRetry(retry: number): number {
  if (!Number.isSafeInteger(retry) || retry < 0) {
    throw new ProtocolError(
      'INVALID_RETRY',
      `retry must be a non-negative integer of milliseconds, got ${retry}.`,
    );
  }
  return retry;
}

// A lone surrogate would be replaced by U+FFFD on the way to UTF-8: the client would not get what was sent.
function checkWellFormed(name: string, value: string): void {
  if (typeof value !== 'string') {
    throw new ProtocolError('INVALID_STRING', `The event's ${name} must be a string, got ${typeof value}.`);
  }
  if (!value.isWellFormed()) {
    throw new ProtocolError(
      'INVALID_STRING',
      `The event's ${name} contains a lone UTF-16 surrogate, which cannot be encoded as UTF-8 unchanged.`,
    );
  }
}
