/**
 * The Crier hub: the Mercure protocol (draft-07 and draft-08) at `/.well-known/mercure`, the subscriptions
 * API, the native JSON publish API, health and metrics, over node:http or TLS with HTTP/1.1 and h2 on one
 * port. `createHubServer(config)` builds it from the one configuration schema (src/hub/config.ts).
 *
 * Where a publish enters: `publishForm` / `publishJson` → `validateUpdate` → `Hub.publish` (src/server).
 * Where a subscriber enters: `subscribe` → auth → `readMercureSubscription` → `handleNodeRequest`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { decodeProtectedHeader } from 'jose';
import pino, { type Logger } from 'pino';
import type { Engine, Update } from '../engines/engine.js';
import { EngineError } from '../engines/errors.js';
import { headerFromText, textFromHeader } from '../protocol/header-text.js';
import { mercureVersion } from '../protocol/vocabulary.js';
import { handleNodeRequest } from '../server/index.js';
import { AdminGuard, type Listener, parseAdminAddr } from './admin.js';
import {
  type AccessTokenConfig,
  type AuthContext,
  AuthError,
  type Authenticator,
  type AuthKeysConfig,
  canReceive,
  createAuthenticator,
  DEFAULT_COOKIE_NAMES,
  headerValue,
  type KeySource,
  keySourceFromString,
  type ProtocolVersion,
  type SignatureAlgorithm,
  subscriptionPayload,
} from './auth/index.js';
import { ClientAddress } from './client-address.js';
import type { HubConfig } from './config.js';
import { ConnectionGuard } from './connection-guard.js';
import { HubError } from './errors.js';
import { HubMetrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { openStore, waitForStore } from './store.js';
import {
  grantsSelector,
  hubSelectorCompiler,
  looksLikeVersion1,
  MercureHub,
  type MercureSubscription,
  readMercureSubscription,
} from './subscribe.js';
import {
  type ActiveSubscription,
  SubscriptionRegistry,
  subscriptionDocument,
  subscriptionTopic,
} from './subscriptions.js';
import { TrackedEngine } from './tracked-engine.js';
import {
  parseForm,
  parseUrlEncoded,
  type UpdateInput,
  updateFromForm,
  utf8Body,
  validateUpdate,
} from './update.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

export const HUB_PATH = '/.well-known/mercure';

export interface HubServerOptions {
  /** The engine to use instead of the one `--store` names (tests, embedding). */
  engine?: Engine;
  /** A pino logger; default one built from `--log-level` writing JSON to stdout. */
  logger?: Logger;
  /**
   * Counts publishes against `--publish-rate` instead of this process's own token buckets (a worker of
   * `--workers N` asks the primary, so the rate holds across workers): 0 allows, else seconds to wait.
   */
  publishLimiter?: { take(key: string): number | Promise<number> };
  /** Finds active subscriptions for the subscriptions API instead of this process's registry (workers: all of them). */
  findSubscriptions?: (filter: {
    match?: string;
    matchType?: string;
    subscriber?: string;
  }) => Promise<ActiveSubscription[]>;
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

export class HubServer {
  readonly config: HubConfig;
  readonly hub: MercureHub;
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
  private readonly perIp = new Map<string, number>();
  /** Estimated bytes of compiled selectors held by each address's open subscriptions (`--max-selector-cost-per-ip`). */
  private readonly perIpSelectorCost = new Map<string, number>();
  private readonly publishLimiter: { take(key: string): number | Promise<number> } | null;
  private readonly findSubscriptions: NonNullable<HubServerOptions['findSubscriptions']>;
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

