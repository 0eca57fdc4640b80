/**
 * Connections as an attack on file descriptors: thousands of sockets from several 127.0.0.x addresses
 * that never send a request, and subscribers that take every descriptor there is. The hub runs with a low
 * open-file limit (prlimit), far below the test process's own. Publishes, /healthz and /metrics still
 * answer; idle sockets are closed after --headers-timeout; subscribers past the reserve get 503.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type HubProcess, publishForm, startHub, token } from '../support/hub-process.js';

const TOPIC = 'https://example.com/fd';

/** Opens a TCP connection from `localAddress`; resolves with the socket, or null when refused. */
function open(port: number, localAddress: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(null));
    socket.on('error', () => {});
  });
}

const openDescriptors = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** A publish, /healthz and /metrics, each within 5 s. */
async function stillAnswers(hub: HubProcess): Promise<void> {
  const publisher = await token({ publish: ['*'] });
  const published = await publishForm(
    hub.url,
    [
      ['topic', TOPIC],
      ['data', 'still here'],
    ],
    publisher,
    {},
  );
  assert.equal(published.status, 200, `publish: ${published.body}`);
  for (const path of ['/healthz', '/metrics']) {
    const res = await fetch(new URL(path, hub.origin), { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200, path);
    await res.text();
  }
}

describe('connections that never send a request', () => {
  test('4,000 idle sockets from 16 addresses against a 2,048-descriptor hub: a publish, /healthz and /metrics answer; every idle socket is closed after --headers-timeout', {
    timeout: 60_000,
  }, async (t: TestContext) => {
    const hub = await startHub(t, {
      args: ['--anonymous', '--headers-timeout', '2s'],
      wrapper: ['prlimit', '--nofile=2048:2048', '--'],
    });
    const sockets: Socket[] = [];
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    let closed = 0;
    for (let batch = 0; batch < 40; batch++) {
      const opened = await Promise.all(
        Array.from({ length: 100 }, (_, i) => open(hub.port, `127.0.0.${2 + ((batch * 100 + i) % 16)}`)),
      );
      for (const s of opened) {
        if (s === null) {
          closed++;
          continue;
        }
        sockets.push(s);
        s.resume(); // reads what comes (nothing but the close), sends nothing
        s.once('close', () => closed++);
      }
    }
    const descriptors = openDescriptors(hub.pid);
    t.diagnostic(
      `4,000 idle sockets opened; the hub holds ${descriptors} descriptors, ${closed} closed so far`,
    );
    assert.ok(descriptors < 2048, `the hub is below its descriptor limit (${descriptors})`);
    await stillAnswers(hub);
    const metrics = await (await fetch(new URL('/metrics', hub.origin))).text();
    const pending = Number(/^crier_pending_connections (\d+)/m.exec(metrics)?.[1]);
    assert.ok(pending > 0 && pending <= 1024, `pending connections in /metrics: ${pending}`);
    const started = Date.now();
    while (closed < 4000 && Date.now() - started < 10_000) await sleep(100);
    t.diagnostic(`every idle socket closed ${Date.now() - started} ms after the attack`);
    assert.equal(closed, 4000, 'every idle socket was closed');
    assert.ok(hub.alive());
  });

  test('subscribers that take every descriptor but the reserve are refused with 503 and Retry-After; a publish, /healthz and /metrics still answer', {
    timeout: 60_000,
  }, async (t: TestContext) => {
    const hub = await startHub(t, {
      args: ['--anonymous', '--fd-reserve', '128'],
      wrapper: ['prlimit', '--nofile=1024:1024', '--'],
    });
    const sockets: Socket[] = [];
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    const path = `/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`;
    const statuses = new Map<number, number>();
    let retryAfter = false;
    for (let batch = 0; batch < 12; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const s = await open(hub.port, `127.0.0.${2 + ((batch * 100 + i) % 8)}`);
          if (s === null) return 0;
          sockets.push(s);
          s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
          return new Promise<number>((resolve) => {
            let head = '';
            s.setEncoding('latin1');
            s.on('data', (c: string) => {
              head += c;
              const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
              if (m && head.includes('\r\n\r\n')) {
                if (m[1] === '503' && /\r\nretry-after: \d+/i.test(head)) retryAfter = true;
                resolve(Number(m[1]));
              }
            });
            s.once('close', () => resolve(0));
          });
        }),
      );
      for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const descriptors = openDescriptors(hub.pid);
    t.diagnostic(
      `1,200 subscribers: ${[...statuses].map(([s, n]) => `${n} × ${s || 'no answer'}`).join(', ')}; the hub holds ${descriptors} descriptors of 1,024`,
    );
    assert.ok((statuses.get(200) ?? 0) > 700, 'most of the descriptors went to subscribers');
    assert.ok((statuses.get(503) ?? 0) > 0, 'subscribers past the reserve were refused with 503');
    assert.ok(retryAfter, 'the 503 says when to retry');
    assert.equal(statuses.get(0) ?? 0, 0, 'no subscriber went unanswered');
    await stillAnswers(hub);
  });
});
