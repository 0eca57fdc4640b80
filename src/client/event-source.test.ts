import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { ClientError } from './errors.js';
import { CrierEventSource } from './event-source.js';
import type { GapEvent, ReconnectEvent, SourceErrorEvent } from './events.js';
import { closedPort, recordingTimers, startServer, streamHeaders } from './server.test-helpers.js';

/** Collects events of the given types into one log of `type:data` strings. */
function record(source: EventTarget, types: string[]): string[] {
  const log: string[] = [];
  for (const type of types) {
    source.addEventListener(type, (event) => {
      const data = (event as MessageEvent).data;
      log.push(
        data === undefined ? type : `${type}:${typeof data === 'string' ? data : JSON.stringify(data)}`,
      );
    });
  }
  return log;
}

async function nextError(source: CrierEventSource): Promise<SourceErrorEvent> {
  const [event] = await once(source, 'error');
  return event as SourceErrorEvent;
}

describe('CrierEventSource processing model', () => {
  test('opens, dispatches message and named events, and keeps the last event ID', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write(': hello\n\ndata: one\nid: 1\n\nevent: score\ndata: {"home":2}\nid: 2\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url);
    assert.equal(source.readyState, CrierEventSource.CONNECTING);
    assert.equal(source.url, server.url);
    assert.equal(source.withCredentials, false);
    const log = record(source, ['open', 'message', 'score']);
    const [score] = await once(source, 'score');
    assert.deepEqual(log, ['open', 'message:one', 'score:{"home":2}']);
    assert.equal((score as MessageEvent).lastEventId, '2');
    assert.equal((score as MessageEvent).origin, new URL(server.url).origin);
    assert.equal(source.readyState, CrierEventSource.OPEN);
    assert.equal(source.lastEventId, '2');
    assert.equal(server.requests[0]!.headers.accept, 'text/event-stream');
    assert.equal(server.requests[0]!.headers['last-event-id'], undefined);
    source.close();
    assert.equal(source.readyState, CrierEventSource.CLOSED);
  });

  test('onopen, onmessage and onerror handlers are called like EventSource handlers', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.end('data: only\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { maxRetries: 0 });
    const log: string[] = [];
    source.onopen = () => log.push('open');
    source.onmessage = (event) => log.push(`message:${event.data}`);
    const errored = new Promise<void>((resolve) => {
      source.onerror = (event) => {
        log.push(`error:${event.error?.code}`);
        resolve();
      };
    });
    await errored;
    assert.deepEqual(log, ['open', 'message:only', 'error:MAX_RETRIES']);
    assert.equal(source.readyState, CrierEventSource.CLOSED);
  });

  test('reconnects when the stream ends, sending Last-Event-ID', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.end('id: 41\ndata: a\n\nid: 42\ndata: b\n\n');
      else res.write(`data: resumed\n\n`);
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers });
    t.after(() => source.close());
    const log = record(source, ['open', 'message', 'error']);
    await new Promise<void>((resolve) => {
      source.addEventListener('message', (event) => event.data === 'resumed' && resolve());
    });
    assert.deepEqual(log, ['open', 'message:a', 'message:b', 'error', 'open', 'message:resumed']);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]!.headers['last-event-id'], '42');
  });

  test('a non-ASCII last event ID is sent back as its UTF-8 bytes, as browsers do', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.end('id: x€y 🎉\ndata: a\n\n');
      else res.write('data: resumed\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    t.after(() => source.close());
    await new Promise<void>((resolve) => {
      source.addEventListener('message', (event) => event.data === 'resumed' && resolve());
    });
    const sent = server.requests[1]!.headers['last-event-id'] as string;
    assert.equal(Buffer.from(sent, 'latin1').toString('utf8'), 'x€y 🎉');
  });

  test('an error event while reconnecting says why and leaves readyState CONNECTING', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.end();
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    t.after(() => source.close());
    const error = await nextError(source);
    assert.equal(error.willReconnect, true);
    assert.equal(error.error?.code, 'STREAM_ENDED');
    assert.equal(source.readyState, CrierEventSource.CONNECTING);
  });

  test('an id-only event moves the last event ID used on reconnect', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.end('data: x\nid: 1\n\nid: 7\n\n');
      else res.write('data: again\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    t.after(() => source.close());
    await server.waitForRequests(2);
    assert.equal(server.requests[1]!.headers['last-event-id'], '7');
  });

  test('204 No Content fails the connection and stops reconnecting', async (t) => {
    const server = await startServer((_req, res) => {
      res.writeHead(204).end();
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    const error = await nextError(source);
    assert.equal(source.readyState, CrierEventSource.CLOSED);
    assert.equal(error.willReconnect, false);
    assert.equal(error.error?.code, 'NO_CONTENT');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.requests.length, 1);
  });

  test('a non-200 status fails the connection without reconnecting', async (t) => {
    const server = await startServer((_req, res) => {
      res.writeHead(500, { 'Content-Type': 'text/event-stream' }).end('data: nope\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    const log = record(source, ['open', 'message']);
    const error = await nextError(source);
    assert.equal(source.readyState, CrierEventSource.CLOSED);
    assert.equal(error.error?.code, 'BAD_STATUS');
    assert.equal(error.error?.status, 500);
    assert.match(error.message, /HTTP 500/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.requests.length, 1);
    assert.deepEqual(log, []);
  });

  test('a wrong Content-Type fails the connection without reconnecting', async (t) => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('data: nope\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    const error = await nextError(source);
    assert.equal(source.readyState, CrierEventSource.CLOSED);
    assert.equal(error.error?.code, 'BAD_CONTENT_TYPE');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.requests.length, 1);
  });

  test('accepts text/event-stream with parameters and in any case', async (t) => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'Text/Event-Stream; charset=utf-8' });
      res.write('data: ok\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url);
    t.after(() => source.close());
    const [event] = await once(source, 'message');
    assert.equal((event as MessageEvent).data, 'ok');
  });

  test('a network error reconnects, and maxRetries gives up with the last reason', async () => {
    const url = await closedPort();
    const timers = recordingTimers();
    const source = new CrierEventSource(url, { timers, maxRetries: 2 });
    const errors: SourceErrorEvent[] = [];
    source.addEventListener('error', (event) => errors.push(event));
    await new Promise<void>((resolve) => {
      source.addEventListener('error', (event) => !event.willReconnect && resolve());
    });
    assert.deepEqual(
      errors.map((e) => [e.error?.code, e.willReconnect]),
      [
        ['NETWORK_ERROR', true],
        ['NETWORK_ERROR', true],
        ['MAX_RETRIES', false],
      ],
    );
    assert.equal(source.readyState, CrierEventSource.CLOSED);
    assert.equal(timers.delays.length, 2);
  });

  test('retry: sets the reconnection time used as the backoff base', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.end('retry: 1234\ndata: a\n\n');
      else if (index === 1) res.end('retry: nope\n\n');
      else res.write('data: done\n\n');
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers, jitter: 'none', backoffFactor: 1 });
    t.after(() => source.close());
    await server.waitForRequests(3);
    // A non-digit retry: is ignored: the second delay keeps 1234.
    assert.deepEqual(timers.delays, [1234, 1234]);
  });

  test('close() during connect aborts the request and fires nothing', async (t) => {
    const server = await startServer(() => {
      // never answers
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    const log = record(source, ['open', 'error', 'message']);
    await server.waitForRequests(1);
    source.close();
    assert.equal(source.readyState, CrierEventSource.CLOSED);
    await server.requests[0]!.closed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(log, []);
    assert.equal(server.requests.length, 1);
  });

  test('close() from a listener stops the events of the same chunk', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('data: 1\n\ndata: 2\n\ndata: 3\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url);
    const seen: string[] = [];
    source.onmessage = (event) => {
      seen.push(event.data as string);
      source.close();
    };
    await server.waitForRequests(1);
    await server.requests[0]!.closed;
    assert.deepEqual(seen, ['1']);
  });

  test('getHeaders and getToken supply fresh values before every connect', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.end('data: x\n\n');
    });
    t.after(() => server.close());
    let token = 0;
    const contexts: number[] = [];
    const source = new CrierEventSource(server.url, {
      timers: recordingTimers(),
      headers: { 'X-Static': 'yes' },
      getHeaders: async (context) => {
        contexts.push(context.attempt);
        return { 'X-Attempt': String(context.attempt) };
      },
      getToken: () => `token-${++token}`,
    });
    t.after(() => source.close());
    await server.waitForRequests(3);
    source.close();
    assert.deepEqual(
      server.requests.slice(0, 3).map((r) => [r.headers.authorization, r.headers['x-static']]),
      [
        ['Bearer token-1', 'yes'],
        ['Bearer token-2', 'yes'],
        ['Bearer token-3', 'yes'],
      ],
    );
    // 0 on the first connect, then the reconnect attempt (each stream opened, so the count restarts at 1).
    assert.deepEqual(contexts.slice(0, 3), [0, 1, 1]);
  });

  test('a throwing headers callback reports HEADERS_FAILED and retries', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('data: in\n\n');
    });
    t.after(() => server.close());
    let calls = 0;
    const source = new CrierEventSource(server.url, {
      timers: recordingTimers(),
      getToken: () => {
        calls += 1;
        if (calls === 1) throw new Error('token service down');
        return 'ok';
      },
    });
    t.after(() => source.close());
    const error = await nextError(source);
    assert.equal(error.error?.code, 'HEADERS_FAILED');
    assert.match(error.message, /token service down/);
    await once(source, 'message');
    assert.equal(server.requests[0]!.headers.authorization, 'Bearer ok');
  });

  test('sends the method and a body on every connect', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.end('id: 5\ndata: a\n\n');
      else res.write('data: b\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: (context) => JSON.stringify({ topics: ['scores'], after: context.lastEventId }),
      timers: recordingTimers(),
    });
    t.after(() => source.close());
    await server.waitForRequests(2);
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.body]),
      [
        ['POST', '{"topics":["scores"],"after":""}'],
        ['POST', '{"topics":["scores"],"after":"5"}'],
      ],
    );
  });

  test('uses an injected fetch', async () => {
    const calls: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      calls.push(String(input));
      return new Response('data: fake\n\n', { headers: { 'Content-Type': 'text/event-stream' } });
    };
    const source = new CrierEventSource('http://example.test/stream', { fetch: fakeFetch, maxRetries: 0 });
    const [event] = await once(source, 'message');
    assert.equal((event as MessageEvent).data, 'fake');
    assert.deepEqual(calls, ['http://example.test/stream']);
    source.close();
  });

  test('shared: true falls back to its own connection where Web Locks are missing (Node)', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('data: alone\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { shared: true });
    t.after(() => source.close());
    const [event] = await once(source, 'message');
    assert.equal((event as MessageEvent).data, 'alone');
    assert.equal(source.sharedRole, 'off');
  });

  test('an invalid URL throws a SyntaxError DOMException', () => {
    assert.throws(
      () => new CrierEventSource('http://[bad'),
      (error: unknown) => error instanceof DOMException && error.name === 'SyntaxError',
    );
  });
});

