import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { MAX_FAST_HEAD, parseSubscribeHead } from './fast-accept.js';
import { accessToken, legacyToken, publish, startHub } from './hub.test-helpers.js';
import type { MercureServer } from './server.js';

const PATH = '/.well-known/mercure';

/** Sends `parts` (one write each, `gapMs` apart) and returns what came back within `waitMs`. */
async function exchange(
  port: number,
  parts: Array<string | Buffer>,
  { gapMs = 30, waitMs = 300, until }: { gapMs?: number; waitMs?: number; until?: RegExp } = {},
): Promise<{ text: string; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let text = '';
  let closed = false;
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  for (const [i, part] of parts.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    socket.write(part);
  }
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && !closed && (until === undefined || !until.test(text)))
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 10))]);
  socket.destroy();
  return { text, closed };
}

const portOf = (hub: MercureServer) => Number(new URL(hub.url).port);
/** A response with the parts that differ between two runs (date, request ID, port, jittered retry) masked. */
const masked = (text: string) =>
  text
    .replace(/Date: [^\r]*\r\n/, 'Date: -\r\n')
    .replace(/x-request-id: [^\r]*\r\n/, 'x-request-id: -\r\n')
    .replace(/127\.0\.0\.1:\d+/g, 'HOST')
    .replace(/retry: \d+/, 'retry: -')
    .replace(/\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\n/, '\r\nConnection: close\r\n');

describe('parseSubscribeHead', () => {
  test('reads a head as node:http reads it: lower-case names, trimmed values, repeats combined the same way', async (t) => {
    const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders }> = [];
    const server = createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const { port } = server.address() as AddressInfo;
    const heads = [
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: a\r\n\r\n`,
      `GET ${PATH} HTTP/1.1\r\nhOsT: a:1\r\nAccept:text/event-stream\r\nX-Pad: \t v  \t\r\n\r\n`,
      `GET ${PATH}?topic=a&topic=b%20c HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\ncookie: b=2\r\nAccept: x\r\nACCEPT: y\r\n\r\n`,
      `GET ${PATH}?t=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer one\r\nAuthorization: Bearer two\r\nUser-Agent: u1\r\nuser-agent: u2\r\n\r\n`,
      `GET ${PATH} HTTP/1.1\r\nHost: a\r\nSet-Cookie: a\r\nSet-Cookie: b\r\nLast-Event-ID: caf\xe9\r\nX-Empty:\r\n\r\n`,
      `GET ${PATH} HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\nOrigin: http://o\r\n\r\n`,
    ];
    for (const head of heads) {
      const bytes = Buffer.from(head, 'latin1');
      const parsed = parseSubscribeHead(bytes, PATH);
      assert.ok(parsed !== null, `accepted: ${JSON.stringify(head)}`);
      await exchange(port, [bytes], { until: /\r\n\r\n/ });
      const node = seen.shift()!;
      assert.equal(parsed.method, node.method);
      assert.equal(parsed.url, node.url);
      assert.deepEqual({ ...parsed.headers }, { ...node.headers }, JSON.stringify(head));
    }
  });

  test('leaves to node:http anything but one complete, plain HTTP/1.1 GET head for the hub path', () => {
    const ok = `GET ${PATH}?topic=x HTTP/1.1\r\nHost: a\r\n\r\n`;
    assert.ok(parseSubscribeHead(Buffer.from(ok), PATH) !== null);
    const refused = [
      ok.slice(0, -2), // split: the blank line has not come yet
      ok.slice(0, 20),
      `${ok}GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n`, // pipelined
      ok.replace('GET', 'HEAD'),
      ok.replace('GET', 'POST'),
      ok.replace('GET', 'get'),
      ok.replace('HTTP/1.1', 'HTTP/1.0'),
      ok.replace('HTTP/1.1', 'HTTP/2.0'),
      ok.replace(PATH, `${PATH}/subscriptions`),
      ok.replace(PATH, `${PATH}x`),
      ok.replace(PATH, `/./${PATH.slice(1)}`),
      ok.replace(PATH, 'http://a/.well-known/mercure'),
      ok.replace('?topic=x', '?topic=x#f'),
      ok.replace('?topic=x', '?topic=\x7f'),
      ok.replace('?topic=x', '?topic=\xe9'),
      ok.replace('GET ', 'GET  '),
      ok.replace('Host: a\r\n', ''), // no Host
      ok.replace('Host: a\r\n', 'Host: a\r\nHost: b\r\n'),
      ok.replace('Host: a\r\n', 'Host : a\r\n'), // space before the colon
      ok.replace('Host: a\r\n', 'Host: a\r\nX-A: 1\r\n  folded\r\n'), // obs-fold
      ok.replace('Host: a\r\n', 'Host: a\r\nX-A: 1\x002\r\n'), // NUL
      ok.replace('Host: a\r\n', 'Host: a\r\nX-A: 1\r2\r\n'), // bare CR
      ok.replace('Host: a\r\n', 'Host: a\nX-A: 1\r\n'), // bare LF
      ok.replace('Host: a\r\n', 'Host: a\r\nX A: 1\r\n'),
      ok.replace('Host: a\r\n', 'Host: a\r\n: 1\r\n'),
      ok.replace('Host: a\r\n', 'Host: a\r\nno colon\r\n'),
      ok.replace('Host: a\r\n', 'Host: a\r\nContent-Length: 0\r\n'),
      ok.replace('Host: a\r\n', 'Host: a\r\nTransfer-Encoding: chunked\r\n'),
      ok.replace('Host: a\r\n', 'Host: a\r\nUpgrade: websocket\r\n'),
      ok.replace('Host: a\r\n', 'Host: a\r\nExpect: 100-continue\r\n'),
      ok.replace('Host: a\r\n', 'Host: a\r\n__proto__: x\r\n'),
      ok.replace('Host: a\r\n', `Host: a\r\nX-Big: ${'b'.repeat(MAX_FAST_HEAD)}\r\n`),
      ok.replace('Host: a\r\n', `Host: a\r\n${'X-N: 1\r\n'.repeat(65)}`),
    ];
    for (const head of refused)
      assert.equal(parseSubscribeHead(Buffer.from(head, 'latin1'), PATH), null, JSON.stringify(head));
  });
});

