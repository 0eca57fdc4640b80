// Recipes for Express 5, Fastify 5 and Hono (on @hono/node-server), each run as a real server with a real
// client. The same recipes are in docs/library.md.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { connectSse } from './client.test-helpers.js';
import { Hub } from './hub.js';

async function exercise(hub: Hub, url: string): Promise<void> {
  const first = await hub.publish('news', 'before');
  const c = await connectSse(`${url}/events?topic=news`, { 'last-event-id': first.id });
  assert.equal(c.status, 200);
  assert.match(String(c.headers['content-type']), /^text\/event-stream/);
  assert.equal(c.headers['cache-control'], 'no-cache, no-transform');
  await hub.publish('news', 'after');
  await c.until((x) => x.events.length === 1);
  assert.equal(c.events[0]!.data, 'after');
  const bad = await connectSse(`${url}/events`);
  await bad.ended;
  assert.equal(bad.status, 400);
  c.close();
  await hub.close();
}

describe('framework recipes', () => {
  test('Express 5: app.get(path, (req, res) => hub.handle(req, res))', async () => {
    const hub = new Hub({ logger: null });
    const app = express();
    app.get('/events', (req, res) => {
      void hub.handle(req, res);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    await exercise(hub, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('Fastify 5: reply.hijack(), then hub.handle(request.raw, reply.raw)', async () => {
    const hub = new Hub({ logger: null });
    const app = Fastify();
    app.get('/events', (request, reply) => {
      reply.hijack();
      void hub.handle(request.raw, reply.raw);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    await exercise(hub, `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    app.server.closeAllConnections();
    await app.close();
  });

  test('Hono on @hono/node-server: app.get(path, (c) => hub.fetch(c.req.raw))', async () => {
    const hub = new Hub({ logger: null });
    const app = new Hono();
    app.get('/events', (c) => hub.fetch(c.req.raw));
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    await exercise(hub, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    (server as import('node:http').Server).closeAllConnections();
    await new Promise((r) => server.close(r));
  });
});
