import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventStreamParser, type ParsedEvent } from '../protocol/parse.js';
import { Hub, REPLAY_UNAVAILABLE_EVENT } from './hub.js';

async function readEvents(response: Response, count: number): Promise<ParsedEvent[]> {
  const events: ParsedEvent[] = [];
  const parser = new EventStreamParser({ onEvent: (e) => events.push(e) });
  const reader = response.body!.getReader();
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value);
  }
  reader.releaseLock();
  return events;
}

describe('Hub over the Fetch API', () => {
  test('answers a Request with a streaming Response and the SSE headers', async () => {
    const hub = new Hub({ logger: null });
    const controller = new AbortController();
    const response = await hub.fetch(new Request('http://x/events?topic=t', { signal: controller.signal }));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(response.headers.get('x-accel-buffering'), 'no');
    await hub.publish('t', 'hello');
    await hub.publish('u', 'not for you');
    await hub.publish('t', 'again');
    const events = await readEvents(response, 2);
    assert.deepEqual(
      events.map((e) => e.data),
      ['hello', 'again'],
    );
    controller.abort();
    assert.equal(hub.connectionCount, 0);
    await hub.close();
  });

  test('replays after Last-Event-ID and reports an unknown one with the reserved event', async () => {
    const hub = new Hub({ logger: null });
    const a = await hub.publish('t', 'a');
    await hub.publish('t', 'b');
    const ok = await hub.fetch(new Request('http://x/?topic=t', { headers: { 'last-event-id': a.id } }));
    assert.equal(ok.headers.get('crier-replay'), 'ok');
    assert.deepEqual(
      (await readEvents(ok, 1)).map((e) => e.data),
      ['b'],
    );
    const lost = await hub.fetch(new Request('http://x/?topic=t&lastEventID=nope'));
    assert.equal(lost.headers.get('crier-replay'), 'unknown');
    assert.equal((await readEvents(lost, 1))[0]!.type, REPLAY_UNAVAILABLE_EVENT);
    await hub.close();
  });

  test('a replay longer than the stream queue goes out in slices as the reader pulls, then live updates', async () => {
    const hub = new Hub({ logger: null, maxBufferedBytes: 4096 });
    const first = await hub.publish('t', 'first');
    const history = [];
    for (let i = 0; i < 200; i++) history.push(await hub.publish('t', `${i} ${'f'.repeat(200)}`));
    const response = await hub.fetch(
      new Request('http://x/?topic=t', { headers: { 'last-event-id': first.id } }),
    );
    await new Promise((r) => setTimeout(r, 20)); // nothing read yet: the replay waits for the reader
    const live = await hub.publish('t', 'live');
    const events = await readEvents(response, 201);
    assert.deepEqual(
      events.map((e) => e.lastEventId),
      [...history, live].map((u) => u.id),
    );
    assert.equal(hub.stats.slowDisconnects, 0);
    await hub.close({ timeoutMs: 100 });
  });

  test('answers bad input with a 400 Response, never a rejection', async () => {
    const hub = new Hub({ logger: null, maxSelectors: 1 });
    const response = await hub.fetch(new Request('http://x/?topic=a&topic=b'));
    assert.equal(response.status, 400);
    assert.match(await response.text(), /2 topic selectors; the most accepted is 1/);
    await hub.close();
  });

  test('drops a reader that stops reading once its queue passes maxBufferedBytes', async () => {
    const hub = new Hub({ logger: null, maxBufferedBytes: 10_000 });
    const response = await hub.fetch(new Request('http://x/?topic=t'));
    assert.equal(response.status, 200);
    for (let i = 0; i < 100; i++) await hub.publish('t', 'x'.repeat(500));
    await new Promise((r) => setImmediate(r)); // the end-of-turn flush
    assert.equal(hub.stats.slowDisconnects, 1);
    assert.equal(hub.connectionCount, 0);
    await hub.close();
  });
});
