import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import { encodeEventText } from '../protocol/encode.js';
import { startHub } from './client.test-helpers.js';
import { deflate, deflateEvents, negotiateEncoding, StreamCoder } from './compression.js';
import { connectCompressed } from './compression.test-helpers.js';
import { PreparedEvent } from './prepared.js';

describe('Accept-Encoding negotiation (RFC 9110 §12.5.3)', () => {
  const both = ['gzip', 'deflate'] as const;
  test('picks the acceptable coding with the highest q-value, ties in the server’s order', () => {
    assert.equal(negotiateEncoding('gzip, deflate, br', both), 'gzip');
    assert.equal(negotiateEncoding('deflate, gzip', both), 'gzip');
    assert.equal(negotiateEncoding('gzip;q=0.5, deflate;q=0.8', both), 'deflate');
    assert.equal(negotiateEncoding('GZIP;Q=1.0', both), 'gzip');
    assert.equal(negotiateEncoding('x-gzip', both), 'gzip');
    assert.equal(negotiateEncoding('deflate', ['gzip']), null);
    assert.equal(negotiateEncoding(['br', 'deflate;q=0.1'], both), 'deflate');
  });

  test('`*` stands for codings not named; q=0 excludes; identity preferred wins', () => {
    assert.equal(negotiateEncoding('*', both), 'gzip');
    assert.equal(negotiateEncoding('gzip;q=0, *', both), 'deflate');
    assert.equal(negotiateEncoding('*;q=0', both), null);
    assert.equal(negotiateEncoding('identity;q=0, deflate', both), 'deflate');
    assert.equal(negotiateEncoding('gzip;q=0.2, identity', both), null);
    assert.equal(negotiateEncoding('gzip;q=0, deflate;q=0', both), null);
  });

  test('no header, an empty one, unknown codings or a malformed one: uncompressed, never an error', () => {
    for (const header of [
      undefined,
      '',
      'identity',
      'br, zstd',
      'gzip;q=2',
      'gzip;q=0.1234',
      'gzip;q',
      'gzip;q=abc',
      'gz ip',
      'gzip;;',
      '"gzip"',
    ]) {
      assert.equal(negotiateEncoding(header, both), null, String(header));
    }
    assert.equal(negotiateEncoding('gzip', []), null);
  });
});

describe('Blocks deflated once', () => {
  const events = [
    PreparedEvent.ofFields({ id: '1', data: '{"symbol":"AAPL","price":189.23}' }),
    PreparedEvent.ofFields({ id: '2', data: '{"symbol":"MSFT","price":402.11}' }),
    PreparedEvent.ofFields({ id: '3', data: '{"symbol":"AAPL","price":189.25}' }),
  ];
  const plain = Buffer.concat(events.map((e) => e.payload));

  for (const coding of ['gzip', 'deflate'] as const) {
    test(`${coding}: a header, shared blocks in any order and count, and the trailer decode with node:zlib`, () => {
      const coder = new StreamCoder(coding);
      const parts = [coder.open(events[0]!.deflated)];
      for (const d of [deflateEvents(events.slice(1)), events[2]!.deflated, deflate(Buffer.alloc(0))]) {
        coder.add(d);
        parts.push(d.block);
      }
      parts.push(coder.trailer());
      const body = Buffer.concat(parts);
      const decoded = coding === 'gzip' ? zlib.gunzipSync(body) : zlib.inflateSync(body);
      assert.equal(decoded.toString(), Buffer.concat([plain, events[2]!.payload]).toString());
    });
  }

  test('a block ends byte-aligned and not final: decodable after any other block, dictionary reset', () => {
    const a = events[0]!.deflated.block;
    assert.deepEqual([...a.subarray(-4)], [0, 0, 0xff, 0xff]);
    const decoded = zlib.inflateRawSync(Buffer.concat([a, a, Buffer.from([3, 0])]));
    assert.equal(decoded.toString(), events[0]!.payload.toString().repeat(2));
  });

  test('a private update is a block of its own: its bytes do not depend on the events around it', () => {
    const secret = PreparedEvent.ofUpdate({
      id: 'p',
      topics: ['t'],
      data: 'token=s3cr3t-7f1c',
      private: true,
      epoch: 'e',
      offset: 5,
    } as never);
    const guesses = ['token=s3cr3t-7f1c', 'token=zzzzzzzzzzz'];
    for (const guess of guesses) {
      const pub = PreparedEvent.ofFields({ id: 'a', data: guess });
      const d = deflateEvents([pub, secret, pub]);
      const own = zlib.deflateRawSync(secret.payload, {
        windowBits: 12,
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
      assert.ok(d.block.includes(own), `the private block is there verbatim with public data ${guess}`);
      assert.equal(d.block.length, pub.deflated.block.length * 2 + own.length);
    }
  });
});