describe('CrierEventSource beyond EventSource', () => {
  test('async iteration yields every event and leaving the loop closes the connection', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('data: 1\n\nevent: tick\ndata: 2\n\ndata: 3\n\ndata: 4\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url);
    const seen: string[] = [];
    for await (const event of source) {
      seen.push(`${event.type}:${event.data}`);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ['message:1', 'tick:2', 'message:3']);
    assert.equal(source.readyState, CrierEventSource.CLOSED);
    await server.requests[0]!.closed;
  });

  test('async iteration throws the error that failed the connection', async (t) => {
    const server = await startServer((_req, res) => {
      res.writeHead(401).end();
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url);
    await assert.rejects(
      (async () => {
        for await (const _event of source) {
          // nothing arrives
        }
      })(),
      (error: unknown) => error instanceof ClientError && error.code === 'BAD_STATUS' && error.status === 401,
    );
  });

  test('an AbortSignal closes the source and ends its iteration', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('data: first\n\n');
    });
    t.after(() => server.close());
    const controller = new AbortController();
    const source = new CrierEventSource(server.url, { signal: controller.signal });
    const seen: string[] = [];
    for await (const event of source) {
      seen.push(event.data as string);
      controller.abort();
    }
    assert.deepEqual(seen, ['first']);
    assert.equal(source.readyState, CrierEventSource.CLOSED);
    await server.requests[0]!.closed;
  });

  test('an already aborted signal never connects', async (t) => {
    const server = await startServer(() => {});
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { signal: AbortSignal.abort() });
    assert.equal(source.readyState, CrierEventSource.CLOSED);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(server.requests.length, 0);
  });

  test('decode turns data into typed values, and a failing decode reports and skips that event', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('event: score\ndata: {"home":1,"away":0}\n\nevent: score\ndata: {broken\n\ndata: "last"\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource<{ score: { home: number; away: number }; message: string }>(
      server.url,
      {
        decode: (data) => JSON.parse(data),
      },
    );
    t.after(() => source.close());
    const homes: number[] = [];
    source.addEventListener('score', (event) => homes.push(event.data.home));
    const errors: string[] = [];
    source.addEventListener('error', (event) => errors.push(event.error?.code ?? ''));
    const [last] = await once(source, 'message');
    assert.equal((last as MessageEvent).data, 'last');
    assert.deepEqual(homes, [1]);
    assert.deepEqual(errors, ['DECODE_FAILED']);
    assert.equal(source.readyState, CrierEventSource.OPEN);
  });

  test('reports a gap from the Crier-Replay header with the ID the client asked for', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res, { 'Crier-Replay': 'expired' });
      res.write('data: fresh\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { lastEventId: 'old-9' });
    t.after(() => source.close());
    const gaps: GapEvent[] = [];
    source.ongap = (event) => gaps.push(event);
    await once(source, 'message');
    assert.equal(server.requests[0]!.headers['last-event-id'], 'old-9');
    assert.deepEqual(
      gaps.map((g) => g.lastEventId),
      ['old-9'],
    );
  });

  test('reports a gap from a crier-replay-unavailable event once, without dispatching it as a message', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res, { 'Crier-Replay': 'expired' });
      res.write(
        'event: crier-replay-unavailable\ndata: {"lastEventId":"old-9","reason":"expired"}\nid: 25\n\ndata: fresh\n\n',
      );
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { lastEventId: 'old-9' });
    t.after(() => source.close());
    const log = record(source, ['message', 'crier-replay-unavailable']);
    source.addClientListener('gap', () => log.push('gap'));
    await once(source, 'message');
    assert.deepEqual(log, ['gap', 'message:fresh']);
    assert.equal(source.lastEventId, '25');
  });

  test('a crier-replay-unavailable event alone carries its detail', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res, { 'Crier-Replay': 'unknown' });
      res.write('event: crier-replay-unavailable\ndata: {"lastEventId":"3","reason":"expired"}\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { lastEventId: '3' });
    t.after(() => source.close());
    const gap = await new Promise<GapEvent>((resolve) => {
      source.ongap = resolve;
    });
    assert.equal(gap.lastEventId, '3');
    assert.deepEqual(gap.detail, { lastEventId: '3', reason: 'expired' });
  });

  test('onreconnect tells the attempt, delay and resume ID', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.end('id: 3\ndata: x\n\n');
      else res.write('data: y\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, {
      timers: recordingTimers(),
      retry: 100,
      random: () => 0.5,
    });
    t.after(() => source.close());
    const event = await new Promise<ReconnectEvent>((resolve) => {
      source.onreconnect = resolve;
    });
    assert.deepEqual([event.attempt, event.delay, event.lastEventId, event.status], [1, 100, '3', undefined]);
  });
});

