/**
 * How the client resumes and when it reconnects: the last event ID buffer kept across connections, waits
 * never shorter than the reconnection time, oversized streams counted as failures, busy servers (429, 502,
 * 503, 504) retried after `Retry-After`, 401 retried once with fresh credentials, the client's own events
 * kept apart from the server's, and the gap notice believed only from a Crier server.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { EventStreamParser, type ParsedEvent } from '../protocol/parse.js';
import { backoffDelay, parseRetryAfter } from './backoff.js';
import { CrierEventSource } from './event-source.js';
import type { ClientEventMap, ReconnectEvent, SourceErrorEvent } from './events.js';
import { recordingTimers, startServer, streamHeaders } from './server.test-helpers.js';

function nextOwn<K extends keyof ClientEventMap>(
  source: CrierEventSource,
  type: K,
): Promise<ClientEventMap[K]> {
  return new Promise((resolve) => source.addClientListener(type, resolve, { once: true }));
}

function untilClosed(source: CrierEventSource): Promise<SourceErrorEvent[]> {
  const errors: SourceErrorEvent[] = [];
  return new Promise((resolve) => {
    source.addEventListener('error', (event) => {
      errors.push(event);
      if (!event.willReconnect) resolve(errors);
    });
  });
}

describe('the last event ID buffer belongs to the event source, not to one connection', () => {
  test('an event without id: on a resumed stream keeps the ID, and the next reconnect sends it again', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.end('id: 7\ndata: a\n\n');
      else if (index === 1) res.end('data: b\n\n');
      else res.write('data: c\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    t.after(() => source.close());
    const seen: string[] = [];
    source.onmessage = (event) => seen.push(`${event.data}@${event.lastEventId}`);
    await server.waitForRequests(3);
    await once(source, 'message');
    assert.deepEqual(
      server.requests.map((r) => r.headers['last-event-id'] ?? '-'),
      ['-', '7', '7'],
    );
    assert.deepEqual(seen, ['a@7', 'b@7', 'c@7']);
    assert.equal(source.lastEventId, '7');
  });

  test('an empty id: field on the resumed stream still resets it, as the spec says', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index === 0) res.end('id: 7\ndata: a\n\n');
      else if (index === 1) res.end('id\ndata: b\n\n');
      else res.write('data: c\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    t.after(() => source.close());
    await server.waitForRequests(3);
    assert.equal(server.requests[2]!.headers['last-event-id'], undefined);
  });

  test('a parser created with lastEventId dispatches events without id: under that ID', () => {
    const events: ParsedEvent[] = [];
    const parser = new EventStreamParser({ onEvent: (e) => events.push(e) }, { lastEventId: '41' });
    assert.equal(parser.lastEventId, '41');
    parser.push(new TextEncoder().encode('data: x\n\nid: 42\ndata: y\n\n'));
    assert.deepEqual(
      events.map((e) => e.lastEventId),
      ['41', '42'],
    );
  });
});

describe('never reconnect sooner than the reconnection time', () => {
  const options = { base: 300, cap: 30_000, factor: 2, jitter: 'full' as const };

  test('the first reconnect waits exactly the reconnection time; jitter only adds after a failure', () => {
    for (const draw of [0, 0.5, 0.999999]) {
      assert.equal(
        backoffDelay(1, options, () => draw),
        300,
      );
      for (let attempt = 2; attempt < 12; attempt++) {
        const delay = backoffDelay(attempt, options, () => draw);
        const ceiling = Math.min(30_000, 300 * 2 ** (attempt - 1));
        assert.ok(delay >= Math.max(300, ceiling / 2) && delay <= ceiling, `attempt ${attempt}: ${delay}`);
      }
    }
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => backoffDelay(a, options, () => 0)),
      [300, 300, 600, 1200],
    );
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => backoffDelay(a, { ...options, jitter: 'none' })),
      [300, 600, 1200, 2400],
    );
  });

  test('a retry: 300 stream is never resumed after less than 300 ms, whatever the random draw', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index < 4) res.end('retry: 300\ndata: x\n\n');
      else res.write('data: last\n\n');
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers, random: () => 0 });
    t.after(() => source.close());
    await server.waitForRequests(5);
    assert.deepEqual(timers.delays, [300, 300, 300, 300]);
  });

  test('on a real clock, reconnects after retry: 200 are at least 200 ms apart', async (t) => {
    const starts: number[] = [];
    const server = await startServer((_req, res, index) => {
      starts.push(performance.now());
      streamHeaders(res);
      if (index < 3) res.end('retry: 200\ndata: x\n\n');
      else res.write('data: last\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url);
    t.after(() => source.close());
    await server.waitForRequests(4);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= 195, `gap ${i}`);
  });
});

describe('an oversized line or event counts as a failed attempt', () => {
  test('a line over maxLineLength, arriving in pieces, grows the backoff and reaches maxRetries', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write(`data: ${'x'.repeat(60)}`);
      setTimeout(() => res.write('x'.repeat(60)), 10);
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, {
      timers,
      maxLineLength: 100,
      maxRetries: 3,
      retry: 100,
      jitter: 'none',
    });
    const errors = await untilClosed(source);
    assert.deepEqual(
      errors.map((e) => e.error?.code),
      ['MALFORMED_STREAM', 'MALFORMED_STREAM', 'MALFORMED_STREAM', 'MAX_RETRIES'],
    );
    assert.match(errors[0]!.message, /LINE_TOO_LONG.*longer than 100 characters, the maxLineLength limit/);
    assert.deepEqual(timers.delays, [100, 200, 400]);
    assert.equal(server.requests.length, 4);
    assert.equal(source.readyState, CrierEventSource.CLOSED);
  });

  test('an oversized event replayed after each resume cannot loop at the shortest delay', async (t) => {
    const server = await startServer((req, res) => {
      streamHeaders(res);
      // The server's retry: block and the replay of event 1 (first connection only), then the huge event.
      res.write('retry: 50\n\n');
      if (req.headers['last-event-id'] === undefined) res.write('id: 1\ndata: fine\n\n');
      res.write(`data: ${'y'.repeat(80)}\ndata: ${'y'.repeat(80)}\n`);
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, {
      timers,
      maxEventSize: 100,
      maxRetries: 2,
      jitter: 'none',
    });
    const errors = await untilClosed(source);
    assert.deepEqual(
      errors.map((e) => e.error?.code),
      ['MALFORMED_STREAM', 'MALFORMED_STREAM', 'MAX_RETRIES'],
    );
    assert.match(errors[0]!.message, /EVENT_TOO_LARGE.*the maxEventSize limit/);
    assert.deepEqual(timers.delays, [50, 100]);
    assert.equal(server.requests[2]!.headers['last-event-id'], '1');
  });

  test('streams that end after heartbeats only are not failures: maxRetries is not reached', async (t) => {
    const server = await startServer((_req, res, index) => {
      streamHeaders(res);
      if (index < 5) res.end(':\n\n');
      else res.write('data: still here\n\n');
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers, maxRetries: 1, retry: 10 });
    t.after(() => source.close());
    const [event] = (await once(source, 'message')) as [MessageEvent];
    assert.equal(event.data, 'still here');
    assert.deepEqual(timers.delays, [10, 10, 10, 10, 10]);
  });
});

describe('a busy server is retried, a refused token refreshed once', () => {
  test('503 with Retry-After: 2 waits 2 s, says so with the status, and then connects', async (t) => {
    const server = await startServer((_req, res, index) => {
      if (index === 0) res.writeHead(503, { 'Retry-After': '2' }).end();
      else {
        streamHeaders(res);
        res.write('data: ok\n\n');
      }
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers, retry: 100 });
    t.after(() => source.close());
    const errors: SourceErrorEvent[] = [];
    source.onerror = (event) => errors.push(event);
    const reconnect = nextOwn(source, 'reconnect');
    const [message] = (await once(source, 'message')) as [MessageEvent];
    assert.equal(message.data, 'ok');
    const event = await reconnect;
    assert.deepEqual([event.status, event.retryAfter, event.delay, event.attempt], [503, 2000, 2000, 1]);
    assert.deepEqual(
      errors.map((e) => [e.error?.code, e.error?.status, e.willReconnect]),
      [['UNAVAILABLE', 503, true]],
    );
    assert.deepEqual(timers.delays, [2000]);
  });

  test('429 with an HTTP-date Retry-After waits until that date', async (t) => {
    const server = await startServer((_req, res, index) => {
      if (index === 0) {
        const at = new Date(Date.now() + 10_000).toUTCString();
        res.writeHead(429, { 'Retry-After': at }).end();
      } else {
        streamHeaders(res);
        res.write('data: ok\n\n');
      }
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers, retry: 100 });
    t.after(() => source.close());
    const reconnect = nextOwn(source, 'reconnect');
    await once(source, 'message');
    const event = await reconnect;
    assert.equal(event.status, 429);
    assert.ok(event.delay > 8000 && event.delay <= 10_000, String(event.delay));
  });

  test('a Retry-After is capped at maxRetryDelay, and never shortens the backoff', () => {
    assert.equal(parseRetryAfter('3600', 0, 30_000), 30_000);
    assert.equal(parseRetryAfter('0'), 0);
    assert.equal(parseRetryAfter(new Date(5_000).toUTCString(), 1_000), 4_000);
    assert.equal(parseRetryAfter(new Date(0).toUTCString(), 10_000), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter('-5'), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });

  test('502, 503 and 504 without Retry-After back off and count toward maxRetries', async (t) => {
    const statuses = [502, 503, 504];
    const server = await startServer((_req, res, index) => {
      res.writeHead(statuses[index % 3]!).end();
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers, retry: 100, maxRetries: 3, jitter: 'none' });
    const reconnects: ReconnectEvent[] = [];
    source.onreconnect = (event) => reconnects.push(event);
    const errors = await untilClosed(source);
    assert.deepEqual(
      errors.map((e) => [e.error?.code, e.error?.status]),
      [
        ['UNAVAILABLE', 502],
        ['UNAVAILABLE', 503],
        ['UNAVAILABLE', 504],
        ['MAX_RETRIES', 502],
      ],
    );
    assert.deepEqual(
      reconnects.map((r) => [r.status, r.delay]),
      [
        [502, 100],
        [503, 200],
        [504, 400],
      ],
    );
    assert.equal(source.readyState, CrierEventSource.CLOSED);
  });

  test('retryStatuses: [] keeps the browser behaviour: a 503 fails the connection', async (t) => {
    const server = await startServer((_req, res) => {
      res.writeHead(503, { 'Retry-After': '1' }).end();
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { retryStatuses: [], timers: recordingTimers() });
    const errors = await untilClosed(source);
    assert.deepEqual(
      errors.map((e) => [e.error?.code, e.error?.status]),
      [['BAD_STATUS', 503]],
    );
    assert.equal(server.requests.length, 1);
  });

  test('a 401 asks getToken once more for a fresh token (status 401 in its context), then connects', async (t) => {
    const server = await startServer((req, res) => {
      if (req.headers.authorization !== 'Bearer fresh') res.writeHead(401).end();
      else {
        streamHeaders(res);
        res.write('data: in\n\n');
      }
    });
    t.after(() => server.close());
    const contexts: (number | undefined)[] = [];
    const source = new CrierEventSource(server.url, {
      timers: recordingTimers(),
      maxRetries: 0,
      getToken: ({ status }) => {
        contexts.push(status);
        return status === 401 ? 'fresh' : 'stale';
      },
    });
    t.after(() => source.close());
    const errors: SourceErrorEvent[] = [];
    source.onerror = (event) => errors.push(event);
    const reconnect = nextOwn(source, 'reconnect');
    await once(source, 'message');
    assert.deepEqual(contexts, [undefined, 401]);
    assert.deepEqual(
      errors.map((e) => [e.error?.code, e.error?.status, e.willReconnect]),
      [['UNAUTHORIZED', 401, true]],
    );
    const event = await reconnect;
    assert.deepEqual([event.status, event.delay], [401, 0]);
  });

  test('a second 401 in a row fails the connection; without credential callbacks the first one does', async (t) => {
    const server = await startServer((_req, res) => {
      res.writeHead(401).end();
    });
    t.after(() => server.close());
    const withToken = new CrierEventSource(server.url, { timers: recordingTimers(), getHeaders: () => ({}) });
    const errors = await untilClosed(withToken);
    assert.deepEqual(
      errors.map((e) => [e.error?.code, e.error?.status, e.willReconnect]),
      [
        ['UNAUTHORIZED', 401, true],
        ['BAD_STATUS', 401, false],
      ],
    );
    assert.match(errors[1]!.message, /401 again/);
    assert.equal(server.requests.length, 2);

    const plain = new CrierEventSource(server.url, { timers: recordingTimers() });
    const plainErrors = await untilClosed(plain);
    assert.deepEqual(
      plainErrors.map((e) => e.error?.code),
      ['BAD_STATUS'],
    );
    assert.equal(server.requests.length, 3);
  });
});

describe("the client's own events are apart from the server's", () => {
  test('a server event named reconnect or gap reaches addEventListener, never addClientListener/onreconnect/ongap', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('event: reconnect\ndata: r\n\nevent: gap\ndata: g\n\ndata: end\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { timers: recordingTimers() });
    t.after(() => source.close());
    const own: string[] = [];
    source.onreconnect = () => own.push('onreconnect');
    source.ongap = () => own.push('ongap');
    source.addClientListener('reconnect', () => own.push('on reconnect'));
    source.addClientListener('gap', () => own.push('on gap'));
    const server_: string[] = [];
    source.addEventListener('reconnect', (e) => server_.push(`reconnect:${(e as MessageEvent).data}`));
    source.addEventListener('gap', (e) => server_.push(`gap:${(e as MessageEvent).data}`));
    await once(source, 'message');
    assert.deepEqual(server_, ['reconnect:r', 'gap:g']);
    assert.deepEqual(own, []);
  });

  test('crier-replay-unavailable from a server that is not Crier (no Crier-Replay header) is an ordinary event', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('event: crier-replay-unavailable\ndata: {"lastEventId":"3"}\n\n');
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { lastEventId: '3' });
    t.after(() => source.close());
    let gaps = 0;
    source.addClientListener('gap', () => gaps++);
    const [event] = (await once(source, 'crier-replay-unavailable')) as [MessageEvent];
    assert.equal(event.data, '{"lastEventId":"3"}');
    assert.equal(gaps, 0);
  });

  test('from a Crier server the gap carries the notice JSON, and the notice is not dispatched', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res, { 'Crier-Replay': 'expired' });
      res.write(
        'retry: 3000\n\nevent: crier-replay-unavailable\nid: 25\ndata: {"lastEventId":"old-9","reason":"expired"}\n\ndata: fresh\n\n',
      );
    });
    t.after(() => server.close());
    const source = new CrierEventSource(server.url, { lastEventId: 'old-9' });
    t.after(() => source.close());
    const log: string[] = [];
    source.addClientListener('gap', (gap) =>
      log.push(`gap:${gap.lastEventId}:${JSON.stringify(gap.detail)}`),
    );
    source.addEventListener('crier-replay-unavailable', () => log.push('notice dispatched'));
    source.onmessage = (event) => log.push(`message:${event.data}`);
    await once(source, 'message');
    assert.deepEqual(log, ['gap:old-9:{"lastEventId":"old-9","reason":"expired"}', 'message:fresh']);
    assert.equal(source.lastEventId, '25');
  });

  test('decode takes JSON.parse as it is, or a decoder per event type', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.write('event: score\ndata: {"home":2}\n\ndata: plain\n\n');
    });
    t.after(() => server.close());
    const all = new CrierEventSource<{ score: { home: number } }>(server.url, { decode: JSON.parse });
    t.after(() => all.close());
    const [score] = (await once(all, 'score')) as [MessageEvent<{ home: number }>];
    assert.equal(score.data.home, 2);

    const byType = new CrierEventSource<{ score: { home: number }; message: string }>(server.url, {
      decode: { score: JSON.parse },
    });
    t.after(() => byType.close());
    const seen: unknown[] = [];
    byType.addEventListener('score', (event) => seen.push(event.data.home));
    const [plain] = (await once(byType, 'message')) as [MessageEvent];
    assert.equal(plain.data, 'plain');
    assert.deepEqual(seen, [2]);
  });
});
