// The request-scoped event stream (`openEventStream`, `eventStreamResponse`) on node:http, Express 5,
// Fastify 5, Hono on @hono/node-server, and the Fetch API alone: tokens in order to the client, a write
// that waits while the client does not read, the buffer bound, heartbeats, abort on disconnect.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { CrierEventSource } from '../client/index.js';
import { EventStreamParser, type ParsedEvent } from '../protocol/parse.js';
import { connectSse, connectSseHttp2 } from './client.test-helpers.js';
import { ServerError } from './errors.js';
import { type EventStream, type EventStreamOptions, eventStreamResponse, openEventStream } from './stream.js';

type Handler = (stream: EventStream) => Promise<void>;

interface Running {
  url: string;
  close(): Promise<void>;
}

/** Runs `handler` on every request to /stream, on one framework; the node ones close the stream after it. */
type Framework = (handler: Handler, options: EventStreamOptions) => Promise<Running>;

async function runNode(stream: EventStream, handler: Handler): Promise<void> {
  try {
    await handler(stream);
  } finally {
    stream.close();
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

const frameworks: Record<string, Framework> = {
  'node:http': async (handler, options) => {
    const server = http.createServer((req, res) => void runNode(openEventStream(req, res, options), handler));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`,
      close: () => closeServer(server),
    };
  },
  'Express 5': async (handler, options) => {
    const app = express();
    app.get('/stream', (req, res) => void runNode(openEventStream(req, res, options), handler));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`,
      close: () => closeServer(server),
    };
  },
  'Fastify 5': async (handler, options) => {
    const app = Fastify();
    app.get('/stream', (request, reply) => {
      reply.hijack();
      void runNode(openEventStream(request.raw, reply.raw, options), handler);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/stream`,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
  'Hono on @hono/node-server': async (handler, options) => {
    const app = new Hono();
    app.get('/stream', (c) => eventStreamResponse(c.req.raw, handler, options));
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`,
      close: () => closeServer(server as Server),
    };
  },
};

/** A deferred: the handler reports what it saw through these. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const TOKENS = ['Server', '-sent', ' events', ' carry', ' tokens', ',', ' in', ' order', '.', ' é€😀'];

/** Whether `p` is still pending once the event loop has gone round a few times. */
async function pending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return !settled;
}

/**
 * A client that sends its request and then does not read: the socket is paused, so the kernel's buffers
 * fill and the server's writes stop draining.
 */
async function stalledClient(url: string): Promise<net.Socket> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await once(socket, 'connect');
  socket.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\n\r\n`);
  socket.pause();
  return socket;
}

/** Counts `needle` (ASCII) in bytes received in pieces; a match may straddle two pieces. */
function byteCounter(needle: string): { readonly count: number; push(bytes: Buffer): number } {
  let tail = '';
  let count = 0;
  return {
    get count() {
      return count;
    },
    push(bytes) {
      const text = tail + bytes.toString('latin1');
      for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
      tail = text.slice(1 - needle.length);
      return count;
    },
  };
}

for (const [name, start] of Object.entries(frameworks)) {
  describe(`event stream on ${name}`, () => {
    test('an LLM-style token stream reaches CrierEventSource in order, then a done event', async () => {
      const running = await start(async (stream) => {
        for (const [i, token] of TOKENS.entries()) {
          if (!(await stream.writeJson({ token }, { event: 'token', id: String(i) }))) return;
        }
        await stream.write({ event: 'done', data: '' });
      }, {});
      const source = new CrierEventSource(running.url);
      const received: string[] = [];
      const ids: string[] = [];
      const done = deferred<void>();
      source.addEventListener('token', (e) => {
        received.push((JSON.parse((e as MessageEvent).data as string) as { token: string }).token);
        ids.push((e as MessageEvent).lastEventId);
      });
      source.addEventListener('done', () => done.resolve());
      await done.promise;
      source.close();
      assert.deepEqual(received, TOKENS);
      assert.deepEqual(
        ids,
        TOKENS.map((_, i) => String(i)),
      );
      await running.close();
    });

    test('the response has the SSE headers, a retry: first, and heartbeats while idle', async () => {
      const finished = deferred<void>();
      const running = await start(
        async (stream) => {
          await finished.promise;
          stream.close();
        },
        { heartbeatMs: 30, retry: 1234, headers: { 'x-app': 'yes' } },
      );
      const c = await connectSse(running.url);
      assert.equal(c.status, 200);
      assert.equal(c.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(c.headers['cache-control'], 'no-cache, no-transform');
      assert.equal(c.headers['x-app'], 'yes');
      await c.until((x) => x.comments.length >= 2);
      assert.deepEqual(c.retries, [1234]);
      finished.resolve();
      await c.ended;
      await running.close();
    });

    test('the client leaving aborts the signal and ends the stream as "client"; writes then resolve false', async () => {
      const seen = deferred<{ aborted: boolean; end: string; write: boolean }>();
      const started = deferred<void>();
      const running = await start(async (stream) => {
        await stream.write({ data: 'hello' });
        started.resolve();
        await new Promise((r) => stream.signal.addEventListener('abort', r, { once: true }));
        const end = await stream.closed;
        seen.resolve({ aborted: stream.signal.aborted, end, write: await stream.write({ data: 'late' }) });
      }, {});
      const c = await connectSse(running.url);
      await c.until((x) => x.events.length === 1);
      await started.promise;
      c.close();
      assert.deepEqual(await seen.promise, { aborted: true, end: 'client', write: false });
      await running.close();
    });

    test('a client that does not read makes write() wait; it resolves once the client reads', async () => {
      // How many writes went out before one waited (null: none waited), then what the waiting one resolved to.
      const waited = deferred<number | null>();
      const written = deferred<boolean>();
      const event = { data: 'x'.repeat(64 * 1024) };
      const running = await start(
        async (stream) => {
          // Awaited writes never pass the bound: write until one waits (the kernel buffers are full).
          for (let i = 0; i < 2000; i++) {
            const write = stream.write(event);
            if (await pending(write)) {
              waited.resolve(i);
              written.resolve(await write);
              await stream.write({ event: 'done', data: 'end' });
              return;
            }
            await write;
          }
          waited.resolve(null);
        },
        { maxBufferedBytes: 1024 * 1024, heartbeatMs: 0 },
      );
      const socket = await stalledClient(running.url);
      // The client reads nothing until a write waits, however long the writes before it take.
      const before = await waited.promise;
      assert.notEqual(before, null, 'every write resolved at once although the client read nothing');
      const events = byteCounter('data: x');
      const done = byteCounter('event: done');
      const ended = deferred<void>();
      socket.on('data', (bytes: Buffer) => {
        events.push(bytes);
        if (done.push(bytes) > 0) ended.resolve();
      });
      socket.resume();
      assert.equal(await written.promise, true);
      // Nothing was dropped: the client gets every event written, the one that waited included.
      await ended.promise;
      assert.equal(events.count, (before ?? 0) + 1);
      socket.destroy();
      await running.close();
    });

    test('writes not awaited past maxBufferedBytes reject with STREAM_BUFFER_FULL and end the stream as "slow"', async () => {
      const result = deferred<{ code: string; end: string; aborted: boolean }>();
      const running = await start(
        async (stream) => {
          const writes: Promise<boolean>[] = [];
          try {
            for (let i = 0; i < 1000; i++) writes.push(stream.write({ data: 'y'.repeat(16 * 1024) }));
            await Promise.all(writes);
            result.resolve({ code: 'none', end: '', aborted: false });
          } catch (error) {
            assert.ok(error instanceof ServerError);
            result.resolve({ code: error.code, end: await stream.closed, aborted: stream.signal.aborted });
          }
        },
        { maxBufferedBytes: 256 * 1024, heartbeatMs: 0 },
      );
      const socket = await stalledClient(running.url);
      assert.deepEqual(await result.promise, { code: 'STREAM_BUFFER_FULL', end: 'slow', aborted: true });
      socket.destroy();
      await running.close();
    });
  });
}

async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<ParsedEvent[]> {
  const events: ParsedEvent[] = [];
  const parser = new EventStreamParser({ onEvent: (e) => events.push(e) });
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value);
  }
  return events;
}

describe('event stream on the Fetch API alone', () => {
  test('tokens arrive in order and the body ends when run() returns', async () => {
    const response = eventStreamResponse(new Request('http://x/stream'), async (stream) => {
      for (const token of TOKENS) await stream.write({ event: 'token', data: token });
    });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const events = await readEvents(response.body!.getReader(), Number.POSITIVE_INFINITY);
    assert.deepEqual(
      events.map((e) => e.data),
      TOKENS,
    );
  });

  test('write() waits while the body is not read, and resolves when it is', async () => {
    const result = deferred<boolean>();
    const response = eventStreamResponse(
      new Request('http://x/stream'),
      async (stream) => {
        let write = stream.write({ data: 'z'.repeat(8 * 1024) });
        while (!(await pending(write))) write = stream.write({ data: 'z'.repeat(8 * 1024) });
        result.resolve(await write);
      },
      { heartbeatMs: 0 },
    );
    const reader = response.body!.getReader();
    let written = false;
    void result.promise.then(() => {
      written = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(written, false);
    while (!written) await reader.read();
    assert.equal(await result.promise, true);
    await reader.cancel();
  });

  test('the request signal aborting ends the stream as "client"', async () => {
    const controller = new AbortController();
    const end = deferred<string>();
    eventStreamResponse(new Request('http://x/stream', { signal: controller.signal }), async (stream) => {
      end.resolve(await stream.closed);
    });
    controller.abort();
    assert.equal(await end.promise, 'client');
  });

  test('a run() that throws is reported to onError and the stream ends', async () => {
    const reported = deferred<unknown>();
    const response = eventStreamResponse(
      new Request('http://x/stream'),
      async (stream) => {
        await stream.write({ data: 'partial' });
        throw new Error('model failed');
      },
      { onError: (error) => reported.resolve(error) },
    );
    const events = await readEvents(response.body!.getReader(), Number.POSITIVE_INFINITY);
    assert.deepEqual(
      events.map((e) => e.data),
      ['partial'],
    );
    assert.equal(((await reported.promise) as Error).message, 'model failed');
  });

  test('bad options and a value without JSON form get clear errors', async () => {
    assert.throws(
      () => eventStreamResponse(new Request('http://x/'), () => {}, { maxBufferedBytes: 0 }),
      /maxBufferedBytes must be a finite number ≥ 1/,
    );
    const error = deferred<unknown>();
    eventStreamResponse(new Request('http://x/'), async (stream) => {
      await stream.writeJson(undefined).catch(error.resolve);
    });
    assert.match(String(await error.promise), /has no JSON form/);
  });
});

describe('event stream on the node:http2 compatibility API', () => {
  test('tokens in order over h2c, and the client closing its stream aborts the signal', async () => {
    const end = deferred<string>();
    const server = http2.createServer((req, res) => {
      const stream = openEventStream(req, res, { heartbeatMs: 0 });
      void (async () => {
        for (const token of TOKENS) await stream.write({ event: 'token', data: token });
        end.resolve(await stream.closed);
      })();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const c = await connectSseHttp2(`http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`);
    assert.equal(c.status, 200);
    assert.equal(c.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(c.headers.connection, undefined);
    await c.until((x) => x.events.length === TOKENS.length);
    assert.deepEqual(
      c.events.map((e) => e.data),
      TOKENS,
    );
    c.close();
    assert.equal(await end.promise, 'client');
    await new Promise((r) => server.close(r));
  });
});
