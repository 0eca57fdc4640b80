/**
 * Requests built to exhaust the hub: oversized headers, slowloris subscribers, 100,000 topics, oversized
 * bodies. Each is refused with a 4xx (or held without harm), and the hub keeps serving everyone else.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  type HubProcess,
  publishForm,
  startHub,
  subscribe,
  token,
  topicUrl,
  treeRssKiB,
} from '../support/hub-process.js';

const TOPIC = 'https://example.com/limits';

/** Sends raw bytes on a fresh connection and resolves with the status of the response (0 if none). */
function rawStatus(port: number, bytes: string | Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      head += c;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(head) ? Number(head.slice(9, 12)) : 0));
    socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(head) ? Number(head.slice(9, 12)) : 0));
    socket.write(bytes, () => {});
  });
}

describe('resource limits', () => {
  let hub: HubProcess;
  let publisher: string;
  before(async () => {
    hub = await startHub(undefined, { args: ['--anonymous'] });
    publisher = await token({ publish: ['*'] });
  });
  after(() => hub.stop('SIGKILL'));

  /** The hub still publishes and delivers. */
  async function stillServing(t: TestContext): Promise<void> {
    const stream = await subscribe(t, topicUrl(hub.url, [TOPIC]));
    assert.equal(stream.status, 200);
    assert.equal(
      (
        await publishForm(
          hub.url,
          [
            ['topic', TOPIC],
            ['data', 'alive'],
          ],
          publisher,
        )
      ).status,
      200,
    );
    const [event] = await stream.waitFor(1);
    assert.equal(event!.data, 'alive');
    stream.close();
  }

  test('oversized request headers get 431 and the hub keeps serving', async (t) => {
    const big = 'a'.repeat(64 * 1024);
    const status = await rawStatus(
      hub.port,
      `GET /.well-known/mercure?topic=x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${big}\r\n\r\n`,
    );
    assert.equal(status, 431);
    const manyHeaders = Array.from({ length: 5000 }, (_, i) => `X-H${i}: ${'v'.repeat(8)}\r\n`).join('');
    assert.equal(
      await rawStatus(hub.port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${manyHeaders}\r\n`),
      431,
    );
    // A huge URL (the request line counts toward the same limit).
    assert.equal(
      await rawStatus(
        hub.port,
        `GET /.well-known/mercure?topic=${'x'.repeat(70_000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
      ),
      431,
    );
    await stillServing(t);
  });

  test('a subscribe with 100,000 topics is refused with a 4xx, and so are 1,001 (one over --max-topics)', async (t) => {
    const many = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
    const url = topicUrl(hub.url, many);
    const path = url.slice(hub.origin.length);
    const status = await rawStatus(hub.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    assert.ok(status === 431 || status === 400 || status === 414, `status ${status}`);
    const justOver = await subscribe(t, topicUrl(hub.url, many.slice(0, 1001)));
    assert.equal(justOver.status, 400);
    assert.match(justOver.raw, /1000|topics/i);
    const atLimit = await subscribe(t, topicUrl(hub.url, many.slice(0, 1000)));
    assert.equal(atLimit.status, 200, 'the control: exactly --max-topics selectors are accepted');
    atLimit.close();
    await stillServing(t);
  });

  test('a publish with 100,000 topics is a 400 on the form and JSON APIs, and memory stays bounded', async (t) => {
    const rssBefore = treeRssKiB(hub.pid)!;
    // Short names so the body stays under --max-body (1 MiB): the topic count is what is refused.
    const topics = Array.from({ length: 100_000 }, (_, i) => `t${i % 100}`);
    const form = topics.map((tp) => `topic=${tp}`).join('&');
    for (let i = 0; i < 10; i++) {
      const res = await fetch(hub.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${publisher}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form,
      });
      assert.equal(res.status, 400, await res.text());
      const json = await fetch(new URL('/v1/publish', hub.origin), {
        method: 'POST',
        headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topics, data: 'x' }),
      });
      assert.equal(json.status, 400);
    }
    const rssAfter = treeRssKiB(hub.pid)!;
    assert.ok(rssAfter - rssBefore < 200 * 1024, `RSS grew ${rssAfter - rssBefore} KiB`);
    await stillServing(t);
  });

  test('a token carrying 100,000 selectors is refused (401, or 431 for the header it makes) and the hub keeps serving', async (t) => {
    const huge = await token({ subscribe: Array.from({ length: 100_000 }, (_, i) => `https://e.x/${i}`) });
    // Over 16 KiB the header itself is refused before the hub reads it: node:http answers 431 and closes
    // at once, so a client still writing the 3 MB header may see its write reset instead of the answer.
    const answer = await fetch(topicUrl(hub.url, [TOPIC]), {
      headers: { authorization: `Bearer ${huge}` },
    }).then(
      (res) => String(res.status),
      (error: Error) => (error.cause as { code?: string } | undefined)?.code ?? error.message,
    );
    assert.ok(['401', '431', 'ECONNRESET', 'EPIPE'].includes(answer), `answered ${answer}`);
    await stillServing(t);
  });

  test('a publish body over --max-body is 413, declared or chunked, and nothing is published', async (t) => {
    const stream = await subscribe(t, topicUrl(hub.url, [TOPIC]));
    const body = `topic=${encodeURIComponent(TOPIC)}&data=${'x'.repeat(2 * 1024 * 1024)}`;
    const declared = await fetch(hub.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    assert.equal(declared.status, 413);
    // Chunked: no Content-Length, so the limit must hold while reading.
    let sent = 0;
    const chunks = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0)
          controller.enqueue(new TextEncoder().encode(`topic=${encodeURIComponent(TOPIC)}&data=`));
        else if (sent <= 40) controller.enqueue(new Uint8Array(64 * 1024).fill(0x78));
        else controller.close();
        sent++;
      },
    });
    const chunked = await fetch(hub.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: chunks,
      duplex: 'half',
    } as RequestInit).catch((error: unknown) => ({ status: -1, error }));
    // The hub answers 413 and closes; the client may see the answer or a reset while still sending.
    assert.ok(chunked.status === 413 || chunked.status === -1, `status ${chunked.status}`);
    const jsonBatch = await fetch(new URL('/v1/publish', hub.origin), {
      method: 'POST',
      headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: 1001 }, () => ({ topics: [TOPIC], data: 'x' }))),
    });
    assert.equal(jsonBatch.status, 400, 'a batch of more than 1,000 updates is refused whole');
    assert.equal(
      (
        await publishForm(
          hub.url,
          [
            ['topic', TOPIC],
            ['data', 'after'],
          ],
          publisher,
        )
      ).status,
      200,
    );
    const [first] = await stream.waitFor(1);
    assert.equal(first!.data, 'after', 'nothing from the refused publishes reached the subscriber');
  });

  test('slowloris: 1,000 connections sending their headers byte by byte do not stop the hub serving others', async (t) => {
    const sockets: Socket[] = [];
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    const head = `GET /.well-known/mercure?topic=${encodeURIComponent(TOPIC)} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `;
    await Promise.all(
      Array.from(
        { length: 1000 },
        () =>
          new Promise<void>((resolve) => {
            // From other addresses than the clients served meanwhile (127.0.0.1): the hub holds at most
            // --max-pending-per-ip unfinished heads per address and closes the rest at once.
            const localAddress = `127.0.0.${2 + (sockets.length % 8)}`;
            const s = connect({ port: hub.port, host: '127.0.0.1', localAddress }, () => {
              s.write(head.slice(0, 20));
              resolve();
            });
            s.on('error', () => resolve());
            sockets.push(s);
          }),
      ),
    );
    // Drip one byte per connection for a few rounds while real clients use the hub.
    for (let round = 0; round < 5; round++) {
      for (const s of sockets) if (!s.destroyed) s.write('a');
      await stillServing(t);
      const health = await fetch(new URL('/healthz', hub.origin));
      assert.equal(health.status, 200);
    }
    const open = sockets.filter((s) => !s.destroyed).length;
    assert.ok(open > 0, 'the slow connections were held while the hub served others');
    assert.ok(hub.alive());
  });
});