  private constructor(config: HubConfig, engine: TrackedEngine, options: HubServerOptions) {
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
    this.publishLimiter =
      config.publishRate > 0 ? (options.publishLimiter ?? new RateLimiter(config.publishRate)) : null;
    this.findSubscriptions =
      options.findSubscriptions ?? ((filter) => Promise.resolve(this.subscriptions.find(filter)));
    this.clientAddress = new ClientAddress(config.trustedProxies);
    this.hub = new MercureHub({
      engine,
      heartbeatMs: config.heartbeat,
      retryMs: config.retry,
      maxLifetimeMs: config.maxLifetime,
      maxBufferedBytes: config.writeBuffer,
      // 0 disables the stall check (Mercure's dispatch_timeout 0s).
      stallTimeoutMs: config.stallTimeout === 0 ? 2_147_483_647 : config.stallTimeout,
      maxSelectors: config.maxTopics + 1,
      maxSelectorCost: config.maxSelectorCost,
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
    if (config.adminAddr !== undefined) {
      this.adminServer = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
        this.handle(req, res, 'admin').catch((error: unknown) => this.fail(req, res, error));
      });
      this.adminServer.on('connection', (socket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
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
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.guard.accepted(socket);
    });
    // With TLS, a connection is admitted once its handshake is done (the head then has Node's bound).
    this.server.on('secureConnection', (socket: Socket) => this.guard.admit(socket));
  }

  /** Opens the store and builds the hub (not listening yet). */
  static async create(config: HubConfig, options: HubServerOptions = {}): Promise<HubServer> {
    const engine = new TrackedEngine(options.engine ?? (await openStore(config)));
    await waitForStore(engine, config.startTimeout);
    return new HubServer(config, engine, options);
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
            cookieName: this.accessCookieName(),
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
    const givenId = headerValue(req.headers as Record<string, string>, 'x-request-id');
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
      this.cors(req, res);
      if (method === 'OPTIONS') return this.preflight(req, res);
      if (path === base) {
        if (method === 'GET' || method === 'HEAD' || method === 'QUERY')
          return this.subscribe(req, res, url, requestId);
        if (method === 'POST') return this.publishForm(req, res);
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
        return this.subscriptionsApi(req, res, path);
      }
      throw new HubError('NOT_FOUND', `Nothing is served at ${path}.`);
    }
    const metadataUrl = this.auth.protectedResourceMetadataUrl;
    if (metadataUrl !== undefined && path === new URL(metadataUrl).pathname && method === 'GET') {
      return this.json(res, 200, this.auth.protectedResourceMetadata());
    }
    if (path === '/v1/publish') {
      this.cors(req, res);
      if (method === 'OPTIONS') return this.preflight(req, res);
      if (method !== 'POST')
        throw new HubError('METHOD_NOT_ALLOWED', 'POST updates to /v1/publish.', {
          headers: { allow: 'POST' },
        });
      return this.publishJson(req, res);
    }
    if (path === '/healthz') return this.text(res, 200, 'ok');
    if (path === '/readyz') {
      const health = await this.engine.health();
      return this.text(
        res,
        health.ready && !this.closed ? 200 : 503,
        health.ready ? (health.detail ?? 'ready') : `not ready: ${health.detail ?? 'engine'}`,
      );
    }
    if (path === '/metrics') {
      const body = await this.metrics.render();
      res.writeHead(200, { 'content-type': this.metrics.contentType });
      res.end(body);
      return;
    }
    for (const m of this.mounted) if (m.handle(req, res)) return;
    if (path === '/' && method === 'GET') {
      res.setHeader('link', `<${this.hubUrl.href}>; rel="mercure"`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(landingPage(this.hubUrl.href));
      return;
    }
    throw new HubError('NOT_FOUND', `Nothing is served at ${path}. The Mercure hub is at ${base}.`);
  }

  // ---- subscribe ----------------------------------------------------------------------------------

  private async subscribe(req: Req, res: Res, url: URL, requestId: string): Promise<void> {
    // Strictly, as a publish form: `topic=%zz` or `topic=%FF` is a 400, not a subscription to a literal
    // `%zz` or to U+FFFD (what the URL standard's lenient parser would make of them).
    const params =
      req.method === 'QUERY'
        ? await this.queryParameters(req, url)
        : new URLSearchParams(parseUrlEncoded(url.search.slice(1), 'query'));
    const protocol = this.protocolOf(req, params);
    const authRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers as Record<string, string>,
    };
    const subscriber = await this.auth.authenticateSubscriber(authRequest, protocol);
    const rawHeaderId = headerValue(req.headers as Record<string, string>, 'last-event-id');
    const headerId = rawHeaderId === undefined ? undefined : textFromHeader(rawHeaderId);
    const ip = this.clientAddress.ofRequest(req);
    const subscription = readMercureSubscription(
      params,
      headerId,
      protocol,
      this.config.maxTopics,
      this.hubUrl,
      {
        pool: this.hub.selectorPool,
        maxCost: this.config.maxSelectorCost,
        // Refused as soon as the address's allowance runs out, before compiling the rest.
        check: (cost) => this.checkAddressSelectorCost(ip, cost),
      },
    );
    // Until the stream's own release takes over, every way out gives the selectors back.
    let handedOver = false;
    try {
      await this.openStream(req, res, subscription, subscriber, protocol, requestId, () => {
        handedOver = true;
      });
    } finally {
      if (!handedOver) subscription.release();
    }
  }

