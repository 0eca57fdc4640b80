import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SseScanner } from './scan.js';

function scanAll(parts: Uint8Array[], captureIds = false) {
  const events: number[] = [];
  const heads: Array<[number, boolean]> = [];
  const ends: string[] = [];
  const scanner = new SseScanner(
    {
      onHead: (status, chunked) => heads.push([status, chunked]),
      onEvent: (t) => events.push(t),
      onEnd: (reason) => ends.push(reason),
    },
    captureIds,
  );
  for (const p of parts) scanner.feed(p);
  return { events, heads, ends, scanner };
}

/** Every way of cutting `bytes` in two, then in three at a stride. */
function* splits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
  for (let i = 0; i <= bytes.length; i += 3) {
    for (let j = i; j <= bytes.length; j += 5)
      yield [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
  }
}

function chunked(...pieces: string[]): string {
  return pieces.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('');
}

const HEAD_CHUNKED =
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n';
const HEAD_PLAIN = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n';

describe('SseScanner', () => {
  test('reads the status, chunked framing and the "t" of each event', () => {
    const wire = HEAD_CHUNKED + chunked('data: {"t":1700000000000001}\n\n', 'data: {"t":42,"x":1}\n\n');
    const { events, heads } = scanAll([Buffer.from(wire)]);
    assert.deepEqual(heads, [[200, true]]);
    assert.deepEqual(events, [1700000000000001, 42]);
  });

  test('chunked framing and events split at every byte give the same events', () => {
    const wire = Buffer.from(
      HEAD_CHUNKED +
        chunked(
          ': comment\n\nid: 7\nevent: tick\ndata: {"t": 123}\n\n',
          'data: {"t":4',
          '56}\r\n\r',
          '\ndata: no time\n\n',
        ) +
        chunked('data: {"a":"\\"t\\":9","t":789}\rdata: more\r\r'),
    );
    for (const parts of splits(wire)) {
      const { events, heads } = scanAll(parts);
      assert.deepEqual(heads, [[200, true]], String(parts.map((p) => p.length)));
      assert.deepEqual(events, [123, 456, -1, 789], String(parts.map((p) => p.length)));
    }
  });

  test('an event spread over several chunks of a non-chunked body is counted once', () => {
    const wire = Buffer.from(HEAD_PLAIN + 'data: {"t":1}\n\ndata\n\ndata:x\ndata:{"t":2}\n\nevent: only\n\n');
    for (const parts of splits(wire)) {
      const { events, heads } = scanAll(parts);
      assert.deepEqual(heads, [[200, false]]);
      assert.deepEqual(events, [1, -1, 2]);
    }
  });

  test('events without data, and fields that only look like data, are not events', () => {
    const wire = Buffer.from(
      HEAD_PLAIN + 'id: 1\n\ndatax: {"t":5}\n\ndat: 1\n\n: data: {"t":6}\n\nretry: 10\n\n',
    );
    assert.deepEqual(scanAll([wire]).events, []);
  });

  test('keeps the last event id when asked to', () => {
    const wire = Buffer.from(HEAD_CHUNKED + chunked('id: a1\ndata: x\n\n', 'id:b2\ndata: y\n\n'));
    for (const parts of splits(wire)) {
      const { scanner } = scanAll(parts, true);
      assert.equal(scanner.lastEventId, 'b2');
      assert.equal(scanner.events, 2);
    }
  });

  test('reports a non-200 status, the last chunk and a malformed chunk size', () => {
    const notFound = scanAll([Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')]);
    assert.deepEqual(notFound.heads, [[404, false]]);
    const last = scanAll([Buffer.from(HEAD_CHUNKED + chunked('data: 1\n\n') + '0\r\n\r\n')]);
    assert.deepEqual(last.ends, ['last-chunk']);
    assert.equal(last.events.length, 1);
    const bad = scanAll([Buffer.from(HEAD_CHUNKED + 'zz\r\ndata: 1\n\n')]);
    assert.deepEqual(bad.ends, ['malformed']);
    assert.deepEqual(bad.events, []);
  });
});
