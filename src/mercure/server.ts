/**
 * The Crier hub's server: it builds the pieces from the one configuration schema (src/mercure/config.ts) —
 * store, library hub, authenticator, limits, metrics — listens over node:http, or TLS with HTTP/1.1 and
 * h2 on one port (and `--admin-addr`), routes each request, and shuts down gracefully. The routes are in
 * src/mercure/routes/, the HTTP plumbing they share in src/mercure/http.ts.
 *
 * Where a publish enters: routes/publish.ts (`form`, `json`) → `validateUpdate` → `Hub.publish` (src/server).
 * Where a subscriber enters: routes/subscribe.ts → auth → `readMercureSubscription` → `handleNodeRequest`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import type { Engine } from '../engines/engine.js';
import { Hub } from '../server/index.js';
import { AdminGuard, type Listener, parseAdminAddr } from './admin.js';
import {
  type AccessTokenConfig,
  type Authenticator,
  type AuthKeysConfig,
  createAuthenticator,
  headerValue,
  type KeySource,
  keySourceFromString,
  type SignatureAlgorithm,
} from './auth/index.js';
import { ClientAddress } from './client-address.js';
import type { HubConfig } from './config.js';
import { ConnectionGuard } from './connection-guard.js';
import { HubError } from './errors.js';
import { IdFormEngine, idCodec } from './event-ids.js';
import { acceptFast } from './fast-accept.js';
import { cors, headersOf, preflight, type Req, type Res, sendError } from './http.js';
import { HubMetrics } from './metrics.js';
import { acceptProxyProtocol } from './proxy-protocol.js';
import { RateLimiter } from './rate-limit.js';
import type { PublishLimiter, RouteContext } from './routes/context.js';
import { landing, operations } from './routes/operations.js';
import { accessCookieName } from './routes/protocol.js';
import { PublishRoute } from './routes/publish.js';
import { SubscribeRoute } from './routes/subscribe.js';
import { subscriptionsApi } from './routes/subscriptions.js';
import { openStore, waitForStore } from './store.js';
import { hubSelectorCompiler } from './subscribe.js';
import { SubscriptionRegistry } from './subscriptions.js';
import { TrackedEngine } from './tracked-engine.js';

export const HUB_PATH = '/.well-known/mercure';

export interface MercureServerOptions {
  /** The engine to use instead of the one `--store` names (tests, embedding). */
  engine?: Engine;
  /** A pino logger; default one built from `--log-level` writing JSON to stdout. */
  logger?: Logger;
  /**
   * Counts publishes against `--publish-rate` instead of this process's own token buckets (a worker of
   * `--workers N` asks the primary, so the rate holds across workers): 0 allows, else seconds to wait.
   */
  publishLimiter?: PublishLimiter;
  /** Finds active subscriptions for the subscriptions API instead of this process's registry (workers: all of them). */
  findSubscriptions?: RouteContext['findSubscriptions'];
}

export { openStore } from './store.js';

/** Keys from the configuration; `generated` holds a random secret when none was configured. */
export function keysFromConfig(config: HubConfig): { keys: AuthKeysConfig; generated?: string } {
  const source = (value: string, alg: string | undefined): KeySource =>
    keySourceFromString(value, alg as SignatureAlgorithm | undefined);
  const keys: { publisher?: KeySource[]; subscriber?: KeySource[]; shared?: KeySource[] } = {};
  const shared: KeySource[] = [];
  if (config.jwtKey !== undefined) shared.push(source(config.jwtKey, config.jwtAlg));
  if (config.jwksUrl !== undefined) shared.push({ jwksUrl: config.jwksUrl });
  if (config.publisherJwtKey !== undefined)
    keys.publisher = [source(config.publisherJwtKey, config.publisherJwtAlg ?? config.jwtAlg)];
  if (config.publisherJwksUrl !== undefined)
    keys.publisher = [...(keys.publisher ?? []), { jwksUrl: config.publisherJwksUrl }];
  if (config.subscriberJwtKey !== undefined)
    keys.subscriber = [source(config.subscriberJwtKey, config.subscriberJwtAlg ?? config.jwtAlg)];
  if (config.subscriberJwksUrl !== undefined)
    keys.subscriber = [...(keys.subscriber ?? []), { jwksUrl: config.subscriberJwksUrl }];
  if (shared.length > 0) keys.shared = shared;
  if (keys.shared === undefined && keys.publisher === undefined && keys.subscriber === undefined) {
    const generated = randomBytes(32).toString('base64url');
    return { keys: { shared: { secret: generated } }, generated };
  }
  // A role with no key of its own falls back to the shared keys; with none at all, it gets the other role's.
  if (keys.shared === undefined) {
    keys.publisher ??= keys.subscriber;
    keys.subscriber ??= keys.publisher;
  }
  return { keys };
}

