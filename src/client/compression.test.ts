/**
 * The client against a hub that compresses its streams: undici's fetch asks for gzip and deflate and
 * decodes them, so CrierEventSource in Node works unchanged, resumes included.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hub } from '../server/index.js';
import { CrierEventSource } from './index.js';

test('CrierEventSource in Node reads a gzip stream and resumes through dropped connections with every event exactly once', async (t) => {
  const hub = new Hub({ retryMs: 20, retryJitter: 0, logger: null, compression: true });
  const codings: unknown[] = [];
  const sockets = new Set<Socket>();
  const server = createServer(
    (req, res) => void hub.handle(req, res).then(() => codings.push(res.getHeader('content-encoding'))),
  );
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  t.after(async () => {
    await hub.close({ timeoutMs: 100 });
    server.close();
  });
  const source = new CrierEventSource(`http://127.0.0.1:${port}/events?topic=scores`, {
    retry: 20,
    maxRetryDelay: 50,
  });
  t.after(() => source.close());
  const received: string[] = [];
  source.onmessage = (e) => received.push(e.data as string);
  await once(source, 'open');
  const published: string[] = [];
  for (let i = 0; i < 200; i++) {
    const data = JSON.stringify({ goal: i, team: i % 2 === 0 ? 'home' : 'away' });
    await hub.publish('scores', data);
    published.push(data);
    if (i % 60 === 30) for (const socket of sockets) socket.destroy(); // the network drops the stream
    if (i % 10 === 0) await sleep(2);
  }
  const deadline = Date.now() + 10_000;
  while (received.length < published.length && Date.now() < deadline) await sleep(20);
  assert.deepEqual(received, published);
  assert.ok(codings.length >= 2, `reconnected (${codings.length} connections)`);
  assert.deepEqual(new Set(codings), new Set(['gzip']));
});

test('delta updates over a gzip stream: patches are sent compressed and CrierEventSource rebuilds every update', async (t) => {
  const hub = new Hub({ retryMs: 20, retryJitter: 0, logger: null, compression: true });
  const codings: unknown[] = [];
  const server = createServer(
    (req, res) => void hub.handle(req, res).then(() => codings.push(res.getHeader('content-encoding'))),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  t.after(async () => {
    await hub.close({ timeoutMs: 100 });
    server.close();
  });
  let patches = 0;
  // Counts the patches in the decoded stream (undici has already undone the gzip).
  const counting: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const decoder = new TextDecoder();
    const body = response.body!.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          patches += (decoder.decode(chunk, { stream: true }).match(/^delta: \d+ [mf]$/gm) ?? []).length;
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: response.status, headers: response.headers });
  };
  const source = new CrierEventSource(`http://127.0.0.1:${port}/events?topic=match`, {
    retry: 20,
    delta: true,
    fetch: counting,
  });
  t.after(() => source.close());
  const received: string[] = [];
  source.onmessage = (e) => received.push(e.data as string);
  await once(source, 'open');
  const published: string[] = [];
  for (let minute = 0; minute < 40; minute++) {
    const data = JSON.stringify({
      home: 'Lions',
      away: 'Tigers',
      venue: 'North Stadium',
      minute,
      score: [minute >> 4, 1],
    });
    await hub.publish('match', data);
    published.push(data);
    await sleep(2);
  }
  const deadline = Date.now() + 10_000;
  while (received.length < published.length && Date.now() < deadline) await sleep(20);
  assert.deepEqual(received, published);
  assert.ok(patches > 0, 'some updates went as patches');
  assert.deepEqual(codings, ['gzip']);
});
