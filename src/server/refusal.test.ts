// One refusal policy for every transport (refusal.ts): a subscriber arriving while the hub shuts down gets
// no answer — which an EventSource retries — over node:http, node:http2 and Fetch alike, and a bad request
// gets its 4xx. Each transport is checked on the wire and with an EventSource-semantics client (Crier's
// client with `retryStatuses: []`, which gives up on any non-200 status as a browser does), and in
// Chromium for the transports a page can reach without TLS.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { CrierEventSource } from '../client/event-source.js';
import type { SourceErrorEvent } from '../client/events.js';
import { launchChromium } from '../testing/browser.test-helpers.js';
import { ServerError } from './errors.js';
import { Hub } from './hub.js';
import { refusalFor } from './refusal.js';

/** What a client saw of a refused request: the status, if a response head came, and the body's size. */
interface Seen {
  status: number | null;
  /** Body bytes received. */
  bytes: number;
}

interface Served {
  url: string;
  /** One raw request as a client library sees it. */
  probe(path: string): Promise<Seen>;
  /** A fetch for the EventSource-semantics client (the global one, or one over HTTP/2). */
  fetch: typeof fetch;
  stop(): Promise<void>;
}

/** A same-origin page for Chromium to open its EventSource from. */
const PAGE = '<!doctype html><title>refusal</title>';

/** Serves whichever hub `current()` returns, so a "new server" can take over the same address. */
type Transport = (current: () => Hub) => Promise<Served>;

function probeHttp1(url: string): Promise<Seen> {
  return new Promise((resolve) => {
    let status: number | null = null;
    let bytes = 0;
    const req = http.get(url, (res) => {
      status = res.statusCode ?? null;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('close', () => resolve({ status, bytes }));
    });
    req.on('error', () => resolve({ status, bytes }));
  });
}

const nodeHttp: Transport = async (current) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/page') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else void current().handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    probe: (path) => probeHttp1(url + path),
    fetch: globalThis.fetch.bind(globalThis),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
};

const fetchOnHono: Transport = async (current) => {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const app = (request: Request) =>
      new URL(request.url).pathname === '/page'
        ? new Response(PAGE, { headers: { 'content-type': 'text/html' } })
        : current().fetch(request);
    const s = serve({ fetch: app, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    probe: (path) => probeHttp1(url + path),
    fetch: globalThis.fetch.bind(globalThis),
    stop: async () => {
      (server as http.Server).closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
};

/** A `fetch` over one HTTP/2 session: a stream reset before the response is a network error (TypeError). */
function http2Fetch(session: http2.ClientHttp2Session): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const stream = session.request({ ':path': url.pathname + url.search, ...headers });
    init?.signal?.addEventListener('abort', () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('error', () => {});
    return new Promise<Response>((resolve, reject) => {
      stream.once('response', (head) => {
        const out = new Headers();
        for (const [k, v] of Object.entries(head))
          if (!k.startsWith(':') && v !== undefined) out.set(k, String(v));
        const body = Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status: Number(head[':status']), headers: out }));
      });
      stream.once('close', () => reject(new TypeError(`HTTP/2 stream reset (code ${stream.rstCode})`)));
    });
  }) as typeof fetch;
}

const nodeHttp2: Transport = async (current) => {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => void current().handleStream(stream, headers));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const session = http2.connect(url);
  session.on('error', () => {});
  return {
    url,
    probe: (path) =>
      new Promise((resolve) => {
        let status: number | null = null;
        let bytes = 0;
        const stream = session.request({ ':path': path });
        stream.on('response', (head) => {
          status = Number(head[':status']);
        });
        stream.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        stream.on('error', () => {});
        stream.on('close', () => resolve({ status, bytes }));
      }),
    fetch: http2Fetch(session),
    stop: async () => {
      session.destroy();
      await new Promise((r) => server.close(r));
    },
  };
};

const TRANSPORTS: [string, Transport][] = [
  ['node:http', nodeHttp],
  ['node:http2', nodeHttp2],
  ['Fetch (Hono on @hono/node-server)', fetchOnHono],
];

