/**
 * The client against Crier's own server library over real sockets: resumes after dropped connections with
 * nothing lost or twice, and reports a gap when the server's history cannot cover the resume point.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryEngine } from '../engines/memory/index.js';
import { Hub } from '../server/index.js';
import { CrierEventSource, type GapEvent } from './index.js';

async function startHub(hub: Hub): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void hub.handle(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/events?topic=scores`, server, sockets };
}

test('the client resumes through dropped connections with every event exactly once, in order', async (t) => {
  const hub = new Hub({ retryMs: 20, retryJitter: 0, logger: null });
  const { url, server, sockets } = await startHub(hub);
  t.after(async () => {
    await hub.close({ timeoutMs: 100 });
    server.close();
  });
  const source = new CrierEventSource(url, { retry: 20, maxRetryDelay: 50 });
  t.after(() => source.close());
  const received: string[] = [];
  source.onmessage = (e) => received.push(e.data as string);
  await once(source, 'open');

  const published: string[] = [];
  for (let i = 0; i < 300; i++) {
    const data = `goal ${i}`;
    await hub.publish('scores', data);
    published.push(data);
    if (i % 60 === 30) for (const socket of sockets) socket.destroy(); // the network drops the stream
    if (i % 10 === 0) await sleep(2);
  }
  const deadline = Date.now() + 10_000;
  while (received.length < published.length && Date.now() < deadline) await sleep(20);
  assert.deepEqual(received, published);
});

test('the client reports a gap when the server no longer holds its last event ID, then gets what the server still holds, then live events', async (t) => {
  const engine = new MemoryEngine({ history: { maxCount: 3 } });
  const hub = new Hub({ engine, logger: null });
  const { url, server } = await startHub(hub);
  t.after(async () => {
    await hub.close({ timeoutMs: 100 });
    await engine.close();
    server.close();
  });
  const first = await hub.publish('scores', 'old');
  for (let i = 0; i < 5; i++) await hub.publish('scores', `evicting ${i}`);

  const source = new CrierEventSource(url, { lastEventId: first.id });
  t.after(() => source.close());
  const messages: string[] = [];
  source.addEventListener('message', (e) => messages.push((e as MessageEvent).data));
  const gap = await new Promise<GapEvent>((resolve) => source.addClientListener('gap', resolve));
  assert.equal(gap.lastEventId, first.id);
  // The detail is the notice's JSON, as Crier's server sends it.
  assert.deepEqual(gap.detail, { lastEventId: first.id, reason: 'expired' });
  await hub.publish('scores', 'fresh');
  const deadline = Date.now() + 5_000;
  while (messages.length < 4 && Date.now() < deadline) await sleep(10);
  assert.deepEqual(messages, ['evicting 2', 'evicting 3', 'evicting 4', 'fresh']);
});
