/**
 * fast-check generators of events and of ways to cut a byte stream, shared by the protocol's property tests.
 */
import fc from 'fast-check';
import type { EventFields } from './encode.js';
import type { ParsedEvent } from './parse.js';

/** Text rich in the characters that matter: line breaks of every kind, colons, spaces, NUL, BOM, astral. */
const tricky = fc.constantFrom(
  '\n',
  '\r',
  '\r\n',
  '\n\r',
  ':',
  ' ',
  '  ',
  '\0',
  '\ufeff',
  'é',
  '€',
  '😀',
  'data: x',
);
export const richText = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), tricky), { maxLength: 12 })
  .map((parts) => parts.join(''));

/** A single-line value: no CR, LF or NUL, as `id` and `event` must be. */
export const fieldText = richText.map((s) => s.replace(/[\r\n\0]/g, ''));

export interface EventCase {
  fields: EventFields;
}

/** An event with data (so every one is dispatched) and any mix of the other fields. */
export const dispatchedEvent = fc.record(
  {
    data: richText,
    event: fieldText,
    id: fieldText,
    retry: fc.nat({ max: 10_000_000 }),
    comment: richText,
  },
  { requiredKeys: ['data'] },
);

/** Any event, including ones without data that only set the ID, retry, or carry a comment. */
export const anyEvent = fc.record(
  { data: richText, event: fieldText, id: fieldText, retry: fc.nat({ max: 10_000_000 }), comment: richText },
  { requiredKeys: [] },
);

/** Cut points for a stream of `length` bytes: every way of splitting it into chunks is reachable. */
export function cutsFor(length: number) {
  return fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, length - 1) }), { maxLength: Math.min(length, 40) })
    .map((cuts) => cuts.filter((c) => c < length).sort((a, b) => a - b));
}

export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(at, cut));
    at = cut;
  }
  chunks.push(bytes.subarray(at));
  return chunks;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * What the WHATWG model says a reader dispatches for these events, in order. The format has one line break:
 * CR and CRLF in data arrive as LF (a reader cannot tell them apart), everything else arrives unchanged.
 */
export function expectedEvents(events: readonly EventFields[]): {
  events: ParsedEvent[];
  lastEventId: string;
} {
  const out: ParsedEvent[] = [];
  let lastEventId = '';
  for (const e of events) {
    if (e.id !== undefined) lastEventId = e.id;
    if (e.data !== undefined)
      out.push({ type: e.event || 'message', data: e.data.replace(/\r\n|\r/g, '\n'), lastEventId });
  }
  return { events: out, lastEventId };
}
