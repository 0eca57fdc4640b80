/**
 * Mercure helpers: build a hub's subscription URL for either protocol version, discover a hub from a
 * resource's `Link: <...>; rel="mercure"` header, and subscribe with a `CrierEventSource`.
 *
 * - `draft-07` (the 0.x protocol, draft-dunglas-mercure-07): one `topic` query parameter per topic selector
 *   (a topic IRI or a URI template), `lastEventID`, and the token in the `authorization` query parameter.
 * - `draft-08` (1.0, draft-dunglas-mercure-08): `match` for exact topics and `match_urlpattern` for URL
 *   patterns, `last_event_id`, and the token in the `access_token` query parameter (RFC 6750).
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
   * A subscriber token in the query string (`authorization` with draft-07, `access_token` with draft-08),
   * for browsers that cannot send headers. Query strings end up in logs: prefer a header or a cookie.
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
    if (subscription.token) url.searchParams.set('access_token', subscription.token);
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
    response,
  };
}

/**
 * Subscribes to a hub's topics. The last event ID goes in the `Last-Event-ID` header (both protocol
 * versions accept it, and it moves forward on every reconnect), not in the query string.
 */
export function subscribeMercure<Events extends EventDataMap = EventDataMap>(
  hub: string | URL,
  subscription: MercureSubscription,
  init: CrierEventSourceInit = {},
): CrierEventSource<Events> {
  const { lastEventId, ...rest } = subscription;
  const url = mercureUrl(hub, rest);
  return new CrierEventSource<Events>(url, { ...init, lastEventId: init.lastEventId ?? lastEventId });
}