export class MercureServer {
  readonly config: HubConfig;
  readonly hub: Hub;
  readonly engine: TrackedEngine;
  auth: Authenticator;
  private readonly keys: AuthKeysConfig;
  readonly server: Server | Http2SecureServer;
  readonly log: Logger;
  readonly metrics: HubMetrics;
  readonly subscriptions = new SubscriptionRegistry();
  /** The random key generated when none was configured (`npm start` with no flags), else undefined. */
  readonly generatedKey: string | undefined;
  private hubUrl: URL;
  private readonly publicUrlFixed: boolean;
  private readonly corsOrigins: Set<string>;
  private readonly sockets = new Set<Socket>();
  /** Who a request is from, for per-address limits (X-Forwarded-For from trusted proxies only). */
  private readonly clientAddress: ClientAddress;
  /** Bounds connections that send no request, and keeps file descriptors for publishes and health. */
  readonly guard: ConnectionGuard;
  private requestSeq = 0;
  private closed = false;
  /** `--admin-addr`'s listener (metrics, dashboard, health), and who may see the admin routes. */
  readonly adminServer: Server | undefined;
  private readonly adminGuard: AdminGuard;
  /** Handlers mounted by the embedding program (the demo apps), tried before the landing page. */
  private readonly mounted: { handle: (req: Req, res: Res) => boolean; close?: () => Promise<void> }[] = [];
  /** What the routes read: this server's pieces, `auth` and `hubUrl` as they are now. */
  private readonly context: RouteContext;
  private readonly subscribe: SubscribeRoute;
  private readonly publish: PublishRoute;

