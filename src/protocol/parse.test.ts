import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError } from './errors.js';
import { EventStreamParser, type ParsedEvent, parseEventStream } from './parse.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Parses `chunks` fed one by one (strings are UTF-8 encoded; arrays are raw bytes). */
function parseChunks(chunks: (string | number[])[]) {
  const events: ParsedEvent[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const parser = new EventStreamParser({
    onEvent: (e) => events.push(e),
    onRetry: (r) => retries.push(r),
    onComment: (c) => comments.push(c),
  });
  for (const chunk of chunks) parser.push(typeof chunk === 'string' ? utf8(chunk) : Uint8Array.from(chunk));
  parser.end();
  return { events, retries, comments, lastEventId: parser.lastEventId };
}

const parse = (s: string) => parseChunks([s]);

describe('EventStreamParser', () => {
  test('dispatches an event on a blank line with type message', () => {
    assert.deepEqual(parse('data: hi\n\n').events, [{ type: 'message', data: 'hi', lastEventId: '' }]);
  });

  test('joins several data lines with LF and removes one trailing LF', () => {
    assert.deepEqual(parse('data: a\ndata: b\ndata\n\n').events[0]?.data, 'a\nb\n');
  });

  test('accepts LF, CR and CRLF line endings, mixed in one stream', () => {
    const { events } = parse('data: a\rdata: b\r\ndata: c\n\revent: x\r\ndata: d\r\r\n');
    assert.deepEqual(
      events.map((e) => [e.type, e.data]),
      [
        ['message', 'a\nb\nc'],
        ['x', 'd'],
      ],
    );
  });

  test('treats a CR ending one chunk and an LF starting the next as one line ending', () => {
    const { events } = parseChunks(['data: a\r', '\ndata: b\r', '\n\r', '\n']);
    assert.deepEqual(
      events.map((e) => e.data),
      ['a\nb'],
    );
  });

  test('treats a CR at the end of a chunk followed by another CR as two line endings', () => {
    const { events } = parseChunks(['data: a\r', '\r']);
    assert.deepEqual(
      events.map((e) => e.data),
      ['a'],
    );
  });

  test('decodes a multi-byte UTF-8 character split between chunks', () => {
    const bytes = [...utf8('data: 😀é\n\n')];
    for (let cut = 1; cut < bytes.length; cut++) {
      const { events } = parseChunks([bytes.slice(0, cut), bytes.slice(cut)]);
      assert.deepEqual(events[0]?.data, '😀é', `cut at byte ${cut}`);
    }
  });

  test('decodes every byte fed alone', () => {
    const { events } = parseChunks([...utf8('id: 1\ndata: 😀\r\n\r\n')].map((b) => [b]));
    assert.deepEqual(events, [{ type: 'message', data: '😀', lastEventId: '1' }]);
  });

  test('replaces invalid UTF-8 with U+FFFD rather than failing', () => {
    const { events } = parseChunks([[...utf8('data: a'), 0xff, 0xfe, ...utf8('b\n\n')]]);
    assert.equal(events[0]?.data, 'a\ufffd\ufffdb');
  });

  test('strips one leading byte order mark and keeps a second one', () => {
    const bom = [0xef, 0xbb, 0xbf];
    assert.equal(parseChunks([[...bom, ...utf8('data: x\n\n')]]).events[0]?.data, 'x');
    // With two BOMs, the second is part of the first line's field name, so "\ufeffdata" is ignored.
    assert.deepEqual(parseChunks([[...bom, ...bom, ...utf8('data: x\n\n')]]).events, []);
    // A BOM later in the stream is content.
    assert.equal(parseChunks([utf8('data: \ufeffx\n\n') as unknown as number[]]).events[0]?.data, '\ufeffx');
  });

  test('strips a leading BOM split across chunks', () => {
    assert.equal(parseChunks([[0xef], [0xbb], [0xbf, ...utf8('data: x\n\n')]]).events[0]?.data, 'x');
  });

  test('removes exactly one space after the colon, and only a space', () => {
    const { events } = parse('data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\n');
    assert.deepEqual(
      events.map((e) => e.data),
      ['x', 'x', ' x', '\tx'],
    );
  });

  test('treats a line with no colon as a field with an empty value', () => {
    const { events } = parse('data\n\ndata\ndata\n\n');
    assert.deepEqual(
      events.map((e) => e.data),
      ['', '\n'],
    );
  });

  test('splits field and value at the first colon only', () => {
    assert.equal(parse('data: a:b: c\n\n').events[0]?.data, 'a:b: c');
  });

  test('reports comment lines and does not dispatch them', () => {
    const { events, comments } = parse(':\n: ping\n:no space\n\n');
    assert.deepEqual(events, []);
    assert.deepEqual(comments, ['', ' ping', 'no space']);
  });

  test('ignores unknown fields and compares field names without case folding', () => {
    const { events } = parse('foo: bar\nDATA: x\nData: y\ndata: z\nEvent: e\n\n');
    assert.deepEqual(events, [{ type: 'message', data: 'z', lastEventId: '' }]);
  });

  test('sets the event type from the event field and resets it after dispatch', () => {
    const { events } = parse('event: goal\ndata: 1\n\ndata: 2\n\n');
    assert.deepEqual(
      events.map((e) => e.type),
      ['goal', 'message'],
    );
  });

  test('uses message for an empty event field', () => {
    assert.equal(parse('event:\ndata: x\n\n').events[0]?.type, 'message');
  });

  test('does not dispatch an event with an empty data buffer, and resets its type', () => {
    const { events } = parse('event: a\n\ndata: x\n\n');
    assert.deepEqual(events, [{ type: 'message', data: 'x', lastEventId: '' }]);
  });

  test('keeps the last event ID across events until a new id sets it', () => {
    const { events } = parse('id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n');
    assert.deepEqual(
      events.map((e) => e.lastEventId),
      ['1', '1', '2'],
    );
  });

  test('resets the last event ID with an empty id field, with or without a colon', () => {
    assert.deepEqual(
      parse('id: 1\ndata: a\n\nid\ndata: b\n\nid: 3\ndata: c\n\nid:\ndata: d\n\n').events.map(
        (e) => e.lastEventId,
      ),
      ['1', '', '3', ''],
    );
  });

  test('ignores an id containing NULL', () => {
    const { events } = parse('id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n');
    assert.deepEqual(
      events.map((e) => e.lastEventId),
      ['1', '1'],
    );
  });

  test('updates the last event ID on a blank line even when no event is dispatched', () => {
    assert.equal(parse('id: 9\n\n').lastEventId, '9');
    assert.equal(parse('id: 9\n').lastEventId, '', 'not before the blank line');
  });

  test('sets the reconnection time only from a retry made of ASCII digits', () => {
    const { retries } = parse(
      'retry: 1000\nretry: 10x\nretry: -1\nretry: 1.5\nretry:\nretry: ３\nretry:250\n\n',
    );
    assert.deepEqual(retries, [1000, 250]);
  });

  test('discards an incomplete event at the end of the stream', () => {
    const { events } = parse('data: complete\n\ndata: incomplete\n');
    assert.deepEqual(
      events.map((e) => e.data),
      ['complete'],
    );
    assert.deepEqual(parse('data: no line ending').events, []);
  });

  test('handles an empty chunk and a chunk of only a line ending', () => {
    const { events } = parseChunks(['', 'data: x', '', '\n', '', '\n']);
    assert.deepEqual(
      events.map((e) => e.data),
      ['x'],
    );
  });

  test('fails with LINE_TOO_LONG instead of buffering a line without end', () => {
    const parser = new EventStreamParser({ onEvent: () => {} }, { maxLineLength: 16 });
    parser.push(utf8('data: 0123456789'));
    assert.throws(
      () => parser.push(utf8('0123456789')),
      (e: unknown) =>
        e instanceof ProtocolError && e.code === 'LINE_TOO_LONG' && /longer than 16/.test(e.message),
    );
    assert.throws(
      () => parser.push(utf8('\n\n')),
      (e: unknown) => (e as ProtocolError).code === 'PARSER_CLOSED',
    );
  });

  test('fails with LINE_TOO_LONG for a complete line over the limit in one chunk', () => {
    const parser = new EventStreamParser({ onEvent: () => {} }, { maxLineLength: 8 });
    assert.throws(
      () => parser.push(utf8('data: 0123456789\n\n')),
      (e: unknown) => (e as ProtocolError).code === 'LINE_TOO_LONG',
    );
  });

  test('fails with EVENT_TOO_LARGE when one event has too much data', () => {
    const events: ParsedEvent[] = [];
    const parser = new EventStreamParser({ onEvent: (e) => events.push(e) }, { maxEventSize: 10 });
    parser.push(utf8('data: 1234\n\n'));
    assert.throws(
      () => parser.push(utf8('data: 12345\ndata: 67890\n')),
      (e: unknown) => e instanceof ProtocolError && e.code === 'EVENT_TOO_LARGE',
    );
    assert.deepEqual(
      events.map((e) => e.data),
      ['1234'],
    );
  });

  test('parseEventStream returns events, retries, comments and the last event ID', () => {
    const result = parseEventStream(utf8(': hi\nretry: 5\nid: 7\nevent: t\ndata: d\n\n'));
    assert.deepEqual(result, {
      events: [{ type: 't', data: 'd', lastEventId: '7' }],
      retries: [5],
      comments: [' hi'],
      lastEventId: '7',
    });
  });
});
