/**
 * The subscribe route (`GET`, `HEAD` or `QUERY` on the Mercure endpoint): protocol and token, the
 * subscription's matchers, the hub's limits (connections, per address, selector memory), then the stream
 * from the server library, subscription events while it lasts, and its end when the token expires.
 *
 * Where a subscriber enters: `handle` → auth → `readMercureSubscription` → `handleNodeRequest`.
 */
import { randomUUID } from 'node:crypto';
import type { Http2ServerResponse } from 'node:http2';
import { headerFromText, textFromHeader } from '../../protocol/header-text.js';
import { codingHeaders, handleNodeRequest, joinVary, negotiateEncoding } from '../../server/index.js';
import { type AuthContext, headerValue, type ProtocolVersion, subscriptionPayload } from '../auth/index.js';
import type { ConnectionGuard } from '../connection-guard.js';
import { HubError } from '../errors.js';
import { headersOf, type Req, type Res, readBody, requireForm } from '../http.js';
import { grantsSelector, type MercureSubscription, readMercureSubscription } from '../subscribe.js';
import { type ActiveSubscription, subscriptionDocument, subscriptionTopic } from '../subscriptions.js';
import { parseForm, parseUrlEncoded } from '../update.js';
import type { RouteContext } from './context.js';
import { protocolOf } from './protocol.js';

export class SubscribeRoute {
  private readonly perIp = new Map<string, number>();
  /** Estimated bytes of compiled selectors held by each address's open subscriptions (`--max-selector-cost-per-ip`). */
  private readonly perIpSelectorCost = new Map<string, number>();

  constructor(
    private readonly ctx: RouteContext,
    /** Bounds connections that send no request, and keeps file descriptors for publishes and health. */
    private readonly guard: ConnectionGuard,
  ) {}

  async handle(req: Req, res: Res, url: URL, requestId: string): Promise<void> {
    const { ctx } = this;
    // Strictly, as a publish form: `topic=%zz` or `topic=%FF` is a 400, not a subscription to a literal
    // `%zz` or to U+FFFD (what the URL standard's lenient parser would make of them).
    const params =
      req.method === 'QUERY'
        ? await this.queryParameters(req, url)
        : new URLSearchParams(parseUrlEncoded(url.search.slice(1), 'query'));
    const protocol = protocolOf(ctx.config, ctx.hubUrl, req, params);
    const authRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: headersOf(req),
    };
    const subscriber = await ctx.auth.authenticateSubscriber(authRequest, protocol);
    const rawHeaderId = headerValue(headersOf(req), 'last-event-id');
    const headerId = rawHeaderId === undefined ? undefined : textFromHeader(rawHeaderId);
    const ip = ctx.clientAddress.ofRequest(req);
    const subscription = readMercureSubscription(
      params,
      headerId,
      protocol,
      ctx.config.maxTopics,
      ctx.hubUrl,
      {
        pool: ctx.hub.selectorPool,
        maxCost: ctx.config.maxSelectorCost,
        // Refused as soon as the address's allowance runs out, before compiling the rest.
        check: (cost) => this.checkAddressSelectorCost(ip, cost),
      },
    );
    // Until the stream's own release takes over, every way out gives the selectors back.
    let handedOver = false;
    try {
      const handOver = () => {
        handedOver = true;
      };
      const maxRateAsked = params.has('maxRate');
      await this.openStream(
        req,
        res,
        ip,
        subscription,
        subscriber,
        protocol,
        requestId,
        handOver,
        maxRateAsked,
      );
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
    const max = this.ctx.config.maxSelectorCostPerIp;
    if (held + cost <= max) return held;
    const kib = (bytes: number) => Math.ceil(bytes / 1024).toLocaleString('en-US');
    throw new HubError(
      'RATE_LIMITED',
      `This address's open subscriptions hold topic selectors of about ${kib(held)} KiB of hub memory, and this one ` +
        `would add ${kib(cost)} KiB or more: past the ${kib(max)} KiB one address may hold ` +
        '(--max-selector-cost-per-ip). Close a subscription or subscribe with simpler selectors (docs/topics.md).',
      { headers: { 'retry-after': '5' } },
    );
  }