  private constructor(config: HubConfig, engine: TrackedEngine, options: MercureServerOptions) {
    this.config = config;
    this.engine = engine;
    this.log = options.logger ?? pino({ level: config.logLevel, base: { service: 'crier' } });
    this.publicUrlFixed = config.publicUrl !== undefined;
    this.hubUrl = new URL(config.publicUrl ?? `http://${config.host}:${config.port}${HUB_PATH}`);
    const { keys, generated } = keysFromConfig(config);
    this.generatedKey = generated;
    this.keys = keys;
    this.auth = this.buildAuth();
    this.corsOrigins = new Set(config.corsOrigins);
    this.clientAddress = new ClientAddress(config.trustedProxies);
    this.hub = new Hub({
      engine,
      heartbeatMs: config.heartbeat,
      retryMs: config.retry,
      maxLifetimeMs: config.maxLifetime,
      maxBufferedBytes: config.writeBuffer,
      // 0 disables the stall check (Mercure's dispatch_timeout 0s).
      stallTimeoutMs: config.stallTimeout === 0 ? 2_147_483_647 : config.stallTimeout,
      maxSelectors: config.maxTopics + 1,
      maxSelectorCost: config.maxSelectorCost,
      compression: config.compression,
      logger: {
        warn: (message: string, fields?: Record<string, unknown>) => this.log.warn(fields ?? {}, message),
      },
    });
    this.metrics = new HubMetrics(this.hub, engine);
    this.guard = new ConnectionGuard({
      headersTimeoutMs: config.headersTimeout,
      maxPending: config.maxPending,
      maxPendingPerAddress: config.maxPendingPerIp,
      fdReserve: config.fdReserve,
      exempt: (address) => this.clientAddress.isProxy(address),
    });
    this.metrics.trackPending(this.guard);
    const server = this;
    this.context = {
      config,
      hub: this.hub,
      engine,
      get auth() {
        return server.auth;
      },
      get hubUrl() {
        return server.hubUrl;
      },
      log: this.log,
      metrics: this.metrics,
      subscriptions: this.subscriptions,
      findSubscriptions:
        options.findSubscriptions ?? ((filter) => Promise.resolve(this.subscriptions.find(filter))),
      publishLimiter:
        config.publishRate > 0 ? (options.publishLimiter ?? new RateLimiter(config.publishRate)) : null,
      clientAddress: this.clientAddress,
      get closing() {
        return server.closed;
      },
    };
    this.subscribe = new SubscribeRoute(this.context, this.guard);
    this.publish = new PublishRoute(this.context);
    const limit = this.guard.openFileLimit;
    if (limit !== undefined && this.guard.maxSockets < config.maxConnections) {
      this.log.warn(
        { openFileLimit: limit, maxConnections: config.maxConnections, fdReserve: this.guard.fdReserve },
        `the open-file limit (ulimit -n ${limit}) allows about ${this.guard.maxSockets} subscribers, fewer than --max-connections: raise it to at least ${config.maxConnections + config.fdReserve}`,
      );
    }
    const handler = (req: Req, res: Res) => {
      this.guard.admit(req.socket);
      this.handle(req, res).catch((error: unknown) => this.fail(req, res, error));
    };
    this.adminGuard = new AdminGuard(config);
    const sockets = this.sockets;
    // One close listener function for every accepted socket, no closure per connection.
    const forgetSocket = function (this: Socket) {
      sockets.delete(this);
    };
    if (config.adminAddr !== undefined) {
      this.adminServer = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
        this.handle(req, res, 'admin').catch((error: unknown) => this.fail(req, res, error));
      });
      this.adminServer.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', forgetSocket);
      });
    }
    if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
      this.server = createSecureServer(
        { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey), allowHTTP1: true },
        handler,
      );
    } else {
      this.server = createServer(
        {
          keepAliveTimeout: 65_000,
          // Node's own bound on a request head (a keep-alive connection's next request included), checked
          // often enough to matter; the first head of a connection is bounded by the guard.
          headersTimeout: config.headersTimeout,
          requestTimeout: Math.max(300_000, config.headersTimeout),
          connectionsCheckingInterval: Math.min(1_000, config.headersTimeout),
        },
        handler,
      );
    }
    this.server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', forgetSocket);
      this.guard.accepted(socket);
    });
    // With TLS, a connection is admitted once its handshake is done (the head then has Node's bound).
    this.server.on('secureConnection', (socket: Socket) => this.guard.admit(socket));
    // Plain subscribe requests skip node:http (src/mercure/fast-accept.ts); after the listeners above,
    // so a connection the guard closes at once is not read.
    if (config.fastAccept && this.server instanceof Server)
      acceptFast(this.server, { hubPath: () => this.hubUrl.pathname, handle: handler });
    // Behind a layer-4 balancer: the PROXY header is read before any of the listeners above (the fast path's
    // included) see the socket; the bytes after it are theirs.
    if (config.proxyProtocol && this.server instanceof Server) {
      acceptProxyProtocol(this.server, {
        trusted: (peer) => this.clientAddress.isProxy(peer),
        timeoutMs: config.headersTimeout,
        maxPending: config.maxPending,
        onRefused: (reason, peer, detail) => {
          this.metrics.proxyRefused.inc({ reason });
          this.log.warn({ peer, reason }, `PROXY protocol: connection refused: ${detail}`);
        },
      });
    }
  }

  /** Opens the store and builds the hub (not listening yet). */
  static async create(config: HubConfig, options: MercureServerOptions = {}): Promise<MercureServer> {
    const store = options.engine ?? (await openStore(config));
    const codec = idCodec(config.ids, config.idsKey);
    const engine = new TrackedEngine(codec === null ? store : new IdFormEngine(store, codec));
    await waitForStore(engine, config.startTimeout);
    return new MercureServer(config, engine, options);
  }

  /** The hub's URL (`…/.well-known/mercure`), with the real port once listening. */
  get url(): string {
    return this.hubUrl.href;
  }

  /** The admin listener's base URL (`http://127.0.0.1:9090`) once listening, when `--admin-addr` is set. */
  get adminOrigin(): string | undefined {
    const address = this.adminServer?.address() as AddressInfo | null | undefined;
    if (address == null) return undefined;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  /** The base URL (scheme, host and port) the server listens on. */
  get origin(): string {
    return this.hubUrl.origin;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: this.config.port, host: this.config.host, backlog: 65_535 }, () =>
        resolve(),
      );
    });
    if (this.adminServer !== undefined && this.config.adminAddr !== undefined) {
      const admin = this.adminServer;
      await new Promise<void>((resolve, reject) => {
        admin.once('error', reject);
        admin.listen(parseAdminAddr(this.config.adminAddr!), () => resolve());
      });
    }
    const address = this.server.address() as AddressInfo;
    if (!this.publicUrlFixed) {
      const scheme = this.config.tlsCert === undefined ? 'http' : 'https';
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      this.hubUrl = new URL(`${scheme}://${host}:${address.port}${HUB_PATH}`);
      this.auth = this.buildAuth(); // the 1.0 resource identifier (token audience) has the real port now
    }
  }

  private buildAuth(): Authenticator {
    const config = this.config;
    const accessTokens: AccessTokenConfig | undefined =
      config.protocol === '07'
        ? undefined
        : {
            resource: this.hubUrl.href,
            audience: config.audience.length > 0 ? config.audience : undefined,
            issuers: config.issuer.length > 0 ? config.issuer : undefined,
            cookieName: accessCookieName(config, this.hubUrl),
            subscriptions: config.subscriptions,
          };
    return createAuthenticator({
      keys: this.keys,
      compileSelector: hubSelectorCompiler(() => this.hubUrl),
      allowAnonymousSubscribers: config.anonymous,
      publishOrigins: config.publishOrigins,
      legacy: config.protocol === '08' ? false : {},
      accessTokens,
    });
  }

  /**
   * Mounts extra pages and APIs on this server: `handle` returns true when it answered the request. The hub's
   * own routes (the Mercure endpoint, /v1/publish, health, metrics) come first. `close` runs on shutdown.
   */
  mount(handle: (req: Req, res: Res) => boolean, close?: () => Promise<void>): void {
    this.mounted.push({ handle, close });
  }

  /** Graceful shutdown: subscribers are closed in waves with a jittered retry, then the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.mounted) await m.close?.();
    // Stop accepting first, so reconnecting clients go elsewhere (or retry) instead of meeting a closing hub.
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const adminStopped = new Promise<void>((resolve) =>
      this.adminServer?.listening ? this.adminServer.close(() => resolve()) : resolve(),
    );
    await this.hub.close({ timeoutMs: 5_000 });
    for (const socket of this.sockets) socket.destroy();
    this.guard.stop();
    await stopped;
    await adminStopped;
    await this.engine.close();
    this.metrics.close();
  }

  // ---- routing ------------------------------------------------------------------------------------

  private async handle(req: Req, res: Res, listener: Listener = 'public'): Promise<void> {
    const started = process.hrtime.bigint();
    const givenId = headerValue(headersOf(req), 'x-request-id');
    const requestId =
      givenId !== undefined && /^[\x21-\x7e]{1,128}$/.test(givenId)
        ? givenId
        : `${process.pid.toString(36)}-${(++this.requestSeq).toString(36)}`;
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    res.once('finish', () => {
      if (
        res.statusCode === 200 &&
        String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')
      )
        return;
      // One line per request at debug (a busy hub takes thousands of publishes a second); server errors at warn.
      this.log[res.statusCode >= 500 ? 'warn' : 'debug'](
        {
          requestId,
          method,
          path,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    const base = this.hubUrl.pathname;
    if (this.adminGuard.check(req, res, url, listener, base)) return;
    if (path === base || path.startsWith(`${base}/`)) {
      res.setHeader('link', `<${this.hubUrl.href}>; rel="mercure"`);
      cors(req, res, this.corsOrigins);
      if (method === 'OPTIONS') return preflight(req, res);
      if (path === base) {
        if (method === 'GET' || method === 'HEAD' || method === 'QUERY')
          return this.subscribe.handle(req, res, url, requestId);
        if (method === 'POST') return this.publish.form(req, res);
        throw new HubError(
          'METHOD_NOT_ALLOWED',
          `${method} is not allowed here: GET (or QUERY) subscribes, POST publishes.`,
          {
            headers: { allow: 'GET, QUERY, POST, OPTIONS' },
          },
        );
      }
      if (path === `${base}/subscriptions` || path.startsWith(`${base}/subscriptions/`)) {
        if (method !== 'GET')
          throw new HubError('METHOD_NOT_ALLOWED', 'The subscriptions API answers GET only.', {
            headers: { allow: 'GET' },
          });
        return subscriptionsApi(this.context, req, res, path);
      }
      throw new HubError('NOT_FOUND', `Nothing is served at ${path}.`);
    }
    if (path === '/v1/publish') {
      cors(req, res, this.corsOrigins);
      if (method === 'OPTIONS') return preflight(req, res);
      if (method !== 'POST')
        throw new HubError('METHOD_NOT_ALLOWED', 'POST updates to /v1/publish.', {
          headers: { allow: 'POST' },
        });
      return this.publish.json(req, res);
    }
    if (await operations(this.context, res, path, method)) return;
    for (const m of this.mounted) if (m.handle(req, res)) return;
    if (path === '/' && method === 'GET') return landing(this.context, res);
    throw new HubError('NOT_FOUND', `Nothing is served at ${path}. The Mercure hub is at ${base}.`);
  }

  private fail(req: Req, res: Res, error: unknown): void {
    sendError(req, res, error, this.log, (status) => this.metrics.publishes.inc({ status: String(status) }));
  }
}

/** Creates the hub and starts listening. */
export async function createMercureServer(
  config: HubConfig,
  options: MercureServerOptions = {},
): Promise<MercureServer> {
  const server = await MercureServer.create(config, options);
  await server.listen();
  return server;
}
