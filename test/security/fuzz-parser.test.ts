/**
 * The SSE parser reads bytes from the network (the Node client, the load generator, a browser through the
 * client): arbitrary bytes cut at arbitrary places must end in events or a ProtocolError, never another
 * throw, and the text it holds between chunks must never exceed its limits, whatever the input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { EventStreamParser, type ParsedEvent, ProtocolError } from '../../src/protocol/index.js';

const LIMITS = { maxLineLength: 64, maxEventSize: 256 };

/** Bytes rich in what matters to the parser: line endings, colons, field names, multi-byte UTF-8, BOM. */
const streamBytes = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom(
        ...[
          '\r',
          '\n',
          '\r\n',
          ':',
          ' ',
          'data:',
          'data: x',
          'id:',
          'event:',
          'retry:',
          '\ufeff',
          'é',
          '😀',
          '\0',
        ].map((s) => new TextEncoder().encode(s)),
        new Uint8Array([0xe2, 0x82]), // a cut multi-byte character
        new Uint8Array([0xff, 0xfe]),
        new TextEncoder().encode('x'.repeat(70)), // longer than the line limit
        new TextEncoder().encode(`data: ${'y'.repeat(60)}\n`), // fills the event buffer
      ),
    ),
    { maxLength: 60 },
  )
  .map((parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  });

const cuts = (length: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max: length }), { maxLength: 30 }).map((c) => c.sort((a, b) => a - b));

interface Outcome {
  events: ParsedEvent[];
  error: string | undefined;
}

/** Feeds the chunks; checks the held buffers after every push. */
function feed(chunks: Uint8Array[]): Outcome {
  const events: ParsedEvent[] = [];
  const parser = new EventStreamParser({ onEvent: (e) => events.push(e) }, LIMITS);
  const held = parser as unknown as { pending: string; dataBuffer: string };
  let error: string | undefined;
  for (const chunk of chunks) {
    try {
      parser.push(chunk);
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `only ProtocolError is thrown, got ${String(e)}`);
      error = e.code;
      break;
    }
    assert.ok(held.pending.length <= LIMITS.maxLineLength, `pending ${held.pending.length}`);
    assert.ok(held.dataBuffer.length <= LIMITS.maxEventSize, `data buffer ${held.dataBuffer.length}`);
  }
  if (error === undefined) parser.end();
  else {
    // A failed parser stays failed: the next push throws PARSER_CLOSED, still a ProtocolError.
    assert.throws(
      () => parser.push(new Uint8Array([0x0a])),
      (e) => e instanceof ProtocolError && e.code === 'PARSER_CLOSED',
    );
  }
  for (const e of events) {
    assert.ok(e.data.length <= LIMITS.maxEventSize);
    assert.ok(!/[\r\n]/.test(e.type) && !/[\r\n\0]/.test(e.lastEventId));
  }
  return { events, error };
}

const split = (bytes: Uint8Array, at: number[]) => {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
};

describe('fuzzing the SSE parser', () => {
  test('arbitrary bytes cut arbitrarily: only ProtocolError, bounded buffers, same outcome as one chunk', () => {
    fc.assert(
      fc.property(
        streamBytes.chain((bytes) => fc.tuple(fc.constant(bytes), cuts(bytes.length))),
        ([bytes, at]) => {
          const whole = feed([bytes]);
          const chunked = feed(split(bytes, at));
          assert.deepEqual(chunked, whole, 'chunk boundaries change nothing, failures included');
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('a stream without line endings fails at the line limit instead of buffering without bound', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 50 }), { minLength: 1, maxLength: 50 }),
        (parts) => {
          const noBreaks = parts.map((p) => p.map((b) => (b === 0x0a || b === 0x0d ? 0x61 : b)));
          const all = new Uint8Array(noBreaks.reduce((n, p) => n + p.length, 0));
          let at = 0;
          for (const p of noBreaks) {
            all.set(p, at);
            at += p.length;
          }
          // The decoded length, give or take one U+FFFD for a character cut at the very end.
          const length = new TextDecoder().decode(all).length;
          const { error } = feed(noBreaks);
          if (length > LIMITS.maxLineLength + 1) assert.equal(error, 'LINE_TOO_LONG', `${length} characters`);
          if (length <= LIMITS.maxLineLength) assert.equal(error, undefined, `${length} characters`);
        },
      ),
      { numRuns: 500 },
    );
  });
});
