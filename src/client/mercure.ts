/**
 * Mercure helpers: build a hub's subscription URL for either protocol version, discover a hub from a
 * resource's `Link: <...>; rel="mercure"` header, tell the two protocol versions apart, and subscribe
 * with a `CrierEventSource`.
 *
 * - `draft-07` (the 0.x protocol, draft-dunglas-mercure-07): one `topic` query parameter per topic selector
 *   (a topic IRI or a URI template), `lastEventID`, and the token in the `authorization` query parameter.
 * - `draft-08` (1.0, draft-dunglas-mercure-08 as the text reads today): `match` for exact topics and
 *   `match_urlpattern` for URL patterns, `last_event_id`; the token goes in the `Authorization` header or
 *   a cookie, never the URL (§6.1: hubs refuse `access_token`). The hub answers the resume anchor in
 *   `Mercure-Last-Event-ID` (§7); discovery's cursor is the `last-event-id` attribute of the
 *   `rel="mercure"` Link header (§9.1), and the subscriptions API uses the same attribute (§8.2).
 */
import { textFromHeader } from '../protocol/header-text.js';
import { ClientError } from './errors.js';
import { CrierEventSource, type CrierEventSourceInit, type EventDataMap } from './event-source.js';

export type MercureProtocol = 'draft-07' | 'draft-08';

export interface MercureSubscription {
  /** Topics: with draft-07, topic selectors (IRIs or URI templates); with draft-08, exact topics. */
  topics?: readonly string[];
  /** draft-08 only: URL patterns (`match_urlpattern`), e.g. `https://example.com/books/:id`. */
  urlPatterns?: readonly string[];
  /** Resume after this event ID (`lastEventID` / `last_event_id`). Prefer the `Last-Event-ID` header. */
  lastEventId?: string;
  /**
   * draft-07 only: a subscriber token in the `authorization` query parameter, for browsers that cannot
   * send headers. Query strings end up in logs: prefer a header or a cookie. draft-08 hubs refuse tokens
   * in the URL, so with draft-08 this throws: pass `getToken` (the `Authorization` header) or use the
   * hub's cookie (`mercure_cookie` in its metadata).
   */
  token?: string;
  /** The protocol version. Default `'draft-08'`. */
  protocol?: MercureProtocol;
}

/** The subscription URL for `hub` (absolute, or relative to the page). Existing query parameters are kept. */
export function mercureUrl(hub: string | URL, subscription: MercureSubscription): URL {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const url = new URL(hub, base);
  const protocol = subscription.protocol ?? 'draft-08';
  const topics = subscription.topics ?? [];
  const patterns = subscription.urlPatterns ?? [];
  if (topics.length === 0 && patterns.length === 0) {
    throw new TypeError('A Mercure subscription needs at least one topic or URL pattern.');
  }
  if (protocol === 'draft-07') {
    if (patterns.length > 0) {
      throw new TypeError('URL patterns need the draft-08 protocol; draft-07 uses URI templates as topics.');
    }
    for (const topic of topics) url.searchParams.append('topic', topic);
    if (subscription.lastEventId) url.searchParams.set('lastEventID', subscription.lastEventId);
    if (subscription.token) url.searchParams.set('authorization', subscription.token);
  } else {
    for (const topic of topics) url.searchParams.append('match', topic);
    for (const pattern of patterns) url.searchParams.append('match_urlpattern', pattern);
    if (subscription.lastEventId) url.searchParams.set('last_event_id', subscription.lastEventId);
    if (subscription.token) {
      throw new TypeError(
        'draft-08 hubs refuse tokens in the URL (draft-08 §6.1): send it with getToken (the Authorization header) or the cookie.',
      );
    }
  }
  return url;
}

/** A link from a `Link` header (RFC 8288) with its target attributes. */
export interface WebLink {
  /** The target URL, resolved against the response's URL. */
  url: string;
  rel: string[];
  /** Other attributes, lowercase names (e.g. `last-event-id`, `content-type`). */
  params: Record<string, string>;
}

/** Parses a `Link` header value into its links. Tolerates commas and semicolons inside quoted strings. */
export function parseLinkHeader(value: string, base?: string): WebLink[] {
  const links: WebLink[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  while (i < n) {
    skipSpace();
    if (value[i] === ',') {
      i++;
      continue;
    }
    if (value[i] !== '<') {
      // Not a link: skip to the next comma outside quotes.
      while (i < n && value[i] !== ',') i++;
      continue;
    }
    const end = value.indexOf('>', i);
    if (end === -1) break;
    const target = value.slice(i + 1, end).trim();
    i = end + 1;
    const params: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (value[i] !== ';') break;
      i++;
      skipSpace();
      let name = '';
      while (i < n && !'=;, \t'.includes(value[i]!)) name += value[i++];
      skipSpace();
      let paramValue = '';
      if (value[i] === '=') {
        i++;
        skipSpace();
        if (value[i] === '"') {
          i++;
          while (i < n && value[i] !== '"') {
            if (value[i] === '\\' && i + 1 < n) i++;
            paramValue += value[i++];
          }
          i++;
        } else {
          while (i < n && !';, \t'.includes(value[i]!)) paramValue += value[i++];
        }
      }
      name = name.toLowerCase();
      if (name && !(name in params)) params[name] = paramValue;
    }
    let url: string;
    try {
      url = new URL(target, base).href;
    } catch {
      continue;
    }
    const rel = (params.rel ?? '').split(/\s+/).filter(Boolean);
    delete params.rel;
    links.push({ url, rel, params });
  }
  return links;
}

