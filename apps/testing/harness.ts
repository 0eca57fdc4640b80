/**
 * A test (and screenshot) harness for the demo apps on the real hub: `crier serve`'s `MercureServer` with the
 * durable SQLite store, anonymous subscribers and an HS256 key.
 *
 * The hub runs as a separately deployed service: the demo (pages, APIs and backends) has its own node:http
 * server, which forwards `/.well-known/mercure` to the hub, as a reverse proxy in front of both would. The
 * pages see one origin (so the `mercureAuthorization` cookie reaches the hub); the backends publish to the
 * hub directly. `stopHub()` closes the hub (every stream ends; requests to the hub path fail as a refused
 * connection) while the demo's pages and backends keep running; `startHub()` starts a new hub on the same
 * port over the same SQLite file (history survives), so pages resume by Last-Event-ID.
 *
 * History is sized for the demo's traffic (the ticker publishes up to ~2,400 updates a second): with the
 * hub's default 10,000 updates, an ID a page held before a short outage has left history by the time it
 * reconnects, and the page must reload its snapshot instead of resuming by replay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/mercure/config.js';
import { mintToken } from '../../src/mercure/publisher.js';
import { MercureServer } from '../../src/mercure/server.js';
import type { Hub } from '../../src/server/index.js';
import { type Demo, type DemoContext, type DemoOptions, startDemo } from '../index.js';

const SECRET = 'crier-demo-test-secret-0123456789abcdef';
const HUB_PATH = '/.well-known/mercure';
/** Updates kept for replay: minutes of the demo's traffic. */
const HISTORY_SIZE = 1_000_000;

export function signToken(
  claims: { publish?: string[]; subscribe?: string[] },
  ttlSeconds = 3_600,
): Promise<string> {
  return mintToken(SECRET, claims, { expiresIn: ttlSeconds });
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
  let hubPort = 0;
  let server: MercureServer | undefined;
  /** The newest hub, kept while the hub is down (closed): the demo's dashboard still reads its stats. */
  let hub!: Hub;
  let demo: Demo | undefined;

  const startHub = async () => {
    const { config } = loadConfig({
      argv: [
        ...['--port', String(hubPort), '--store', `sqlite:${join(dir, 'hub.db')}`, '--jwt-key', SECRET],
        ...['--history-size', String(HISTORY_SIZE), '--heartbeat', '5s', '--log-level', 'silent'],
        '--anonymous',
      ],
    });
    const started = await MercureServer.create(config);
    await started.listen();
    hubPort = Number(new URL(started.origin).port);
    hub = started.hub;
    server = started;
  };
  const stopHub = async () => {
    const current = server;
    server = undefined;
    await current?.close();
  };
  await startHub();
  const hubUrl = server!.url;

  const front: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === HUB_PATH || path.startsWith(`${HUB_PATH}/`)) {
      forward(server === undefined ? undefined : hubUrl, req, res);
      return;
    }
    if (demo?.handle(req, res)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => front.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;

  const ctx: DemoContext = {
    get hub() {
      return hub;
    },
    hubUrl,
    publisherToken: await signToken({ publish: ['*'] }, 86_400),
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
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Forwards a request to the hub and streams the answer back (event streams included). With the hub down
 * (`hubUrl` undefined, or the connection refused or cut), the browser's connection is dropped, as when the
 * hub itself cannot be reached: an EventSource retries.
 */
function forward(hubUrl: string | undefined, req: IncomingMessage, res: ServerResponse): void {
  if (hubUrl === undefined) {
    req.socket.destroy();
    return;
  }
  const upstream = request(
    new URL(req.url ?? '/', hubUrl),
    { method: req.method, headers: req.headers, agent: false },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
      answer.on('aborted', () => res.destroy());
    },
  );
  upstream.on('error', () => res.destroy());
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}