  private async openStream(
    req: Req,
    res: Res,
    /** The client's address, as `handle` read it. */
    ip: string,
    subscription: MercureSubscription,
    subscriber: AuthContext | null,
    protocol: ProtocolVersion,
    requestId: string,
    handOver: () => void,
    /** Whether the request has a `maxRate` parameter (the library reads it from the query). */
    maxRateAsked: boolean,
  ): Promise<void> {
    const { ctx, guard } = this;
    const { config } = ctx;
    if (!guard.subscribersAllowed) {
      // Refused before the descriptor table is full: what is left serves publishes, health and metrics.
      throw new HubError(
        'TOO_MANY_CONNECTIONS',
        `The hub is near its open-file limit (${guard.openFileLimit} descriptors, ${guard.fdReserve} kept for publishes and health checks); retry later.`,
        { headers: { 'retry-after': '5' } },
      );
    }
    if (ctx.hub.connectionCount >= config.maxConnections) {
      throw new HubError(
        'TOO_MANY_CONNECTIONS',
        `The hub holds its maximum of ${config.maxConnections} subscribers; retry later.`,
        {
          headers: { 'retry-after': '5' },
        },
      );
    }
    const held = this.perIp.get(ip) ?? 0;
    if (held >= config.maxConnectionsPerIp) {
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
      res.setHeader(resumeHeader, headerFromText(ctx.engine.lastPublicEventId ?? 'earliest'));
    res.setHeader('cache-control', 'no-cache, no-transform, private');
    if (req.method === 'HEAD') {
      // The head a GET would get, compression included (negotiated as the stream's is).
      const offered = ctx.hub.options.compression;
      const coding = negotiateEncoding(req.headers['accept-encoding'], offered);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        ...joinVary(codingHeaders(coding, offered), res.getHeader('vary')),
      });
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
        ctx.subscriptions.remove(s);
        this.announce(s, protocol);
      }
      active = [];
    };
    closeStream.on(release);
    // The selectors are Mercure's, compiled per matcher (each matcher type has its own syntax): the
    // library takes them as they are, and `release` above gives them back to the pool.
    await handleNodeRequest(ctx.hub, req, res, {
      compiled: {
        selectors: subscription.matchers.map((m) => m.selector),
        privateSelectors: privateSelector === null ? null : [privateSelector],
      },
      // Read above already: the library need not parse the query again ('' is none). A `maxRate`
      // (conflation) is the library's own parameter, read from the query by the library.
      lastEventId: subscription.lastEventId ?? '',
      ...(maxRateAsked ? {} : { maxRate: 0 }),
      resumeHeader,
    });
    if (res.statusCode !== 200 || closeStream.closed) {
      release();
      return;
    }
    if (subscription.lastEventId !== undefined) {
      ctx.metrics.replays.inc({ result: String(res.getHeader('crier-replay') ?? 'ok') });
    }
    if (subscriber?.expiresAt !== undefined) {
      // Both drafts: the connection must end when the token expires.
      const ms = Math.max(0, subscriber.expiresAt - Date.now());
      expiry = setTimeout(() => closeStream.close(), Math.min(ms, 2_147_483_647));
      expiry.unref();
    }
    ctx.log.debug(
      {
        requestId,
        protocol,
        matchers: subscription.matchers.length,
        replay: subscription.lastEventId !== undefined,
      },
      'subscribed',
    );
    if (config.subscriptions) {
      const subscriberId = `urn:uuid:${randomUUID()}`;
      active = subscription.matchers.map((m) => ({
        matchType: m.type,
        match: m.match,
        subscriber: subscriberId,
        payload: payloadOf(subscriber, protocol, m.match),
        active: true,
      }));
      for (const s of active) {
        ctx.subscriptions.add(s);
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
    for (const [name, value] of parseForm(await readBody(req, this.ctx.config.maxBody))) {
      if (!single.includes(name)) merged.append(name, value);
    }
    return merged;
  }

  /** Publishes a subscription event (private, on the reserved topic). */
  private announce(s: ActiveSubscription, protocol: ProtocolVersion): void {
    const { ctx } = this;
    const base = ctx.hubUrl.pathname;
    const doc = subscriptionDocument(base, s, protocol);
    ctx.hub
      .publish(subscriptionTopic(base, s, protocol), JSON.stringify(doc), {
        private: true,
        id: `urn:uuid:${randomUUID()}`,
        // draft-08 §8.1: subscription events carry the reserved SSE event type `mercure`.
        event: protocol === '1.0' ? 'mercure' : undefined,
      })
      .catch((error: unknown) => ctx.log.warn({ err: error }, 'subscription event not published'));
  }
}

function payloadOf(context: AuthContext | null, protocol: ProtocolVersion, match: string): unknown {
  if (context === null) return undefined;
  return protocol === '0.x' ? context.grants.payload : subscriptionPayload(context.grants, match);
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