export interface DiscoveredHub {
  /** The hub URL. */
  hub: string;
  /** Every advertised hub, in header order. */
  hubs: string[];
  /** The `last-event-id` attribute: pass it when subscribing so no update is lost in between. */
  lastEventId: string | undefined;
  /** The `content-type` attribute of the updates, when given. */
  contentType: string | undefined;
  /** The `type` attribute: the SSE event type the updates carry (listen for it), when given. */
  type: string | undefined;
  /** The resource's response (its body is not read). */
  response: Response;
}

/** The hubs advertised by a response's `Link` headers, or an empty array. */
export function mercureHubsFromResponse(response: Response, base?: string): WebLink[] {
  const header = response.headers.get('Link');
  if (!header) return [];
  return parseLinkHeader(header, response.url || base).filter((link) => link.rel.includes('mercure'));
}

/**
 * Fetches `resource` and reads its hub from `Link: <hub>; rel="mercure"`. Throws a ClientError NO_HUB when
 * the response advertises none.
 */
export async function discoverMercureHub(
  resource: string | URL,
  init: RequestInit & { fetch?: typeof fetch } = {},
): Promise<DiscoveredHub> {
  const { fetch: fetchImpl = globalThis.fetch, ...requestInit } = init;
  const response = await fetchImpl(resource, requestInit);
  const links = mercureHubsFromResponse(response, String(resource));
  const first = links[0];
  if (!first) {
    throw new ClientError(
      'NO_HUB',
      `${String(resource)} advertises no Mercure hub: its response has no Link header with rel="mercure".`,
      { status: response.status },
    );
  }
  return {
    hub: first.url,
    hubs: links.map((link) => link.url),
    lastEventId:
      first.params['last-event-id'] === undefined ? undefined : textFromHeader(first.params['last-event-id']),
    contentType: first.params['content-type'],
    type: first.params.type,
    response,
  };
}

/**
 * Which protocol a hub speaks: `draft-08` when it serves the RFC 9728 protected resource metadata that
 * draft-08 §9.2 defines (at `/.well-known/oauth-protected-resource` + the hub's path), `draft-07`
 * otherwise — the text itself names the metadata's absence as the hint of a pre-standard hub. A Crier hub
 * in `--protocol auto` mode serves the metadata and speaks both: ask for `draft-08` then.
 */
export async function detectMercureProtocol(
  hub: string | URL,
  init: { fetch?: typeof fetch; signal?: AbortSignal } = {},
): Promise<MercureProtocol> {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const url = new URL(hub, base);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const metadata = new URL(`/.well-known/oauth-protected-resource${path}`, url.origin);
  try {
    const response = await (init.fetch ?? globalThis.fetch)(metadata, { signal: init.signal });
    if (!response.ok) {
      response.body?.cancel().catch(() => {});
      return 'draft-07';
    }
    const doc = (await response.json()) as { resource?: unknown };
    return typeof doc.resource === 'string' ? 'draft-08' : 'draft-07';
  } catch (error) {
    if (init.signal?.aborted) throw error;
    return 'draft-07';
  }
}

export interface MercureSubscribeInit extends CrierEventSourceInit {
  /**
   * Called on every connect with the hub's resume anchor — `Mercure-Last-Event-ID` (draft-08 §7) or a
   * 0.x hub's `Last-Event-ID` response header — and the ID the request resumed from. The anchor is the
   * event before the first one sent, or `earliest`: when it differs from `requested`, updates may have
   * been lost and the resource should be fetched again.
   */
  onResumeAnchor?: (anchor: string, requested: string | undefined) => void;
}

/**
 * Subscribes to a hub's topics. The last event ID goes in the `Last-Event-ID` header (both protocol
 * versions accept it, and it moves forward on every reconnect), not in the query string.
 */
export function subscribeMercure<Events extends EventDataMap = EventDataMap>(
  hub: string | URL,
  subscription: MercureSubscription,
  init: MercureSubscribeInit = {},
): CrierEventSource<Events> {
  const { lastEventId, ...rest } = subscription;
  const url = mercureUrl(hub, rest);
  const { onResumeAnchor, ...sourceInit } = init;
  if (onResumeAnchor !== undefined) {
    const inner = sourceInit.fetch ?? globalThis.fetch;
    sourceInit.fetch = async (input, requestInit) => {
      const response = await inner(input, requestInit);
      const anchor =
        response.headers.get('Mercure-Last-Event-ID') ??
        (subscription.protocol === 'draft-07' ? response.headers.get('Last-Event-ID') : null);
      if (response.status === 200 && anchor !== null) {
        const requested = new Headers(requestInit?.headers).get('Last-Event-ID');
        onResumeAnchor(textFromHeader(anchor), requested === null ? undefined : textFromHeader(requested));
      }
      return response;
    };
  }
  return new CrierEventSource<Events>(url, {
    ...sourceInit,
    lastEventId: sourceInit.lastEventId ?? lastEventId,
  });
}
