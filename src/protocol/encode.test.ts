import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeComment, encodeEvent, encodeEventText } from './encode.js';
import { ProtocolError } from './errors.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function assertRejects(fn: () => unknown, code: string, message: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, 'a ProtocolError');
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe('encodeEvent', () => {
  test('encodes data as one data line and ends the event with a blank line', () => {
    assert.equal(text(encodeEvent({ data: 'hello' })), 'data: hello\n\n');
  });

  test('splits data on LF, CR and CRLF into one data line each', () => {
    assert.equal(text(encodeEvent({ data: 'a\nb\rc\r\nd' })), 'data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  test('keeps empty lines of data, including leading and trailing ones', () => {
    assert.equal(text(encodeEvent({ data: '\na\n' })), 'data: \ndata: a\ndata: \n\n');
    assert.equal(text(encodeEvent({ data: '\r\n\r\n' })), 'data: \ndata: \ndata: \n\n');
  });

  test('encodes an empty string as one data line', () => {
    assert.equal(text(encodeEvent({ data: '' })), 'data: \n\n');
  });

  test('keeps a leading space of data by always writing the separating space', () => {
    assert.equal(text(encodeEvent({ data: ' x' })), 'data:  x\n\n');
  });

  test('writes event, id and retry before the data', () => {
    assert.equal(
      text(encodeEvent({ data: 'd', event: 'score', id: '42', retry: 3000 })),
      'event: score\nid: 42\nretry: 3000\ndata: d\n\n',
    );
  });

  test('encodes an empty id as a bare id line, which resets the client last event ID', () => {
    assert.equal(text(encodeEvent({ id: '', data: 'x' })), 'id\ndata: x\n\n');
  });

  test('encodes Unicode data as UTF-8', () => {
    const bytes = encodeEvent({ data: 'é€😀' });
    assert.deepEqual([...bytes.slice(6, 6 + 9)], [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
  });

  test('keeps NUL inside data, where the format allows it', () => {
    assert.equal(text(encodeEvent({ data: 'a\0b' })), 'data: a\0b\n\n');
  });

  for (const [name, value, what] of [
    ['id', 'a\nb', /line feed/],
    ['id', 'a\rb', /carriage return/],
    ['id', 'a\0b', /NUL/],
    ['event', 'x\ny', /line feed/],
    ['event', 'x\ry', /carriage return/],
    ['event', 'x\0y', /NUL/],
  ] as const) {
    test(`rejects ${name} containing ${JSON.stringify(value)} with INVALID_FIELD instead of changing it`, () => {
      assertRejects(() => encodeEvent({ [name]: value, data: 'x' }), 'INVALID_FIELD', what);
    });
  }

  for (const retry of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
    test(`rejects retry ${retry} with INVALID_RETRY`, () => {
      assertRejects(() => encodeEvent({ retry }), 'INVALID_RETRY', /non-negative integer/);
    });
  }

  test('accepts retry 0', () => {
    assert.equal(text(encodeEvent({ retry: 0 })), 'retry: 0\n\n');
  });

  test('rejects a lone surrogate, which UTF-8 cannot carry unchanged', () => {
    assertRejects(() => encodeEvent({ data: 'a\ud800b' }), 'INVALID_STRING', /surrogate/);
    assertRejects(() => encodeEvent({ id: '\udc00' }), 'INVALID_STRING', /surrogate/);
  });

  test('rejects a field that is not a string', () => {
    assertRejects(() => encodeEvent({ id: 5 as unknown as string }), 'INVALID_FIELD', /must be a string/);
    assertRejects(() => encodeEvent({ data: {} as unknown as string }), 'INVALID_STRING', /must be a string/);
  });

  test('splits comments into one colon line per line', () => {
    assert.equal(text(encodeEvent({ comment: 'one\ntwo\r\nthree' })), ': one\n: two\n: three\n\n');
  });

  test('encodes an empty comment as a bare colon, the smallest heartbeat', () => {
    assert.equal(text(encodeComment()), ':\n\n');
    assert.equal(text(encodeComment('ping')), ': ping\n\n');
  });

  test('returns the same text from encodeEventText as the bytes of encodeEvent', () => {
    const fields = { data: 'a\nb', id: '7', event: 'e', comment: 'c' };
    assert.equal(encodeEventText(fields), text(encodeEvent(fields)));
  });
});
