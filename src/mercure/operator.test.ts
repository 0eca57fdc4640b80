/**
 * The operator's surface of the hub: where /metrics and the dashboard are served (the admin listener, the
 * admin token), metric names, what the hub logs about refused requests, and a store that does not answer
 * at start.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { Engine } from '../engines/engine.js';
import { MemoryEngine } from '../engines/memory/index.js';
import { loadConfig } from './config.js';
import { legacyToken, publish, SECRET, startHub } from './hub.test-helpers.js';
import { MercureServer } from './server.js';

const ADMIN_TOKEN = 'admin-token-0123456789';

describe('hub operator surface', () => {
  test('--admin-addr serves /metrics and health on a listener of its own, and the public port stops serving /metrics', async (t) => {
    const hub = await startHub(t, ['--admin-addr', '127.0.0.1:0']);
    assert.ok(hub.adminOrigin !== undefined);
    assert.notEqual(hub.adminOrigin, hub.origin);
    const metrics = await fetch(`${hub.adminOrigin}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /crier_connections /);
    assert.equal((await fetch(`${hub.adminOrigin}/healthz`)).status, 200);
    assert.equal((await fetch(`${hub.adminOrigin}/readyz`)).status, 200);
    const publicMetrics = await fetch(`${hub.origin}/metrics`);
    assert.equal(publicMetrics.status, 404);
    assert.match(await publicMetrics.text(), /admin listener/);
    // The admin listener is not a second public hub: no publishing, no landing page.
    const token = await legacyToken({ publish: ['*'] });
    const post = await fetch(hub.url.replace(hub.origin, hub.adminOrigin!), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: new URLSearchParams({ topic: 'x', data: 'y' }),
    });
    assert.equal(post.status, 404);
    assert.equal((await fetch(`${hub.adminOrigin}/`)).status, 404);
  });

  test('--admin-token guards /metrics with a bearer token, compared whole', async (t) => {
    const hub = await startHub(t, ['--admin-token', ADMIN_TOKEN]);
    const none = await fetch(`${hub.origin}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await fetch(`${hub.origin}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
    });
    assert.equal(wrong.status, 401);
    const right = await fetch(`${hub.origin}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(right.status, 200);
    // The hub itself and health checks need no admin token.
    assert.equal((await fetch(`${hub.origin}/healthz`)).status, 200);
  });

  test('a browser signs in to the dashboard once with ?token=: an HttpOnly cookie, and the token leaves the address', async (t) => {
    const hub = await startHub(t, ['--admin-token', ADMIN_TOKEN, '--dashboard']);
    hub.mount((req, res) => {
      if (!req.url?.startsWith('/dashboard/')) return false;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('dashboard');
      return true;
    });
    assert.equal((await fetch(`${hub.origin}/dashboard/`)).status, 401);
    const signIn = await fetch(`${hub.origin}/dashboard/?token=${ADMIN_TOKEN}`, { redirect: 'manual' });
    assert.equal(signIn.status, 303);
    assert.equal(signIn.headers.get('location'), '/dashboard/');
    const cookie = signIn.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^crier_admin=.*; Path=\/dashboard; HttpOnly; SameSite=Strict$/);
    const page = await fetch(`${hub.origin}/dashboard/`, { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(page.status, 200);
    assert.equal(await page.text(), 'dashboard');
    const bad = await fetch(`${hub.origin}/dashboard/?token=nope`, { redirect: 'manual' });
    assert.equal(bad.status, 401);
  });

  test('metrics: crier_* names with one prefix, the standard process_* and nodejs_* ones, and Mercure’s three', async (t) => {
    const hub = await startHub(t);
    const text = await (await fetch(`${hub.origin}/metrics`)).text();
    assert.doesNotMatch(text, /crier_process_process_/);
    assert.doesNotMatch(text, /^crier_process_/m);
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    for (const name of [
      'mercure_subscribers_connected',
      'mercure_subscribers_total',
      'mercure_updates_total',
    ])
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    const token = await legacyToken({ publish: ['*'] });
    assert.equal((await publish(hub, [['topic', 'a']], token)).status, 200);
    const after = await (await fetch(`${hub.origin}/metrics`)).text();
    assert.match(after, /^mercure_updates_total 1$/m);
    assert.match(after, /^crier_updates_total 1$/m);
  });

  test('a refused request is logged at debug with its reason and request ID, the ID the response carries', async (t) => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
        done();
      },
    });
    const { config } = loadConfig({ argv: ['--port', '0', '--jwt-key', SECRET, '--log-level', 'debug'] });
    const hub = await MercureServer.create(config, { logger: pino({ level: 'debug' }, sink) });
    await hub.listen();
    t.after(() => hub.close());

    const expired = await legacyToken({ publish: ['*'] }, { expiresIn: -10 });
    const refused = await publish(hub, [['topic', 'a']], expired);
    assert.equal(refused.status, 401);
    const id = refused.headers.get('x-request-id');
    assert.ok(id);
    const forbidden = await publish(hub, [['topic', 'b']], await legacyToken({ publish: ['a'] }), {
      'x-request-id': 'trace-42',
    });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers.get('x-request-id'), 'trace-42');
    const injected = await publish(hub, [['topic', 'b']], undefined, { 'x-request-id': 'a b' });
    assert.notEqual(injected.headers.get('x-request-id'), 'a b', 'a request ID with a space is replaced');

    await new Promise((r) => setImmediate(r));
    const refusals = lines.filter((l) => l.msg === 'refused');
    const first = refusals.find((l) => l.requestId === id);
    assert.ok(first, `a refusal logged for ${id}: ${JSON.stringify(refusals)}`);
    assert.equal(first.level, 20); // debug
    assert.equal(first.status, 401);
    assert.match(String(first.reason), /expired|exp/i);
    const second = refusals.find((l) => l.requestId === 'trace-42');
    assert.equal(second?.status, 403);
    assert.match(String(second?.reason), /b/);
    // Successful publishes are logged at debug only (a busy hub takes thousands a second).
    const ok = await publish(hub, [['topic', 'a']], await legacyToken({ publish: ['*'] }));
    assert.equal(ok.status, 200);
    await new Promise((r) => setImmediate(r));
    const requestLines = lines.filter((l) => l.msg === 'request');
    assert.ok(requestLines.length >= 4);
    assert.ok(requestLines.every((l) => l.level === 20));
  });

  test('a store that does not answer at start fails MercureServer.create within --start-timeout, naming the reason', async () => {
    let closed = false;
    const memory = new MemoryEngine();
    const unreachable: Engine = Object.assign(Object.create(memory) as Engine, {
      name: 'unreachable',
      readAll: () => Promise.reject(new Error('connection refused (127.0.0.1:1)')),
      close: async () => {
        closed = true;
      },
    });
    const { config } = loadConfig({
      argv: ['--port', '0', '--start-timeout', '600ms', '--log-level', 'silent'],
    });
    const started = Date.now();
    await assert.rejects(MercureServer.create(config, { engine: unreachable }), (error: Error) => {
      assert.match(error.message, /did not answer within 600ms \(--start-timeout\): connection refused/);
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= 500 && took < 5_000, `gave up after the bound (${took} ms)`);
    assert.ok(closed, 'the engine was closed, so no reconnect timer keeps the process alive');
  });
});
