/**
 * A test (and screenshot) harness for the demo apps: a node:http server with the server library's `Hub`
 * behind a minimal Mercure-compatible endpoint at /.well-known/mercure, and `startDemo` mounted in front,
 * as `crier serve --demo` does. Test code only: the real hub (src/hub) replaces the endpoint in production.
 *
 * The endpoint implements what the apps use: GET with `topic=` selectors, `Last-Event-ID` (header or
 * `lastEventID`), `maxRate`, a subscriber JWT from `Authorization: Bearer` or the `mercureAuthorization`
 * cookie whose `mercure.subscribe` selectors authorise private updates; POST (form) with `topic`, `data`,
 * `type`, `private`, `id` and a publisher JWT (`mercure.publish`); the response body is the update's ID.
 *
 * `stopHub()` closes the hub (every stream ends, publishes and subscribes are refused at the socket) while
 * the demo's backends keep running, as when a separately deployed hub goes down; `startHub()` starts a new
 * hub over the same SQLite file (history survives, as with the hub's durable store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { SqliteEngine } from '../../src/engines/sqlite/index.js';
import { Hub } from '../../src/server/index.js';
import { compileSelector } from '../../src/topics/index.js';
import { type Demo, type DemoContext, type DemoOptions, startDemo } from '../index.js';

const SECRET = new TextEncoder().encode('crier-demo-test-secret-0123456789abcdef');
const HUB_PATH = '/.well-known/mercure';

export async function signToken(
  claims: { publish?: string[]; subscribe?: string[] },
  ttlSeconds = 3_600,
): Promise<string> {
  return new SignJWT({ mercure: claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(SECRET);
}

interface Claims {
  publish?: string[];
  subscribe?: string[];
}

async function claimsOf(req: IncomingMessage): Promise<Claims | null | 'invalid'> {
  let token: string | undefined;
  const auth = req.headers.authorization;
  if (auth?.toLowerCase().startsWith('bearer ')) token = auth.slice(7).trim();
  else {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=');
      if (name === 'mercureAuthorization' && value) token = value;
    }
  }
  if (token === undefined) return null;
  try {
    const { payload } = await jwtVerify(token, SECRET, { algorithms: ['HS256'] });
    return ((payload as { mercure?: Claims }).mercure ?? {}) as Claims;
  } catch {
    return 'invalid';
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function mercure(hub: Hub, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const claims = await claimsOf(req);
  if (claims === 'invalid') {
    res.writeHead(401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }).end('invalid token\n');
    return;
  }
  if (req.method === 'GET') {
    await hub.handle(req, res, { privateTopics: claims?.subscribe ?? [] });
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const topics = form.getAll('topic');
  const allowed = (claims?.publish ?? []).map((s) => compileSelector(s));
  if (!claims || topics.length === 0 || !topics.every((t) => allowed.some((s) => s.matches(t)))) {
    res.writeHead(claims ? 403 : 401).end('not allowed to publish there\n');
    return;
  }
  const update = await hub.publish(topics, form.get('data') ?? '', {
    id: form.get('id') ?? undefined,
    event: form.get('type') ?? undefined,
    private: form.has('private'),
  });
  res.writeHead(200, { 'Content-Type': 'text/plain' }).end(update.id);
}

export interface DemoServer {
  url: string;
  hub: Hub;
  demo: Demo;
  restartHub(): Promise<void>;
  /** Takes the hub down (the demo's backends keep running). */
  stopHub(): Promise<void>;
  startHub(): Promise<void>;
  close(): Promise<void>;
}

export async function startDemoServer(options: DemoOptions & { port?: number } = {}): Promise<DemoServer> {
  const dir = mkdtempSync(join(tmpdir(), 'crier-demo-'));
  const storePath = join(dir, 'hub.db');
  let hub: Hub;
  let port = options.port ?? 0;
  const publisherToken = await signToken({ publish: ['*'] }, 86_400);
  let demo: Demo | undefined;

  let up = false;
  const server: Server = createServer((req, res) => {
    if (demo?.handle(req, res)) return;
    if ((req.url ?? '').split('?')[0] === HUB_PATH) {
      if (!up) {
        req.socket.destroy(); // the hub is down: like a refused connection
        return;
      }
      const current = hub;
      mercure(current, req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(400).end(`${String(error)}\n`);
      });
      return;
    }
    res.writeHead(404).end();
  });
  const startHub = async () => {
    hub = new Hub({ engine: new SqliteEngine({ path: storePath }), logger: null, heartbeatMs: 5_000 });
    up = true;
  };
  const stopHub = async () => {
    if (!up) return;
    up = false;
    await hub.close({ waveSize: 1_000, waveIntervalMs: 0, timeoutMs: 1_000 });
    await hub.engine.close();
    server.closeAllConnections(); // and the keep-alive connections of publishers
  };
  await startHub();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const ctx: DemoContext = {
    get hub() {
      return hub;
    },
    hubUrl: `${url}${HUB_PATH}`,
    publisherToken,
    signSubscriberToken: (subscribe, ttl) => signToken({ subscribe }, ttl),
  };
  demo = startDemo(ctx, options);
  return {
    url,
    get hub() {
      return hub;
    },
    demo,
    async restartHub() {
      await stopHub();
      await startHub();
    },
    stopHub,
    startHub,
    async close() {
      await demo?.close();
      await stopHub();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