describe('CrierEventSource with a malformed stream', () => {
  test('a line longer than the limit reports MALFORMED_STREAM and reconnects', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.write(`data: ok\nid: 1\n\ndata: ${'x'.repeat(200)}`);
      else res.write('data: after\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { maxLineLength: 100, timers: recordingTimers() });
    t.after(() => source.close());
    const log = record(source, ['message']);
    const error = await nextError(source);
    assert.equal(error.error?.code, 'MALFORMED_STREAM');
    assert.match(error.message, /LINE_TOO_LONG/);
    assert.equal(error.willReconnect, true);
    await once(source, 'message');
    assert.deepEqual(log, ['message:ok', 'message:after']);
    assert.equal(server.requests[1]!.headers['last-event-id'], '1');
  });

  test('invalid UTF-8 becomes U+FFFD and garbage fields are ignored, as the spec says', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write(Buffer.concat([Buffer.from('data: a'), Buffer.from([0xff, 0xc3]), Buffer.from('b\n')]));
      res.write('bogus: 1\nDATA: no\nretry: -5\nid: ok\0nul\n\x01\x02:x\n\n');
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers });
    t.after(() => source.close());
    const [event] = (await once(source, 'message')) as [MessageEvent];
    assert.equal(event.data, 'a\uFFFD\uFFFDb');
    assert.equal(event.lastEventId, '');
    assert.equal(source.readyState, CrierEventSource.OPEN);
  });

  test('an event larger than maxEventSize reports MALFORMED_STREAM and fails after maxRetries', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write(`data: ${'y'.repeat(60)}\ndata: ${'y'.repeat(60)}\n`);
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, {
      maxEventSize: 100,
      maxRetries: 1,
      timers: recordingTimers(),
    });
    const errors: SourceErrorEvent[] = [];
    source.addEventListener('error', (event) => errors.push(event));
    await new Promise<void>((resolve) => {
      source.addEventListener('error', (event) => !event.willReconnect && resolve());
    });
    assert.deepEqual(
      errors.map((e) => e.error?.code),
      ['MALFORMED_STREAM', 'MAX_RETRIES'],
    );
    assert.match(errors[0]!.message, /EVENT_TOO_LARGE/);
    assert.equal(server.requests.length, 2);
  });
});
