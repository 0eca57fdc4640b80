/**
 * A second opinion: the widely used `eventsource-parser` reads Crier's encoded output exactly as Crier's
 * parser does. Crier's parser follows the WHATWG algorithm; if the two ever disagree, one has a bug.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { concat, cutsFor, dispatchedEvent, split } from './arbitraries.test-helpers.js';
import { encodeEvent } from './encode.js';
import { EventStreamParser, type ParsedEvent } from './parse.js';

interface Reading {
  events: { type: string; data: string; lastEventId: string }[];
  retries: number[];
  comments: string[];
}

function readWithCrier(chunks: readonly Uint8Array[]): Reading {
  const reading: Reading = { events: [], retries: [], comments: [] };
  const parser = new EventStreamParser({
    onEvent: (e: ParsedEvent) => reading.events.push(e),
    onRetry: (r) => reading.retries.push(r),
    // eventsource-parser drops one leading space of a comment; compare like with like.
    onComment: (c) => reading.comments.push(c.startsWith(' ') ? c.slice(1) : c),
  });
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return reading;
}

function readWithEventsourceParser(chunks: readonly Uint8Array[]): Reading {
  const reading: Reading = { events: [], retries: [], comments: [] };
  // eventsource-parser reports the id only on the event that carried it; the WHATWG last event ID sticks.
  let lastEventId = '';
  const parser = createParser({
    onEvent: (e: EventSourceMessage) => {
      if (e.id !== undefined) lastEventId = e.id;
      reading.events.push({ type: e.event ?? 'message', data: e.data, lastEventId });
    },
    onRetry: (r) => reading.retries.push(r),
    onComment: (c) => reading.comments.push(c),
  });
  const decoder = new TextDecoder();
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  return reading;
}

describe('eventsource-parser cross-check', () => {
  test('reads Crier-encoded streams exactly as Crier parser does, for any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(dispatchedEvent, { minLength: 1, maxLength: 8 }).chain((events) => {
          const bytes = concat(events.map(encodeEvent));
          return fc.tuple(fc.constant(bytes), cutsFor(bytes.length));
        }),
        ([bytes, cuts]) => {
          const chunks = split(bytes, cuts);
          assert.deepEqual(readWithEventsourceParser(chunks), readWithCrier(chunks));
        },
      ),
      { numRuns: 800 },
    );
  });

  test('agrees on a hand-picked stream of edge cases', () => {
    const bytes = concat([
      encodeEvent({ comment: 'hello\nworld', retry: 1500 }),
      encodeEvent({ data: '', id: '1' }),
      encodeEvent({ data: ' leading space', event: ' spaced type' }),
      encodeEvent({ data: 'a\r\nb\rc\nd', event: 'multi' }),
      encodeEvent({ data: 'é€😀\ufeff', id: '' }),
      encodeEvent({ data: 'colon: inside', id: 'x:y' }),
    ]);
    const chunks = split(bytes, [3, 9, 10, 31, 32, 33]);
    const crier = readWithCrier(chunks);
    assert.deepEqual(readWithEventsourceParser(chunks), crier);
    assert.equal(crier.events.length, 5);
  });
});
