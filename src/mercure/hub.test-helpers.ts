/** Test helpers for the hub: a hub on a free port, tokens, and an SSE reader over a real socket. */
import { type IncomingHttpHeaders, request } from 'node:http';
import type { TestContext } from 'node:test';
import { EventStreamParser, type ParsedEvent } from '../protocol/index.js';
import { loadConfig } from './config.js';
import { mintAccessToken, mintToken } from './publisher.js';
import { MercureServer } from './server.js';

export const SECRET = 'test-secret-of-at-least-32-bytes!!';

export async function startHub(t: TestContext, argv: string[] = []): Promise<MercureServer> {
  const { config } = loadConfig({
    argv: ['--port', '0', '--jwt-key', SECRET, '--log-level', 'silent', ...argv],
  });
  const hub = await MercureServer.create(config);
  await hub.listen();
  t.after(() => hub.close());
  return hub;
}

export const legacyToken = (
  claim: { publish?: string[]; subscribe?: string[] },
  options?: { expiresIn?: number; payload?: unknown },
) => mintToken(SECRET, claim, options);

export const accessToken = (
  hub: MercureServer,
  grants: {
    publish?: Array<{ match: string; match_type?: 'exact' | 'urlpattern' }>;
    subscribe?: Array<{ match: string; match_type?: 'exact' | 'urlpattern' }>;
    payload?: unknown;
  },
  expiresIn?: number,
) => mintAccessToken(SECRET, { audience: hub.url, subject: 'user-1', expiresIn, ...grants });

export async function publish(
  hub: MercureServer,
  fields: Array<[string, string]>,
  token: string | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(hub.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

export interface Stream {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The next event (comments and retry-only blocks are not events). */
  next(): Promise<ParsedEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens a subscription; resolves once the response head (and first bytes) arrived. */
export function subscribe(
  t: TestContext,
  url: string,
  headers: Record<string, string> = {},
): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: ParsedEvent[] = [];
      const waiting: Array<(e: ParsedEvent) => void> = [];
      const parser = new EventStreamParser({
        onEvent: (e) => {
          const w = waiting.shift();
          if (w) w(e);
          else events.push(e);
        },
      });
      let body = '';
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      });
      const stream: Stream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        get body() {
          return body;
        },
        next: () => {
          const e = events.shift();
          return e ? Promise.resolve(e) : new Promise((r) => waiting.push(r));
        },
        ended,
        close: () => req.destroy(),
      };
      t.after(() => req.destroy());
      if (res.statusCode !== 200) {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve(stream));
        return;
      }
      res.on('data', (chunk: Buffer) => parser.push(chunk));
      resolve(stream);
    });
    req.end();
  });
}
