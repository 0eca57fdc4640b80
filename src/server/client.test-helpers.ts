/**
 * A small SSE client over real sockets for the server tests (node:http and node:http2), built on the
 * protocol core's parser. Test support only.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { EventStreamParser, type ParsedEvent } from '../protocol/parse.js';
import { Hub } from './hub.js';
import type { HubOptions } from './options.js';
import type { SubscribeOptions } from './request.js';

/** A hub served over node:http on a free port of 127.0.0.1; `perRequest` gives each request its options. */
export async function startHub(
  options: HubOptions = {},
  perRequest?: (req: http.IncomingMessage) => SubscribeOptions,
) {
  const hub = new Hub({ logger: null, ...options });
  const server = http.createServer((req, res) => void hub.handle(req, res, perRequest?.(req)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    hub,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await hub.close({ timeoutMs: 2000 });
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export interface TestSseClient {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly events: ParsedEvent[];
  readonly comments: string[];
  readonly retries: number[];
  /** The raw body text when the status is not 200. */
  body: string;
  /** Resolves when the server ended the stream or the socket closed. */
  readonly ended: Promise<void>;
  /** Resolves when `predicate` holds (checked after every chunk). */
  until(predicate: (client: TestSseClient) => boolean): Promise<void>;
  close(): void;
}

function makeClient(status: number, headers: IncomingHttpHeaders, close: () => void) {
  const waiters: { predicate: (c: TestSseClient) => boolean; resolve: () => void }[] = [];
  let endResolve!: () => void;
  const client: TestSseClient & { feed(chunk: Buffer): void; finish(): void } = {
    status,
    headers,
    events: [],
    comments: [],
    retries: [],
    body: '',
    ended: new Promise<void>((r) => {
      endResolve = r;
    }),
    until(predicate) {
      if (predicate(client)) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ predicate, resolve }));
    },
    close,
    feed(chunk: Buffer) {
      if (status !== 200) client.body += chunk.toString('utf8');
      else parser.push(chunk);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.predicate(client)) waiters.splice(i, 1)[0]!.resolve();
      }
    },
    finish() {
      endResolve();
      for (const w of waiters.splice(0)) if (w.predicate(client)) w.resolve();
    },
  };
  const parser = new EventStreamParser({
    onEvent: (e) => client.events.push(e),
    onComment: (c) => client.comments.push(c),
    onRetry: (r) => client.retries.push(r),
  });
  return client;
}

/** Opens an HTTP/1.1 SSE request and resolves once the response head arrived. */
export function connectSse(url: string, headers: Record<string, string> = {}): Promise<TestSseClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { headers: { accept: 'text/event-stream', ...headers }, agent: false },
      (res) => {
        const client = makeClient(res.statusCode ?? 0, res.headers, () => req.destroy());
        res.on('data', (chunk: Buffer) => client.feed(chunk));
        res.on('close', () => client.finish());
        res.on('error', () => client.finish());
        resolve(client);
      },
    );
    req.on('error', reject);
  });
}

/** Opens an SSE request over HTTP/2 (h2c, or TLS when `url` is https:) and resolves once the head arrived. */
export function connectSseHttp2(
  url: string,
  headers: Record<string, string> = {},
  options: http2.SecureClientSessionOptions = {},
): Promise<TestSseClient & { readonly session: http2.ClientHttp2Session }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const session = http2.connect(u.origin, options);
    session.on('error', reject);
    const stream = session.request({
      ':path': u.pathname + u.search,
      accept: 'text/event-stream',
      ...headers,
    });
    stream.on('response', (head) => {
      const client = makeClient(Number(head[':status']), head as IncomingHttpHeaders, () => {
        stream.close();
        session.close();
      });
      stream.on('data', (chunk: Buffer) => client.feed(chunk));
      stream.on('close', () => client.finish());
      resolve(Object.assign(client, { session }));
    });
    stream.on('error', reject);
  });
}