describe('the fast accept path', () => {
  test('answers a subscribe, its refusals and CORS with the bytes node:http sends, but Connection: close on a refusal', async (t) => {
    const argv = ['--cors-origins', 'http://app.example'];
    const fast = await startHub(t, argv);
    const slow = await startHub(t, [...argv, '--no-fast-accept']);
    const token = await legacyToken({ subscribe: ['*'] });
    const requests = [
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${token}\r\nOrigin: http://app.example\r\n\r\n`,
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: h\r\n\r\n`, // 401 with its challenge
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer nope\r\nOrigin: http://app.example\r\n\r\n`,
      `GET ${PATH}?topic=%zz HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${token}\r\n\r\n`, // 400
      `GET ${PATH} HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${token}\r\n\r\n`, // 400, no topic
    ];
    for (const request of requests) {
      const a = await exchange(portOf(fast), [request], { until: /\r\n\r\n[\s\S]*\r\n\r\n|retry: \d+\n\n/ });
      const b = await exchange(portOf(slow), [request], { until: /\r\n\r\n[\s\S]*\r\n\r\n|retry: \d+\n\n/ });
      assert.match(a.text, /^HTTP\/1\.1 (200|401|400) /);
      assert.equal(masked(a.text), masked(b.text), request);
    }
    const refused = await exchange(portOf(fast), [requests[1]!], { waitMs: 2_000 });
    assert.match(refused.text, /\r\nwww-authenticate: Bearer realm="Crier"\r\n/);
    assert.match(refused.text, /\r\nConnection: close\r\n/);
    assert.ok(refused.closed, 'the refused connection is closed');
  });

  test('a fast-path subscriber receives what is published, and shows in connections and the subscriptions API', async (t) => {
    const hub = await startHub(t, ['--anonymous', '--subscriptions']);
    const socket = net.connect(portOf(hub), '127.0.0.1');
    t.after(() => socket.destroy());
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    socket.write(`GET ${PATH}?topic=books HTTP/1.1\r\nHost: h\r\n\r\n`);
    while (!/retry: \d+\n\n/.test(text)) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(hub.hub.connectionCount, 1);
    const api = await fetch(`${hub.url}/subscriptions`, {
      headers: { authorization: `Bearer ${await accessToken(hub, { subscribe: [{ match: '*' }] })}` },
    });
    assert.match(await api.text(), /books/);
    const res = await publish(
      hub,
      [
        ['topic', 'books'],
        ['data', 'hello'],
      ],
      await legacyToken({ publish: ['*'] }),
    );
    assert.equal(res.status, 200);
    while (!text.includes('data: hello')) await new Promise((resolve) => setTimeout(resolve, 10));
    socket.destroy();
    while (hub.hub.connectionCount > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  });

  test('a head split over packets, a long head, HEAD, HTTP/1.0 and pipelined requests are served by node:http, no byte lost', async (t) => {
    const hub = await startHub(t, ['--anonymous', '--cors-origins', 'http://app.example']);
    const port = portOf(hub);
    const head = `GET ${PATH}?topic=x HTTP/1.1\r\nHost: h\r\n\r\n`;
    const split = await exchange(port, [head.slice(0, 7), head.slice(7, 30), head.slice(30)], {
      until: /retry: \d+\n\n/,
    });
    assert.match(split.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*text\/event-stream[\s\S]*retry: \d+\n\n/);
    const long = await exchange(
      port,
      [head.replace('\r\n\r\n', `\r\nX-Pad: ${'p'.repeat(MAX_FAST_HEAD)}\r\n\r\n`)],
      {
        until: /retry: \d+\n\n/,
      },
    );
    assert.match(long.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*retry: \d+\n\n/);
    const tooLong = await exchange(
      port,
      [head.replace('\r\n\r\n', `\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`)],
      {
        waitMs: 2_000,
      },
    );
    assert.match(tooLong.text, /^HTTP\/1\.1 431 /);
    const headOnly = await exchange(port, [head.replace('GET', 'HEAD')], { until: /\r\n\r\n/ });
    assert.match(
      headOnly.text,
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*content-type: text\/event-stream[\s\S]*\r\n\r\n$/,
    );
    const old = await exchange(port, [head.replace('HTTP/1.1', 'HTTP/1.0')], { until: /retry: \d+\n\n/ });
    assert.match(old.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(old.text, /Transfer-Encoding/);
    // Two health checks in one packet: both answered, in order.
    const health = 'GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n';
    const pipelined = await exchange(port, [health + health], { until: /ok[\s\S]*ok/ });
    assert.equal(pipelined.text.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    // A subscribe head with bytes after it: node:http reads it, the stream opens.
    const after = await exchange(port, [`${head}GET /healthz HTTP/1.1\r\n`], { until: /retry: \d+\n\n/ });
    assert.match(after.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*text\/event-stream[\s\S]*retry: \d+\n\n/);
    // A CORS preflight goes to node:http and gets its 204 with the allowed methods.
    const preflight = await exchange(
      port,
      [
        `OPTIONS ${PATH} HTTP/1.1\r\nHost: h\r\nOrigin: http://app.example\r\nAccess-Control-Request-Method: GET\r\n\r\n`,
      ],
      { until: /\r\n\r\n/ },
    );
    assert.match(
      preflight.text,
      /^HTTP\/1\.1 204 No Content\r\n[\s\S]*access-control-allow-methods: GET, QUERY, POST, OPTIONS\r\n/,
    );
    // And a publish over a connection whose first bytes the fast path looked at.
    const token = await legacyToken({ publish: ['*'] });
    const body = 'topic=x&data=1';
    const post = await exchange(
      port,
      [
        `POST ${PATH} HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${token}\r\n`,
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ],
      { until: /urn:uuid:/ },
    );
    assert.match(post.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*urn:uuid:/);
  });

  test("an obs-fold, a byte not allowed in a field or a missing Host gets node:http's 400", async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    for (const bad of [
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n`,
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: h\r\nX-A: 1\x012\r\n\r\n`,
      `GET ${PATH}?topic=x HTTP/1.1\r\n\r\n`,
    ]) {
      const res = await exchange(portOf(hub), [Buffer.from(bad, 'latin1')], { waitMs: 2_000 });
      assert.match(res.text, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(bad));
    }
  });

  test('Last-Event-ID in any case replays, and the token is read from the header, the cookie and the query', async (t) => {
    const hub = await startHub(t);
    const port = portOf(hub);
    const publisher = await legacyToken({ publish: ['*'] });
    for (const id of ['one', 'two'])
      await publish(
        hub,
        [
          ['topic', 'r'],
          ['data', id],
          ['id', id],
        ],
        publisher,
      );
    const token = await legacyToken({ subscribe: ['*'] });
    const ways = [
      `GET ${PATH}?topic=r HTTP/1.1\r\nhost: h\r\nlast-EVENT-id: one\r\nAUTHORIZATION: Bearer ${token}\r\n\r\n`,
      `GET ${PATH}?topic=r HTTP/1.1\r\nHost: h\r\nLast-Event-ID: one\r\nCookie: x=1; mercureAuthorization=${token}\r\n\r\n`,
      `GET ${PATH}?topic=r&authorization=${token} HTTP/1.1\r\nHost: h\r\nLast-Event-ID: one\r\n\r\n`,
    ];
    for (const request of ways) {
      const res = await exchange(port, [request], { until: /data: two\n/ });
      assert.match(res.text, /^HTTP\/1\.1 200 OK\r\n/, request);
      assert.match(res.text, /id: two\ndata: two\n/);
      assert.doesNotMatch(res.text, /data: one/);
    }
  });

  test('a connection that sends no head, or half of one, is closed after --headers-timeout; past --max-pending-per-ip at once', async (t) => {
    const hub = await startHub(t, ['--anonymous', '--headers-timeout', '300ms', '--max-pending-per-ip', '2']);
    const port = portOf(hub);
    const started = Date.now();
    const idle = exchange(port, [], { waitMs: 3_000 });
    const half = exchange(port, [`GET ${PATH}?topic=x HTTP/1.1\r\nHo`], { waitMs: 3_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const third = await exchange(port, [], { waitMs: 3_000 });
    assert.ok(third.closed && Date.now() - started < 250, 'the third pending connection is closed at once');
    for (const res of await Promise.all([idle, half])) {
      assert.ok(res.closed);
      assert.equal(res.text, '');
    }
    assert.ok(Date.now() - started >= 250);
    // A subscriber that sends its head in time is served.
    const ok = await exchange(port, [`GET ${PATH}?topic=x HTTP/1.1\r\nHost: h\r\n\r\n`], {
      until: /retry: \d+\n\n/,
    });
    assert.match(ok.text, /^HTTP\/1\.1 200 OK\r\n/);
  });
});