  /**
   * The estimated selector memory the address's open subscriptions hold; throws the 429 when `cost` more
   * would pass `--max-selector-cost-per-ip`.
   */
  private checkAddressSelectorCost(ip: string, cost: number): number {
    const held = this.perIpSelectorCost.get(ip) ?? 0;
    if (held + cost <= this.config.maxSelectorCostPerIp) return held;
    const kib = (bytes: number) => Math.ceil(bytes / 1024).toLocaleString('en-US');
    throw new HubError(
      'RATE_LIMITED',
      `This address's open subscriptions hold topic selectors of about ${kib(held)} KiB of hub memory, and this one ` +
        `would add ${kib(cost)} KiB or more: past the ${kib(this.config.maxSelectorCostPerIp)} KiB one address may hold ` +
        '(--max-selector-cost-per-ip). Close a subscription or subscribe with simpler selectors (docs/topics.md).',
      { headers: { 'retry-after': '5' } },
    );
  }

  private async openStream(
    req: Req,
    res: Res,
    subscription: MercureSubscription,
    subscriber: AuthContext | null,
    protocol: ProtocolVersion,
    requestId: string,
    handOver: () => void,
  ): Promise<void> {
    const ip = this.clientAddress.ofRequest(req);
    if (!this.guard.subscribersAllowed) {
      // Refused before the descriptor table is full: what is left serves publishes, health and metrics.
      throw new HubError(
        'TOO_MANY_CONNECTIONS',
        `The hub is near its open-file limit (${this.guard.openFileLimit} descriptors, ${this.guard.fdReserve} kept for publishes and health checks); retry later.`,
        { headers: { 'retry-after': '5' } },
      );
    }
    if (this.hub.connectionCount >= this.config.maxConnections) {
      throw new HubError(
        'TOO_MANY_CONNECTIONS',
        `The hub holds its maximum of ${this.config.maxConnections} subscribers; retry later.`,
        {
          headers: { 'retry-after': '5' },
        },
      );
    }
    const held = this.perIp.get(ip) ?? 0;
    if (held >= this.config.maxConnectionsPerIp) {
      throw new HubError(
        'RATE_LIMITED',
        `This address holds ${held} subscriptions, the most allowed (--max-connections-per-ip).`,
        {
          headers: { 'retry-after': '5' },
        },
      );
    }
    const heldCost = this.checkAddressSelectorCost(ip, subscription.cost);
    const fingerprint = JSON.stringify(
      protocol === '0.x'
        ? ((subscriber?.claims.mercure as { subscribe?: unknown } | undefined)?.subscribe ?? null)
        : (subscriber?.grants.subscribeDetails.map((d) => d.matchers) ?? null),
    );
    const privateSelector = grantsSelector(subscriber?.grants, fingerprint);
    const resumeHeader = protocol === '0.x' ? 'last-event-id' : 'mercure-last-event-id';
    // A resuming request gets the resume anchor from the replay (the requested ID when history holds it,
    // `earliest` otherwise); any other gets the newest PUBLIC update's ID, where a later resume can start
    // (naming a private update would tell every subscriber that one happened, and when; see
    // docs/security.md). IDs are any text without CR, LF or NUL: sent as their UTF-8 bytes, as clients
    // send them back.
    if (subscription.lastEventId === undefined)
      res.setHeader(resumeHeader, headerFromText(this.engine.lastPublicEventId ?? 'earliest'));
    res.setHeader('cache-control', 'no-cache, no-transform, private');
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.end();
      return;
    }
    this.perIp.set(ip, held + 1);
    this.perIpSelectorCost.set(ip, heldCost + subscription.cost);
    handOver();
    const closeStream = onClose(req, res);
    // The closures below outlive the request for the stream's life: they hold these two, not the whole
    // subscription (its matchers and their text), which an idle subscriber need not keep.
    const selectorCost = subscription.cost;
    const releaseSelectors = subscription.release;
    let released = false;
    let expiry: NodeJS.Timeout | undefined;
    let active: ActiveSubscription[] = [];
    const release = () => {
      if (released) return;
      released = true;
      if (expiry !== undefined) clearTimeout(expiry);
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
      const cost = (this.perIpSelectorCost.get(ip) ?? 0) - selectorCost;
      if (cost <= 0) this.perIpSelectorCost.delete(ip);
      else this.perIpSelectorCost.set(ip, cost);
      releaseSelectors();
      for (const s of active) {
        s.active = false;
        this.subscriptions.remove(s);
        this.announce(s, protocol);
      }
      active = [];
    };
    closeStream.on(release);
    await handleNodeRequest(this.hub, req, res, {
      mercure: { selectors: subscription.matchers.map((m) => m.selector), privateSelector },
      lastEventId: subscription.lastEventId,
      resumeHeader,
      // biome-ignore lint/suspicious/noExplicitAny: the hub subclass reads the extra `mercure` field
    } as any);
    if (res.statusCode !== 200 || closeStream.closed) {
      release();
      return;
    }
    if (subscription.lastEventId !== undefined) {
      this.metrics.replays.inc({ result: String(res.getHeader('crier-replay') ?? 'ok') });
    }
    if (subscriber?.expiresAt !== undefined) {
      // Both drafts: the connection must end when the token expires.
      const ms = Math.max(0, subscriber.expiresAt - Date.now());
      expiry = setTimeout(() => closeStream.close(), Math.min(ms, 2_147_483_647));
      expiry.unref();
    }
    this.log.debug(
      {
        requestId,
        protocol,
        matchers: subscription.matchers.length,
        replay: subscription.lastEventId !== undefined,
      },
      'subscribed',
    );
    if (this.config.subscriptions) {
      const subscriberId = `urn:uuid:${randomUUID()}`;
      active = subscription.matchers.map((m) => ({
        matchType: m.type,
        match: m.match,
        subscriber: subscriberId,
        payload: payloadOf(subscriber, protocol, m.match),
        active: true,
      }));
      for (const s of active) {
        this.subscriptions.add(s);
        this.announce(s, protocol);
      }
    }
  }

  /**
   * The parameters of a QUERY subscribe (draft-08 §3): the union of the query component's and the
   * form-encoded body's pairs, as if they were one component; `last_event_id` (single-valued) is the
   * query's when both carry it. The `Last-Event-ID` header still wins over both (read later).
   */
  private async queryParameters(req: Req, url: URL): Promise<URLSearchParams> {
    requireForm(req, 'A QUERY subscribe carries its parameters as');
    const query = new URLSearchParams(parseUrlEncoded(url.search.slice(1), 'query'));
    const merged = new URLSearchParams(query);
    const single = ['last_event_id', 'lastEventID'].filter((n) => query.has(n));
    for (const [name, value] of parseForm(await readBody(req, this.config.maxBody))) {
      if (!single.includes(name)) merged.append(name, value);
    }
    return merged;
  }

  /** Publishes a subscription event (private, on the reserved topic). */
  private announce(s: ActiveSubscription, protocol: ProtocolVersion): void {
    const base = this.hubUrl.pathname;
    const doc = subscriptionDocument(base, s, protocol);
    this.hub
      .publish(subscriptionTopic(base, s, protocol), JSON.stringify(doc), {
        private: true,
        id: `urn:uuid:${randomUUID()}`,
        // draft-08 §8.1: subscription events carry the reserved SSE event type `mercure`.
        event: protocol === '1.0' ? 'mercure' : undefined,
      })
      .catch((error: unknown) => this.log.warn({ err: error }, 'subscription event not published'));
  }

  /** The protocol of a request: fixed by `--protocol`, else 1.0 when its parameters or token say so. */
  private protocolOf(req: Req, params: URLSearchParams): ProtocolVersion {
    if (this.config.protocol !== 'auto') return mercureVersion(this.config.protocol);
    if (looksLikeVersion1(params)) return '1.0';
    const headers = req.headers as Record<string, string>;
    const authorization = headerValue(headers, 'authorization');
    const bearer = authorization === undefined ? undefined : /^bearer\s+(\S+)$/i.exec(authorization)?.[1];
    const token =
      bearer ?? (params.has('authorization') ? undefined : cookie(headers, this.accessCookieName()));
    if (bearer === undefined && token !== undefined) return '1.0';
    if (bearer !== undefined) {
      try {
        const typ = decodeProtectedHeader(bearer).typ?.toLowerCase();
        if (typ === 'at+jwt' || typ === 'application/at+jwt') return '1.0';
      } catch {
        // a malformed token: let 0.x verification refuse it
      }
    }
    return '0.x';
  }

  /** The 1.0 access-token cookie: `--cookie-name`, else the `__Secure-` name over HTTPS (it needs HTTPS). */
  private accessCookieName(): string {
    if (this.config.cookieName !== undefined) return this.config.cookieName;
    return this.hubUrl.protocol === 'https:' ? DEFAULT_COOKIE_NAMES['1.0'] : 'mercure_access_token';
  }

  // ---- publish ------------------------------------------------------------------------------------

  private async publishForm(req: Req, res: Res): Promise<void> {
    requireForm(req, 'Publish with');
    const protocol = this.protocolOf(req, new URLSearchParams());
    const publisher = await this.authenticatePublisher(req, protocol);
    const body = await readBody(req, this.config.maxBody);
    const update = validateUpdate(updateFromForm(parseForm(body)), {
      protocol,
      hubUrl: this.hubUrl,
      maxTopics: this.config.maxTopics,
    });
    this.auth.authorizePublish(publisher, update.topics);
    const stored = await this.store(update);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(stored);
  }

  private async publishJson(req: Req, res: Res): Promise<void> {
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (type !== 'application/json') {
      throw new HubError(
        'UNSUPPORTED_MEDIA_TYPE',
        `POST /v1/publish takes Content-Type application/json, got ${type || 'none'}.`,
      );
    }
    const protocol = this.protocolOf(req, new URLSearchParams());
    const publisher = await this.authenticatePublisher(req, protocol);
    const body = await readBody(req, this.config.maxBody);
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8Body(body, true));
    } catch (error) {
      if (error instanceof HubError) throw error;
      throw new HubError('INVALID_REQUEST', `The body is not valid JSON: ${(error as Error).message}`);
    }
    const batch = Array.isArray(parsed);
    const items = batch ? (parsed as unknown[]) : [parsed];
    if (items.length === 0) throw new HubError('INVALID_REQUEST', 'A batch must hold at least one update.');
    if (items.length > 1000)
      throw new HubError('INVALID_REQUEST', `A batch holds at most 1000 updates, got ${items.length}.`);
    // All or nothing: every update is validated and authorized before the first is stored.
    const updates = items.map((item, i) => {
      try {
        const update = validateUpdate(jsonInput(item), {
          protocol: '0.x',
          hubUrl: this.hubUrl,
          maxTopics: this.config.maxTopics,
        });
        this.auth.authorizePublish(publisher, update.topics);
        return update;
      } catch (error) {
        if (batch && error instanceof HubError) {
          throw new HubError(error.code, `Update ${i}: ${error.message}`, { headers: { ...error.headers } });
        }
        throw error;
      }
    });
    const ids: string[] = [];
    for (const update of updates) ids.push(await this.store(update));
    this.json(res, 200, batch ? { ids } : { id: ids[0] });
  }

  private async authenticatePublisher(req: Req, protocol: ProtocolVersion): Promise<AuthContext> {
    const authRequest = {
      method: req.method ?? 'POST',
      url: req.url ?? '/',
      headers: req.headers as Record<string, string>,
    };
    const publisher = await this.auth.authenticatePublisher(authRequest, protocol);
    if (this.publishLimiter !== null) {
      const key =
        headerValue(authRequest.headers, 'authorization') ??
        publisher.subject ??
        this.clientAddress.ofRequest(req);
      const wait = await this.publishLimiter.take(key);
      if (wait > 0) {
        this.metrics.publishes.inc({ status: '429' });
        throw new HubError(
          'RATE_LIMITED',
          `Publish rate limit of ${this.config.publishRate}/s reached for this token; retry after ${wait} s.`,
          {
            headers: { 'retry-after': String(wait) },
          },
        );
      }
    }
    return publisher;
  }

  private async store(update: Update): Promise<string> {
    const timer = this.metrics.publishLatency.startTimer();
    try {
      const stored = await this.hub.publish(update.topics, update.data, {
        id: update.id,
        event: update.event,
        retry: update.retry,
        private: update.private,
      });
      this.metrics.publishes.inc({ status: '200' });
      return stored.id;
    } catch (error) {
      const mayBeStored = error instanceof EngineError && error.mayBeStored;
      const what = mayBeStored
        ? 'The update may have been stored, but it was not confirmed'
        : 'The update was not stored';
      throw new HubError('UNAVAILABLE', `${what}: ${(error as Error).message}`, { cause: error });
    } finally {
      timer();
    }
  }

  // ---- subscriptions API --------------------------------------------------------------------------

  private async subscriptionsApi(req: Req, res: Res, path: string): Promise<void> {
    if (!this.config.subscriptions)
      throw new HubError('NOT_FOUND', 'The subscriptions API is off: start the hub with --subscriptions.');
    const params = new URL(req.url ?? '/', 'http://hub.invalid').searchParams;
    const protocol = this.protocolOf(req, params);
    const authRequest = {
      method: 'GET',
      url: req.url ?? '/',
      headers: req.headers as Record<string, string>,
    };
    const subscriber = await this.auth.authenticate(authRequest, 'subscriber', protocol);
    if (subscriber === null) throw this.auth.missingToken(protocol);
    if (!canReceive(subscriber.grants, { private: true, topics: [path] })) {
      throw new AuthError('INSUFFICIENT_SCOPE', 'The token does not allow reading these subscriptions.', {
        description: 'The access token does not allow reading these subscriptions',
      });
    }
    const base = this.hubUrl.pathname;
    const rest = path
      .slice(`${base}/subscriptions`.length)
      .split('/')
      .filter((s) => s !== '');
    let parts: string[];
    try {
      parts = rest.map((s) => decodeURIComponent(s));
    } catch {
      throw new HubError('INVALID_REQUEST', 'The subscription path has an invalid percent-escape.');
    }
    const lastEventId = this.engine.lastEventId ?? 'earliest';
    const etag = `"${lastEventId.replace(/["\\]/g, '')}"`;
    const inm = headerValue(req.headers as Record<string, string>, 'if-none-match');
    res.setHeader('etag', etag);
    res.setHeader('cache-control', 'must-revalidate');
    if (
      inm !== undefined &&
      (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))
    ) {
      res.writeHead(304);
      res.end();
      return;
    }
    const v1 = protocol === '1.0';
    let filter: { match?: string; matchType?: string; subscriber?: string };
    if (v1 && parts.length >= 2) filter = { matchType: parts[0], match: parts[1], subscriber: parts[2] };
    else if (!v1 && parts.length >= 1) filter = { match: parts[0], subscriber: parts[1] };
    else if (parts.length === 0) filter = {};
    else throw new HubError('NOT_FOUND', 'Use /subscriptions/{match_type}/{match}[/{subscriber}].');
    if (parts.length > (v1 ? 3 : 2)) throw new HubError('NOT_FOUND', `Nothing is served at ${path}.`);
    const found = await this.findSubscriptions(filter);
    const single = filter.subscriber !== undefined;
    if (single && found[0] === undefined) throw new HubError('NOT_FOUND', 'No such active subscription.');
    if (v1) {
      // draft-08 §8.2: application/json, the cursor as `last-event-id` on the rel="mercure" Link header
      // (with the SHOULD attributes `type` and `content-type`), and the documents of §8.1 unchanged.
      res.setHeader(
        'link',
        `<${this.hubUrl.href}>; rel="mercure"; last-event-id=${quotedString(lastEventId)}; type="mercure"; content-type="application/json"`,
      );
      const body = single
        ? subscriptionDocument(base, found[0]!, protocol)
        : {
            id: path,
            type: 'subscriptions',
            subscriptions: found.map((s) => subscriptionDocument(base, s, protocol)),
          };
      return this.json(res, 200, body);
    }
    if (single) {
      return this.json(
        res,
        200,
        { ...subscriptionDocument(base, found[0]!, protocol), lastEventID: lastEventId },
        'application/ld+json',
      );
    }
    this.json(
      res,
      200,
      {
        '@context': 'https://mercure.rocks/',
        id: path,
        type: 'Subscriptions',
        lastEventID: lastEventId,
        subscriptions: found.map((s) => subscriptionDocument(base, s, protocol, false)),
      },
      'application/ld+json',
    );
  }

  // ---- responses ----------------------------------------------------------------------------------

  private cors(req: Req, res: Res): void {
    const origin = headerValue(req.headers as Record<string, string>, 'origin');
    if (origin === undefined || this.corsOrigins.size === 0) return;
    if (this.corsOrigins.has(origin) || this.corsOrigins.has('*')) {
      // Credentials (the cookie) need an explicit origin, never `*`.
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader(
        'access-control-expose-headers',
        'link, last-event-id, mercure-last-event-id, crier-replay, etag',
      );
      res.setHeader('vary', 'origin');
    }
  }

  private preflight(req: Req, res: Res): void {
    if (res.hasHeader('access-control-allow-origin')) {
      res.setHeader('access-control-allow-methods', 'GET, QUERY, POST, OPTIONS');
      res.setHeader(
        'access-control-allow-headers',
        headerValue(req.headers as Record<string, string>, 'access-control-request-headers') ??
          'authorization, last-event-id, content-type',
      );
      res.setHeader('access-control-max-age', '600');
    }
    res.writeHead(204);
    res.end();
  }

  private text(res: Res, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(`${body}\n`);
  }

  private json(res: Res, status: number, body: unknown, type = 'application/json'): void {
    res.writeHead(status, { 'content-type': `${type}; charset=utf-8` });
    res.end(JSON.stringify(body));
  }

  private fail(req: Req, res: Res, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof AuthError || error instanceof HubError) {
      // Why a request was refused, for the operator (the client gets the description only).
      this.log.debug(
        {
          requestId: res.getHeader('x-request-id'),
          method: req.method,
          path: req.url?.split('?')[0],
          status: error.status,
          code: error.code,
          reason: error.message,
        },
        'refused',
      );
    }
    if (error instanceof AuthError) {
      const headers: Record<string, string> = {};
      if (error.wwwAuthenticate !== undefined) headers['www-authenticate'] = error.wwwAuthenticate;
      if (req.method === 'POST' || req.url?.startsWith('/v1/'))
        this.metrics.publishes.inc({ status: String(error.status) });
      this.text(res, error.status, error.description, headers);
      return;
    }
    if (error instanceof HubError) {
      if (req.method === 'POST' && error.code !== 'RATE_LIMITED')
        this.metrics.publishes.inc({ status: String(error.status) });
      // A refused subscriber's socket is closed too: near the descriptor limit, every one counts.
      if (error.status === 413 || error.code === 'TOO_MANY_CONNECTIONS') res.setHeader('connection', 'close');
      this.text(res, error.status, error.message, { ...error.headers });
      return;
    }
    this.log.error({ err: error }, 'unexpected error');
    this.text(res, 500, 'Internal error.');
  }
}

