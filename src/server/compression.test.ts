import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import type { StoredUpdate } from '../engines/engine.js';
import { EventStreamParser } from '../protocol/parse.js';
import { startHub } from './client.test-helpers.js';
import { deflate, deflateEvents, negotiateEncoding, StreamCoder, store } from './compression.js';
import { connectCompressed } from './compression.test-helpers.js';
import { Hub } from './hub.js';
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

/** An update's event, as the hub prepares one (a stored update; control messages are `ofFields`). */
const update = (id: string, data: string, isPrivate = false) =>
  PreparedEvent.ofUpdate({
    id,
    topics: ['t'],
    data,
    epoch: 'e',
    offset: 1,
    time: 0,
    ...(isPrivate ? { private: true } : {}),
  } as StoredUpdate);

describe('Blocks deflated once', () => {
  const events = [
    update('1', '{"symbol":"AAPL","price":189.23}'),
    update('2', '{"symbol":"MSFT","price":402.11}'),
    update('3', '{"symbol":"AAPL","price":189.25}'),
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

  test('a block shared by many connections keeps every one’s CRC-32 right (the table past a few uses)', () => {
    const shared = update('9', '{"symbol":"QNX","price":101.5}'.repeat(7));
    const coders = Array.from({ length: 40 }, () => new StreamCoder('gzip'));
    const bodies = coders.map((c, i) => [c.open(events[i % 3]!.deflated)]);
    for (let round = 0; round < 3; round++) {
      coders.forEach((c, i) => {
        c.add(shared.deflated);
        bodies[i]!.push(shared.deflated.block);
      });
    }
    coders.forEach((c, i) => {
      const decoded = zlib.gunzipSync(Buffer.concat([...bodies[i]!, c.trailer()])).toString();
      assert.equal(decoded, events[i % 3]!.payload.toString() + shared.payload.toString().repeat(3));
    });
    assert.notEqual(shared.deflated.table, null);
  });

  test('stored blocks (control messages) decode anywhere in the stream, also past 64 KiB', () => {
    const big = Buffer.alloc(70_000, 'a');
    const coder = new StreamCoder('gzip');
    const parts = [coder.open(store(Buffer.from('retry: 3000\n\n')))];
    for (const d of [store(big), store(Buffer.alloc(0)), events[0]!.deflated]) {
      coder.add(d);
      parts.push(d.block);
    }
    parts.push(coder.trailer());
    const text = zlib.gunzipSync(Buffer.concat(parts)).toString();
    assert.equal(text, `retry: 3000\n\n${big.toString()}${events[0]!.payload.toString()}`);
    assert.equal(PreparedEvent.ofFields({ retry: 10 }).deflated.block[0], 0, 'a control message is stored');
  });

  test('a block ends byte-aligned and not final: decodable after any other block, dictionary reset', () => {
    const a = events[0]!.deflated.block;
    assert.deepEqual([...a.subarray(-4)], [0, 0, 0xff, 0xff]);
    const decoded = zlib.inflateRawSync(Buffer.concat([a, a, Buffer.from([3, 0])]));
    assert.equal(decoded.toString(), events[0]!.payload.toString().repeat(2));
  });

  test('a private update is a block of its own: its bytes do not depend on the events around it', () => {
    const secret = update('p', 'token=s3cr3t-7f1c', true);
    const guesses = ['token=s3cr3t-7f1c', 'token=zzzzzzzzzzz'];
    for (const guess of guesses) {
      const pub = update('a', guess);
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

const ENCODINGS = { gzip: zlib.gunzipSync, deflate: zlib.inflateSync } as const;

describe('Hub with compression over node:http', () => {
  for (const coding of ['gzip', 'deflate'] as const) {
    test(`${coding}: Content-Encoding and Vary, each event decodable as soon as it is written, a valid trailer at a clean end`, async () => {
      const s = await startHub({ compression: true });
      const c = await connectCompressed(`${s.url}/?topic=t`, { 'accept-encoding': coding });
      assert.equal(c.headers['content-encoding'], coding);
      assert.equal(c.headers.vary, 'accept-encoding');
      await c.until((x) => x.retries.length === 1);
      for (let i = 0; i < 5; i++) {
        await s.hub.publish('t', `update ${i}`);
        // Flushed as written: the event decodes before anything else is published.
        await c.until((x) => x.events.length === i + 1);
      }
      // A burst (one batch) too.
      await Promise.all([s.hub.publish('t', 'b1'), s.hub.publish('t', 'b2'), s.hub.publish('t', 'b3')]);
      await c.until((x) => x.events.length === 8);
      await s.hub.close({ timeoutMs: 1000 });
      await c.ended;
      assert.equal(c.decodeError, null);
      // The whole body is one valid stream, trailer (CRC-32 and length, or Adler-32) included.
      const whole = ENCODINGS[coding](c.rawBytes()).toString();
      assert.equal(whole, c.text);
      assert.deepEqual(
        c.events.map((e) => e.data),
        ['update 0', 'update 1', 'update 2', 'update 3', 'update 4', 'b1', 'b2', 'b3'],
      );
      assert.equal(c.retries.length, 2); // the first, and the one before the close
      await s.stop();
    });
  }

  test('never sends a coding the client did not accept; off by default in the library', async () => {
    const s = await startHub({ compression: ['gzip'] });
    const cases: [Record<string, string>, string | undefined][] = [
      [{}, undefined],
      [{ 'accept-encoding': '' }, undefined],
      [{ 'accept-encoding': 'br' }, undefined],
      [{ 'accept-encoding': 'deflate' }, undefined],
      [{ 'accept-encoding': 'gzip;q=0, deflate' }, undefined],
      [{ 'accept-encoding': 'gzip;q=oops' }, undefined],
      [{ 'accept-encoding': 'identity;q=0' }, undefined],
      [{ 'accept-encoding': 'identity;q=0, gzip;q=0.1' }, 'gzip'],
      [{ 'accept-encoding': 'br, *' }, 'gzip'],
    ];
    for (const [headers, expected] of cases) {
      const c = await connectCompressed(`${s.url}/?topic=t`, headers);
      assert.equal(c.status, 200, JSON.stringify(headers));
      assert.equal(c.headers['content-encoding'], expected, JSON.stringify(headers));
      assert.equal(c.headers.vary, 'accept-encoding');
      await c.until((x) => x.retries.length === 1);
      c.close();
    }
    await s.stop();
    const plain = await startHub();
    const c = await connectCompressed(`${plain.url}/?topic=t`, { 'accept-encoding': 'gzip, deflate' });
    assert.equal(c.headers['content-encoding'], undefined);
    assert.equal(c.headers.vary, undefined);
    c.close();
    await plain.stop();
  });

  test('every subscriber of an update gets the same compressed bytes, whatever its coding', async () => {
    const s = await startHub({ compression: true });
    const clients = await Promise.all(
      ['gzip', 'gzip', 'deflate'].map((coding) =>
        connectCompressed(`${s.url}/?topic=t`, { 'accept-encoding': coding }),
      ),
    );
    await Promise.all(clients.map((c) => c.until((x) => x.retries.length === 1)));
    const marks = clients.map((c) => c.rawBytes().length);
    const update = await s.hub.publish('t', JSON.stringify({ symbol: 'AAPL', price: 189.23 }));
    await Promise.all(clients.map((c) => c.until((x) => x.events.length === 1)));
    const written = clients.map((c, i) => c.rawBytes().subarray(marks[i]));
    const expected = PreparedEvent.ofUpdate(update).deflated.block;
    for (const bytes of written) assert.deepEqual(bytes, expected);
    for (const c of clients) c.close();
    await s.stop();
  });

  test('replays history compressed after Last-Event-ID, then goes live', async () => {
    const s = await startHub({ compression: true, maxBufferedBytes: 16 * 1024 });
    const first = await s.hub.publish('t', 'first');
    const history = [];
    for (let i = 0; i < 200; i++) history.push(await s.hub.publish('t', `${i} ${'h'.repeat(300)}`));
    const c = await connectCompressed(`${s.url}/?topic=t`, {
      'accept-encoding': 'gzip',
      'last-event-id': first.id,
    });
    await c.until((x) => x.events.length === 200);
    const live = await s.hub.publish('t', 'live');
    await c.until((x) => x.events.length === 201);
    assert.deepEqual(
      c.events.map((e) => e.lastEventId),
      [...history, live].map((u) => u.id),
    );
    c.close();
    await s.stop();
  });

  test('a private update is its own block: its compressed bytes do not depend on another publisher’s data', async () => {
    const s = await startHub({ compression: true }, () => ({ privateTopics: ['secret'] }));
    const c = await connectCompressed(`${s.url}/?topic=secret&topic=public`, { 'accept-encoding': 'gzip' });
    await c.until((x) => x.retries.length === 1);
    const blocks: Buffer[] = [];
    let expected = 0;
    for (const guess of ['cookie=Zx81qP', 'cookie=aaaaaa', 'cookie=Zx81qQ']) {
      const mark = c.rawBytes().length;
      // One burst: the attacker's public update around the private one, all in one batch.
      const [, secret] = await Promise.all([
        s.hub.publish('public', guess),
        s.hub.publish('secret', 'cookie=Zx81qP', { private: true }),
        s.hub.publish('public', guess),
      ]);
      expected += 3;
      await c.until((x) => x.events.length === expected);
      const written = c.rawBytes().subarray(mark);
      const own = PreparedEvent.ofUpdate(secret).deflated.block;
      assert.ok(written.includes(own), `the private update is its own block next to ${guess}`);
      blocks.push(own);
    }
    // Same secret, different IDs only: the same compressed length whatever the public data.
    assert.equal(new Set(blocks.map((b) => b.length)).size, 1);
    c.close();
    await s.stop();
  });

  test('a connection cut mid-block loses nothing: the client resumes by Last-Event-ID', async () => {
    const s = await startHub({ compression: true });
    const ids: string[] = [];
    // Incompressible data: blocks of a few hundred bytes, so the cut falls inside one.
    for (let i = 0; i < 50; i++) ids.push((await s.hub.publish('t', randomBytes(300).toString('base64'))).id);
    // Resume from before the first: the whole history, compressed, cut after a few hundred bytes.
    const first = await connectCompressed(
      `${s.url}/?topic=t`,
      { 'accept-encoding': 'gzip', 'last-event-id': 'earliest' },
      2000,
    );
    await first.ended;
    const got = first.events.map((e) => e.lastEventId);
    assert.ok(got.length < 50, `cut short (${got.length} events)`);
    const second = await connectCompressed(`${s.url}/?topic=t`, {
      'accept-encoding': 'gzip',
      'last-event-id': got.at(-1) ?? 'earliest',
    });
    await second.until((x) => got.length + x.events.length === 50);
    assert.deepEqual([...got, ...second.events.map((e) => e.lastEventId)], ids);
    second.close();
    await s.stop();
  });
});

/** Decodes a compressed body chunk by chunk, as a browser does; resolves once `count` events are in. */
function decodeEvents(
  chunks: AsyncIterable<Uint8Array>,
  coding: string | null,
  count: number,
): Promise<string[]> {
  const decoder = coding === 'gzip' ? zlib.createGunzip() : zlib.createInflate();
  const data: string[] = [];
  return new Promise((resolve, reject) => {
    const parser = new EventStreamParser({
      onEvent: (e) => {
        data.push(e.data);
        if (data.length === count) resolve(data);
      },
    });
    decoder.on('data', (b: Buffer) => parser.push(b));
    decoder.on('error', reject);
    void (async () => {
      for await (const chunk of chunks) {
        decoder.write(chunk);
        if (data.length >= count) break;
      }
    })().catch(reject);
  });
}

describe('Hub with compression over node:http2 and the Fetch API', () => {
  test('HTTP/2: the negotiated coding, the same shared blocks, decodable event by event', async () => {
    const hub = new Hub({ logger: null, compression: true });
    const server = http2.createServer();
    server.on('stream', (stream, headers) => void hub.handleStream(stream, headers));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const req = session.request({ ':path': '/?topic=t', 'accept-encoding': 'deflate;q=0.9, gzip;q=0.5' });
    const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(headers['content-encoding'], 'deflate');
    assert.equal(headers.vary, 'accept-encoding');
    const reading = decodeEvents(req, 'deflate', 3);
    for (const data of ['one', 'two', 'three']) await hub.publish('t', data);
    assert.deepEqual(await reading, ['one', 'two', 'three']);
    req.close();
    session.close();
    await hub.close({ timeoutMs: 100 });
    await new Promise((r) => server.close(r));
  });

  test('Fetch: the Response carries the coding and a compressed body; none when not asked for', async () => {
    const hub = new Hub({ logger: null, compression: ['gzip'] });
    const controller = new AbortController();
    const response = await hub.fetch(
      new Request('http://x/events?topic=t', {
        headers: { 'accept-encoding': 'gzip' },
        signal: controller.signal,
      }),
    );
    assert.equal(response.headers.get('content-encoding'), 'gzip');
    assert.equal(response.headers.get('vary'), 'accept-encoding');
    const reading = decodeEvents(response.body! as unknown as AsyncIterable<Uint8Array>, 'gzip', 2);
    await hub.publish('t', 'hello');
    await hub.publish('t', 'again');
    assert.deepEqual(await reading, ['hello', 'again']);
    controller.abort();
    const plain = await hub.fetch(
      new Request('http://x/events?topic=t', { headers: { 'accept-encoding': 'br' } }),
    );
    assert.equal(plain.headers.get('content-encoding'), null);
    await plain.body!.cancel();
    await hub.close({ timeoutMs: 100 });
  });
});
