// The Hub's per-connection API: send to one connection, the request and the application's state in the
// connect and disconnect events, and JSON on publish — over node:http, Express, Fastify, Hono and Fetch.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { EventStreamParser, type ParsedEvent } from '../protocol/parse.js';
import { connectSse } from './client.test-helpers.js';
import { type ConnectionInfo, Hub } from './hub.js';

interface Running {
  base: string;
  close(): Promise<void>;
}

/** Serves `hub` on /events with `state: { user }` from the `x-user` request header. */
type Framework = (hub: Hub) => Promise<Running>;

const userOf = (header: string | string[] | undefined | null) => ({ user: String(header) });

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

const frameworks: Record<string, Framework> = {
  'node:http': async (hub) => {
    const server = http.createServer(
      (req, res) => void hub.handle(req, res, { state: userOf(req.headers['x-user']) }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => closeServer(server),
    };
  },
  'Express 5': async (hub) => {
    const app = express();
    app.get('/events', (req, res) => void hub.handle(req, res, { state: userOf(req.headers['x-user']) }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => closeServer(server),
    };
  },
  'Fastify 5': async (hub) => {
    const app = Fastify();
    app.get('/events', (request, reply) => {
      reply.hijack();
      void hub.handle(request.raw, reply.raw, { state: userOf(request.headers['x-user']) });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
  'Hono on @hono/node-server': async (hub) => {
    const app = new Hono();
    app.get('/events', (c) => hub.fetch(c.req.raw, { state: userOf(c.req.header('x-user')) }));
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    return {
      base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => closeServer(server as Server),
    };
  },
};

for (const [name, start] of Object.entries(frameworks)) {
  describe(`Hub per-connection API on ${name}`, () => {
    test('connect and disconnect carry the request and the state; hub.send reaches that connection alone', async () => {
      const hub = new Hub({ logger: null });
      const running = await start(hub);
      const connects: ConnectionInfo[] = [];
      const disconnects: ConnectionInfo[] = [];
      hub.on('connect', (info) => {
        connects.push(info);
        hub.send(info.id, { event: 'welcome', data: `hello ${(info.state as { user: string }).user}` });
      });
      hub.on('disconnect', (info) => disconnects.push(info));
      const ada = await connectSse(`${running.base}/events?topic=chat`, { 'x-user': 'ada' });
      const bob = await connectSse(`${running.base}/events?topic=chat`, { 'x-user': 'bob' });
      await ada.until((c) => c.events.length === 1);
      await bob.until((c) => c.events.length === 1);
      assert.deepEqual(
        [ada.events[0]!.type, ada.events[0]!.data, bob.events[0]!.data],
        ['welcome', 'hello ada', 'hello bob'],
      );
      const [first, second] = connects;
      assert.deepEqual(first!.state, { user: 'ada' });
      assert.match(first!.request!.url, /\/events\?topic=chat$/);
      assert.equal(first!.request!.headers['x-user'], 'ada');
      assert.deepEqual(first!.selectors, ['chat']);
      // A private message to bob only, then a broadcast: bob gets both, in order; ada only the broadcast.
      assert.equal(hub.send(second!.id, { data: 'psst' }), true);
      await hub.publish('chat', { text: 'hi all' }, { json: true });
      await bob.until((c) => c.events.length === 3);
      await ada.until((c) => c.events.length === 2);
      assert.deepEqual(
        bob.events.map((e) => e.data),
        ['hello bob', 'psst', '{"text":"hi all"}'],
      );
      assert.deepEqual(
        ada.events.map((e) => e.data),
        ['hello ada', '{"text":"hi all"}'],
      );
      ada.close();
      await new Promise<void>((r) => hub.once('disconnect', () => r()));
      assert.equal(disconnects.length, 1);
      assert.equal(disconnects[0]!.id, first!.id);
      assert.deepEqual(disconnects[0]!.state, { user: 'ada' });
      assert.equal(disconnects[0]!.request!.headers['x-user'], 'ada');
      assert.equal(hub.send(first!.id, { data: 'gone' }), false);
      bob.close();
      await hub.close();
      await running.close();
    });
  });
}

describe('Hub per-connection API', () => {
  test('without a state, connect still has the request and disconnect has neither (nothing is kept)', async () => {
    const hub = new Hub({ logger: null });
    const controller = new AbortController();
    const connected = new Promise<ConnectionInfo>((r) => hub.once('connect', r));
    const disconnected = new Promise<ConnectionInfo>((r) => hub.once('disconnect', r));
    await hub.fetch(
      new Request('http://x/events?topic=t', { signal: controller.signal, headers: { 'x-a': '1' } }),
    );
    const info = await connected;
    assert.equal(info.request!.url, 'http://x/events?topic=t');
    assert.equal(info.request!.headers['x-a'], '1');
    assert.equal(info.state, undefined);
    controller.abort();
    const gone = await disconnected;
    assert.equal(gone.request, undefined);
    assert.equal(gone.state, undefined);
    await hub.close();
  });

  test('a message sent to a connection still writing its history goes out after it; a bad field throws', async () => {
    // A history longer than one slice (half of maxBufferedBytes): connect comes while it is being written.
    const hub = new Hub({ logger: null, maxBufferedBytes: 4096 });
    const a = await hub.publish('t', 'a');
    const history: string[] = [];
    for (let i = 0; i < 60; i++) history.push((await hub.publish('t', `${i} ${'h'.repeat(200)}`)).data);
    hub.once('connect', (info) => {
      assert.throws(() => hub.send(info.id, { event: 'a\nb', data: 'x' }), { code: 'INVALID_FIELD' });
      hub.send(info.id, { event: 'note', data: 'after history' });
    });
    const response = await hub.fetch(
      new Request('http://x/?topic=t', { headers: { 'last-event-id': a.id } }),
    );
    const events: ParsedEvent[] = [];
    const parser = new EventStreamParser({ onEvent: (e) => events.push(e) });
    const reader = response.body!.getReader();
    while (events.length < history.length + 1) parser.push((await reader.read()).value!);
    assert.deepEqual(
      events.map((e) => e.data),
      [...history, 'after history'],
    );
    await reader.cancel();
    await hub.close();
  });

  test('publish with { json: true } sends JSON text; the string path is unchanged; no JSON form is refused', async () => {
    const hub = new Hub({ logger: null });
    const stored = await hub.publish('t', { n: 1, s: 'é' }, { json: true });
    assert.equal(stored.data, '{"n":1,"s":"é"}');
    assert.equal((await hub.publish('t', '{"raw":true}')).data, '{"raw":true}');
    assert.equal((await hub.publish('t', 'already text', { json: true })).data, '"already text"');
    await assert.rejects(hub.publish('t', undefined, { json: true }), { code: 'INVALID_UPDATE' });
    // @ts-expect-error: without `json: true`, data must be a string
    await assert.rejects(hub.publish('t', { n: 1 }), /data must be a string/);
    await hub.close();
  });

  test('send to an unknown connection returns false', () => {
    const hub = new Hub({ logger: null });
    assert.equal(hub.send(123_456, { data: 'x' }), false);
    void hub.close();
  });
});