/** Creates the hub and starts listening. */
export async function createHubServer(config: HubConfig, options: HubServerOptions = {}): Promise<HubServer> {
  const server = await HubServer.create(config, options);
  await server.listen();
  return server;
}

function jsonInput(item: unknown): UpdateInput {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new HubError(
      'INVALID_REQUEST',
      'An update must be a JSON object with "topics" (or "topic") and "data".',
    );
  }
  const o = item as Record<string, unknown>;
  const topics = o.topics ?? (o.topic === undefined ? undefined : [o.topic]);
  if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string')) {
    throw new HubError('INVALID_REQUEST', '"topics" must be a non-empty array of strings.');
  }
  for (const key of ['data', 'id', 'type'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'string')
      throw new HubError('INVALID_REQUEST', `"${key}" must be a string.`);
  }
  if (o.private !== undefined && typeof o.private !== 'boolean')
    throw new HubError('INVALID_REQUEST', '"private" must be true or false.');
  if (o.retry !== undefined && !(typeof o.retry === 'number' && Number.isInteger(o.retry) && o.retry >= 0)) {
    throw new HubError('INVALID_REQUEST', '"retry" must be a non-negative integer (milliseconds).');
  }
  return {
    topics: topics as string[],
    data: o.data as string | undefined,
    id: o.id as string | undefined,
    type: o.type as string | undefined,
    retry: o.retry as number | undefined,
    private: o.private as boolean | undefined,
  };
}