describe('one refusal policy for every transport', () => {
  test('a shutdown is refused without an answer, a bad request with its 4xx, a bug with a 500', () => {
    const closed = refusalFor(new ServerError('HUB_CLOSED', 'bye'));
    assert.equal(closed.kind, 'reconnect');
    const bad = refusalFor(new ServerError('NO_SELECTOR', 'Name a topic.'));
    assert.deepEqual(bad.kind === 'answer' && [bad.status, bad.body], [400, 'Name a topic.\n']);
    const bug = refusalFor(new Error('secret detail'));
    assert.deepEqual(bug.kind === 'answer' && [bug.status, bug.body], [
      500,
      'The event stream could not be opened.\n',
    ]);
  });

  for (const [name, transport] of TRANSPORTS) {
    test(`${name}: a newcomer during shutdown gets no error status, only a connection that ends`, async () => {
      const hub = new Hub({ logger: null });
      const served = await transport(() => hub);
      await hub.close();
      const seen = await served.probe('/?topic=t');
      // No status that would make an EventSource give up: no response at all (node:http, node:http2), or
      // (Fetch, which must return a Response) an event stream that ends before its first byte.
      assert.deepEqual(seen, { status: name.startsWith('Fetch') ? 200 : null, bytes: 0 });
      await served.stop();
    });

    test(`${name}: a bad request is answered 400 with the reason`, async () => {
      const hub = new Hub({ logger: null });
      const served = await transport(() => hub);
      const seen = await served.probe('/');
      assert.equal(seen.status, 400);
      await served.stop();
      await hub.close();
    });

    test(`${name}: an EventSource refused by a server shutting down reconnects to the new server`, async () => {
      const old = new Hub({ logger: null });
      const fresh = new Hub({ logger: null });
      let current = old;
      const served = await transport(() => current);
      await old.close();
      const source = new CrierEventSource(`${served.url}/?topic=t`, {
        fetch: served.fetch,
        retryStatuses: [], // as a browser: any non-200 status is final
        retry: 20,
        jitter: 'none',
      });
      try {
        const errors: SourceErrorEvent[] = [];
        const refused = new Promise<void>((resolve) =>
          source.addEventListener('error', (e) => {
            errors.push(e as SourceErrorEvent);
            current = fresh; // the new server takes over the address
            resolve();
          }),
        );
        await refused;
        assert.equal(errors[0]!.willReconnect, true, 'the refusal must be one an EventSource retries');
        await new Promise<void>((r) => fresh.once('connect', () => r()));
        const message = new Promise<string>((r) =>
          source.addEventListener('message', (e) => r(String(e.data))),
        );
        await fresh.publish('t', 'from the new server');
        assert.equal(await message, 'from the new server');
        assert.notEqual(source.readyState, CrierEventSource.CLOSED);
      } finally {
        source.close();
        await fresh.close();
        await served.stop();
      }
    });
  }

  for (const [name, transport] of TRANSPORTS.filter(([n]) => n !== 'node:http2')) {
    test(`${name}: Chromium's EventSource refused during shutdown reconnects to the new server`, async (t) => {
      const browser = await launchChromium(t);
      if (browser === undefined) return;
      const old = new Hub({ logger: null, retryMs: 50 });
      const fresh = new Hub({ logger: null, retryMs: 50 });
      let current = old;
      let refusals = 0;
      const served = await transport(() => {
        if (current === old) refusals++;
        return current;
      });
      await old.close();
      try {
        const page = await browser.newPage();
        await page.goto(`${served.url}/page`);
        await page.evaluate((url) => {
          const w = window as unknown as { seen: string[]; source: EventSource };
          w.seen = [];
          w.source = new EventSource(url);
          w.source.onerror = () => w.seen.push(`error:${w.source.readyState}`);
          w.source.onmessage = (e) => w.seen.push(`message:${e.data}`);
        }, `${served.url}/?topic=t`);
        const deadline = Date.now() + 10_000;
        while (refusals < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(refusals >= 1, 'the browser never reached the server');
        current = fresh;
        await new Promise<void>((r) => fresh.once('connect', () => r()));
        await fresh.publish('t', 'from the new server');
        const seen = await page.waitForFunction(
          () => {
            const w = window as unknown as { seen: string[] };
            return w.seen.includes('message:from the new server') ? w.seen : null;
          },
          undefined,
          { timeout: 10_000 },
        );
        const events = (await seen.jsonValue()) as string[];
        // Every error on the way was a reconnecting one (readyState CONNECTING = 0), never CLOSED (2). Over
        // node:http there may be none at all: Chromium itself retries a request whose connection closed
        // before any response (the page's keep-alive socket looks stale to it) until the new server answers.
        assert.ok(!events.includes('error:2'), events.join(', '));
      } finally {
        await browser.close();
        await fresh.close();
        await served.stop();
      }
    });
  }
});
