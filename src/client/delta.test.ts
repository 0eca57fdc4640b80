/**
 * CrierEventSource with `delta: true` against Crier's server library over real sockets: listeners see the
 * same data, type and ID as a source without deltas, through random update sequences, dropped connections
 * and resumes (property test), and a patch it cannot apply makes it resume rather than deliver wrong data.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { Hub } from '../server/index.js';
import { CrierEventSource } from './index.js';

async function startHub(hub: Hub): Promise<{ base: string; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void hub.handle(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, server, sockets };
}

type Seen = [type: string, data: string, id: string];

function record(source: CrierEventSource, out: Seen[]): void {
  for (const type of ['message', 'tick', 'match']) {
    source.addEventListener(type, (e) => {
      const m = e as MessageEvent<string>;
      out.push([type, m.data, m.lastEventId]);
    });
  }
}

/**
 * An update: a topic, a type, and data shaped by its topic, so consecutive updates of a topic look alike
 * (as real ones do) and get patches: `a` ticks (JSON, sometimes with a null, which no merge patch can
 * set), `b` match documents (JSON), `c` multi-line text (Fossil deltas), `d` anything.
 */
const update = fc
  .oneof(
    fc.record({
      topic: fc.constant('a'),
      data: fc
        .record({
          p: fc.integer({ min: 0, max: 300 }),
          s: fc.constantFrom('AAPL', 'MSFT'),
          x: fc.option(fc.string()),
        })
        .map((v) => JSON.stringify(v)),
    }),
    fc.record({
      topic: fc.constant('b'),
      data: fc
        .record({
          score: fc.tuple(fc.nat(5), fc.nat(5)),
          minute: fc.nat(90),
          note: fc.string({ maxLength: 8 }),
        })
        .map((v) => JSON.stringify({ home: 'Lions', away: 'Tigers', venue: 'North Stadium', ...v })),
    }),
    fc.record({
      topic: fc.constant('c'),
      data: fc
        .tuple(fc.nat(1000), fc.string({ maxLength: 10 }))
        .map(
          ([n, s]) =>
            `line one of the log, unchanged\nline two, ${s}\ncounter ${n}\nthe last line, unchanged`,
        ),
    }),
    fc.record({ topic: fc.constant('d'), data: fc.string({ maxLength: 60 }) }),
  )
  .chain((u) =>
    fc.record({
      topic: fc.constant(u.topic),
      data: fc.constant(u.data),
      type: fc.constantFrom(undefined, 'tick', 'match'),
      /** Drop every connection after publishing this one. */
      drop: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    }),
  );

/** A fetch that counts the patches (`delta: <slot> m|f`) the server sent, by format. */
function countingFetch(counter: { m: number; f: number }): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.body === null) return response;
    const decoder = new TextDecoder();
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          for (const [, format] of decoder
            .decode(chunk, { stream: true })
            .matchAll(/^delta: \d+ ([mf])$/gm)) {
            counter[format as 'm' | 'f']++;
          }
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

test('a delta source delivers exactly what a plain source does, through random updates, drops and resumes (property)', async (t) => {
  const hub = new Hub({ retryMs: 10, retryJitter: 0, logger: null });
  const { base, server, sockets } = await startHub(hub);
  t.after(async () => {
    await hub.close({ timeoutMs: 100 });
    server.close();
  });
  let run = 0;
  const counter = { m: 0, f: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(update, { minLength: 1, maxLength: 40 }), async (updates) => {
      run++;
      const prefix = `r${run}/`;
      const url = `${base}/?topic=${encodeURIComponent(`${prefix}{t}`)}`;
      const plain = new CrierEventSource(url, { retry: 10, maxRetryDelay: 20 });
      const delta = new CrierEventSource(url, {
        retry: 10,
        maxRetryDelay: 20,
        delta: true,
        fetch: countingFetch(counter),
      });
      const fromPlain: Seen[] = [];
      const fromDelta: Seen[] = [];
      record(plain, fromPlain);
      record(delta, fromDelta);
      try {
        await Promise.all([once(plain, 'open'), once(delta, 'open')]);
        // An anchor both receive first, so a drop before anything else arrived still resumes from an ID.
        await hub.publish(`${prefix}anchor`, 'anchor');
        while (fromPlain.length === 0 || fromDelta.length === 0) await sleep(2);
        fromPlain.shift();
        fromDelta.shift();
        for (const u of updates) {
          await hub.publish(prefix + u.topic, u.data, u.type === undefined ? {} : { event: u.type });
          if (u.drop) {
            for (const s of sockets) s.destroy();
            await sleep(1);
          }
        }
        const deadline = Date.now() + 5_000;
        while (
          (fromPlain.length < updates.length || fromDelta.length < updates.length) &&
          Date.now() < deadline
        )
          await sleep(5);
        assert.equal(fromPlain.length, updates.length);
        assert.deepEqual(fromDelta, fromPlain);
        assert.deepEqual(
          fromDelta.map(([type, data]) => [type, data]),
          updates.map((u) => [u.type ?? 'message', u.data]),
        );
      } finally {
        plain.close();
        delta.close();
      }
    }),
    { numRuns: 25 },
  );
  // How many updates go as patches depends on timing (a resume restarts in full); both formats must have been
  // sent and applied for the property to say anything about them.
  assert.ok(
    counter.m > 0 && counter.f > 0,
    `patches of both formats were sent and applied (${JSON.stringify(counter)})`,
  );
});

test('a patch the source cannot apply ends the connection; it resumes from the last whole event and gets the update in full', async (t) => {
  // A server that sends a patch for a slot it never sent in full, then (on the resume) the update in full.
  let connects = 0;
  const lastIds: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    connects++;
    lastIds.push(req.headers['last-event-id'] as string | undefined);
    assert.match(req.url ?? '', /delta=1/);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (connects === 1)
      res.write('retry: 10\n\nid: 1\ndelta: 0\ndata: {"a":1}\n\nid: 2\ndelta: 7 m\ndata: {"a":2}\n\n');
    else res.write('id: 2\ndelta: 0\ndata: {"a":2}\n\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const source = new CrierEventSource(`http://127.0.0.1:${port}/`, { retry: 10, delta: true });
  t.after(() => source.close());
  const got: string[] = [];
  source.onmessage = (e) => got.push(e.data as string);
  const deadline = Date.now() + 3_000;
  while (got.length < 2 && Date.now() < deadline) await sleep(5);
  assert.deepEqual(got, ['{"a":1}', '{"a":2}']);
  assert.deepEqual(lastIds, [undefined, '1']);
});