/** An RFC 9110 quoted-string of any ID: `"` and `\\` escaped, non-ASCII sent as UTF-8 bytes. */
function quotedString(value: string): string {
  return `"${headerFromText(value).replace(/["\\]/g, '\\$&')}"`;
}

function payloadOf(context: AuthContext | null, protocol: ProtocolVersion, match: string): unknown {
  if (context === null) return undefined;
  return protocol === '0.x' ? context.grants.payload : subscriptionPayload(context.grants, match);
}

function cookie(headers: Record<string, string>, name: string): string | undefined {
  const raw = headerValue(headers, 'cookie');
  if (raw === undefined) return undefined;
  for (const pair of raw.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** Reads a request body up to `max` bytes; more is a 413 (the rest is not read). */
async function readBody(req: Req, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > max) {
    throw new HubError(
      'BODY_TOO_LARGE',
      `The body is ${declared} bytes; the most accepted is ${max} (--max-body).`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max)
      throw new HubError('BODY_TOO_LARGE', `The body is larger than ${max} bytes (--max-body).`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** When the subscriber's stream ends, and a way to end it (token expiry). */
function onClose(req: Req, res: Res): { closed: boolean; on(f: () => void): void; close(): void } {
  const h2 = 'stream' in res && req.httpVersionMajor === 2 ? (res as Http2ServerResponse).stream : undefined;
  const socket = req.socket;
  const state = {
    closed: false,
    on(f: () => void) {
      const done = () => {
        state.closed = true;
        f();
      };
      if (h2 !== undefined) h2.once('close', done);
      else socket.once('close', done);
    },
    close() {
      if (h2 !== undefined) h2.close();
      else socket.destroy();
    },
  };
  return state;
}

function landingPage(hubUrl: string): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>Crier hub</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:44rem;color:#1d2330}code{background:#f3f4f7;padding:0 .2em}</style>
<h1>Crier hub</h1>
<p>The Mercure hub is at <code>${hubUrl}</code>. Subscribe with <code>new EventSource('${hubUrl}?topic=…')</code>,
publish with a form POST carrying a publisher JWT. See docs/hub.md.</p>
<p>Operations: <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a>.</p></html>`;
}

/** A form body (or none): anything else is a 415 whose message starts with `what`. */
function requireForm(req: Req, what: string): void {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== '' && type !== 'application/x-www-form-urlencoded') {
    throw new HubError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${what} Content-Type application/x-www-form-urlencoded, got ${type}.`,
    );
  }
}
