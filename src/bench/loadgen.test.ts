import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { encodeEvent } from '../protocol/index.js';
import { SubscriberPool } from './pool.js';
import { publish } from './publisher.js';
import { fanout, reconnectStorm } from './scenarios.js';

/**
 * A tiny SSE server for the load generator to measure: GET /events?topic=X subscribes (chunked, as
 * node:http sends it), POST /publish with a form body `topic=X&data=...` sends one event with an id to every
 * subscriber of the topic, and `Last-Event-ID` replays what followed that id.
 */
function startServer() {
  const subscribers = new Map<string, Set<http.ServerResponse>>();
  const history: Array<{ id: number; topic: string; bytes: Uint8Array }> = [];
  let nextId = 1;
  let published = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/events') {
      const topic = url.searchParams.get('topic') ?? 'all';
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': hello\n\n');
      const last = Number(req.headers['last-event-id'] ?? 'NaN');
      if (!Number.isNaN(last)) {
        for (const e of history) if (e.id > last && e.topic === topic) res.write(e.bytes);
      }
      const set = subscribers.get(topic) ?? new Set();
      subscribers.set(topic, set);
      set.add(res);
      req.on('close', () => set.delete(res));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/publish') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const topic = form.get('topic') ?? 'all';
        const id = nextId++;
        const bytes = encodeEvent({ id: String(id), data: form.get('data') ?? '' });
        history.push({ id, topic, bytes });
        published++;
        for (const s of subscribers.get(topic) ?? []) s.write(bytes);
        res.writeHead(200, { 'content-length': '2' }).end('ok');
      });
      return;
    }
    res.writeHead(404).end();
  });
  return {
    server,
    get published() {
      return published;
    },
    listen: () =>
      new Promise<number>((r) =>
        server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)),
      ),
  };
}

describe('load generator against a tiny SSE server', () => {
  const app = startServer();
  let base = '';
  before(async () => {
    base = `http://127.0.0.1:${await app.listen()}`;
  });
  after(() => {
    app.server.closeAllConnections();
    app.server.close();
  });

  test('fan-out: every subscriber on two workers receives every published event', async () => {
    const result = await fanout({
      url: `${base}/events?topic=one`,
      connections: 36,
      workers: 2,
      settle: 0.2,
      publish: { url: `${base}/publish`, rate: 40, duration: 0.5, body: 'topic=one&data={"t":%T}' },
    });
    assert.equal(result.connect.connected, 36);
    assert.equal(result.connect.failed, 0);
    assert.ok(result.publish.ok > 0);
    assert.equal(result.publish.ok, result.publish.sent);
    assert.equal(result.expected, result.publish.ok * 36);
    assert.equal(result.delivered, result.expected);
    assert.equal(result.latency.samples, result.delivered);
  });

  test('many topics: %I spreads subscribers and publishes over topics, one delivery per publish', async () => {
    const result = await fanout({
      url: `${base}/events?topic=t%I`,
      connections: 24,
      topics: 24,
      workers: 2,
      settle: 0.2,
      publish: { url: `${base}/publish`, rate: 96, duration: 0.5, body: 'topic=t%I&data={"t":%T}' },
    });
    assert.equal(result.connect.connected, 24);
    assert.equal(result.delivered, result.publish.ok);
    assert.equal(result.expected, result.publish.ok);
  });

  test('a non-200 answer is counted, not taken for a subscription', async () => {
    const pool = await SubscriberPool.open({ url: `${base}/missing`, connections: 5, workers: 1 });
    try {
      assert.equal(pool.connectReport.connected, 0);
      assert.equal(pool.connectReport.non200, 5);
    } finally {
      await pool.close();
    }
  });

  test('connects the server never answers are abandoned after the timeout and counted as failed', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const pool = await SubscriberPool.open({
      url: `http://127.0.0.1:${port}/events`,
      connections: 12,
      workers: 1,
      connectConcurrency: 5,
      connectTimeoutMs: 300,
    });
    try {
      assert.equal(pool.connectReport.connected, 0);
      assert.equal(pool.connectReport.failed, 12);
      assert.equal(pool.connectReport.errorCodes.TIMEOUT, 12);
    } finally {
      await pool.close();
      silent.close();
    }
  });

  test('the publisher sends exactly `count` requests with %T filled in', async () => {
    const before = app.published;
    const report = await publish({
      url: `${base}/publish`,
      rate: 500,
      duration: 5,
      count: 25,
      connections: 3,
    });
    assert.equal(report.sent, 25);
    assert.equal(report.ok, 25);
    assert.deepEqual(report.statuses, { 200: 25 });
    assert.equal(app.published - before, 25);
  });

  test('reconnect storm: each subscriber resuming with Last-Event-ID gets the backlog after it', async () => {
    const result = await reconnectStorm({
      url: `${base}/events?topic=storm`,
      connections: 30,
      workers: 2,
      backlog: 20,
      publish: { url: `${base}/publish`, rate: 200, body: 'topic=storm&data={"t":%T}' },
    });
    assert.notEqual(result.lastEventId, '');
    assert.equal(result.connect.connected, 30);
    assert.equal(result.caughtUp, 30);
    assert.ok(result.allCaughtUpMs >= 0);
  });
});
