import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  anyEvent,
  concat,
  cutsFor,
  dispatchedEvent,
  expectedEvents,
  split,
} from './arbitraries.test-helpers.js';
import { encodeEvent } from './encode.js';
import { EventStreamParser, type ParsedEvent } from './parse.js';

function parseChunks(chunks: readonly Uint8Array[]) {
  const events: ParsedEvent[] = [];
  const retries: number[] = [];
  const parser = new EventStreamParser({ onEvent: (e) => events.push(e), onRetry: (r) => retries.push(r) });
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { events, retries, lastEventId: parser.lastEventId };
}

describe('encode then parse', () => {
  test('returns every event unchanged, however the byte stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(anyEvent, { maxLength: 8 }).chain((events) => {
          const bytes = concat(events.map(encodeEvent));
          return fc.tuple(fc.constant(events), fc.constant(bytes), cutsFor(bytes.length));
        }),
        ([events, bytes, cuts]) => {
          const parsed = parseChunks(split(bytes, cuts));
          const expected = expectedEvents(events);
          assert.deepEqual(parsed.events, expected.events);
          assert.equal(parsed.lastEventId, expected.lastEventId);
          assert.deepEqual(
            parsed.retries,
            events.flatMap((e) => (e.retry === undefined ? [] : [e.retry])),
          );
        },
      ),
      { numRuns: 600 },
    );
  });

  test('returns the same events for every single cut point of a tricky stream', () => {
    fc.assert(
      fc.property(fc.array(dispatchedEvent, { minLength: 1, maxLength: 3 }), (events) => {
        const bytes = concat(events.map(encodeEvent));
        const expected = expectedEvents(events).events;
        for (let cut = 0; cut <= bytes.length; cut++) {
          assert.deepEqual(parseChunks([bytes.subarray(0, cut), bytes.subarray(cut)]).events, expected);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('returns the same events when the stream arrives one byte at a time', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 5 }), (events) => {
        const bytes = concat(events.map(encodeEvent));
        const chunks = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
        assert.deepEqual(parseChunks(chunks).events, expectedEvents(events).events);
      }),
      { numRuns: 200 },
    );
  });

  test('keeps long data with many line breaks of every kind intact', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} é😀`);
    const data = lines.map((l, i) => l + ['\n', '\r', '\r\n'][i % 3]).join('');
    const bytes = encodeEvent({ data, id: 'big' });
    const parsed = parseChunks(split(bytes, [1, 100, 4097, 4098, bytes.length - 1]));
    assert.equal(parsed.events.length, 1);
    assert.equal(parsed.events[0]?.data, data.replace(/\r\n|\r/g, '\n'));
  });
});
