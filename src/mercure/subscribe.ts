/**
 * Reading a Mercure subscription from the query string, for both protocol versions: selectors compiled per
 * matcher (each matcher has its own syntax in Mercure, where the library's query reader takes one syntax
 * per request), and the subscriber's private rights as one selector built from its token's grants. The
 * server library takes both as they are (`SubscribeOptions.compiled`).
 */
import { compileSelector, type SelectorPool, selectorCost, type TopicSelector } from '../topics/index.js';
import type { Grants, ProtocolVersion } from './auth/index.js';
import { HubError } from './errors.js';

/** A matcher type as named in subscription events: 0.x selectors are `template` (exact or RFC 6570). */
export type MatchType = 'exact' | 'urlpattern' | 'template';

export interface Matcher {
  readonly type: MatchType;
  readonly match: string;
  readonly selector: TopicSelector;
}

export interface MercureSubscription {
  readonly protocol: ProtocolVersion;
  readonly matchers: readonly Matcher[];
  /** Where replay starts: an ID, `earliest` (all history, the server library's `EARLIEST`), or undefined for live only. */
  readonly lastEventId: string | undefined;
  /** The selectors' estimated memory in bytes (src/topics/cost.ts), each charged in full even when shared. */
  readonly cost: number;
  /** Gives the selectors back to the pool they came from (once; later calls do nothing). */
  release(): void;
}

/** Where the hub's compiled selectors come from, and what one subscription may cost. */
export interface SelectorLimits {
  /** Shares one compiled selector per distinct matcher across connections. */
  readonly pool: SelectorPool;
  /** `--max-selector-cost`: past it the subscription is a 400. */
  readonly maxCost: number;
  /** Called with the cost so far after each selector; it may throw (the per-address allowance). */
  readonly check?: (cost: number) => void;
}

const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\p{Cf}]/u;

/** Query parameters that only a 1.0 (draft-08) subscriber sends. */
export function looksLikeVersion1(params: URLSearchParams): boolean {
  for (const name of params.keys()) {
    if (
      /^match/i.test(name) ||
      name === 'topicURLPattern' ||
      name === 'last_event_id' ||
      name === 'access_token'
    )
      return true;
  }
  return false;
}

/** Reads the matchers and the replay start of a subscribe request. Bad input is a 400 `HubError`. */
export function readMercureSubscription(
  params: URLSearchParams,
  lastEventIdHeader: string | undefined,
  protocol: ProtocolVersion,
  maxTopics: number,
  hubUrl: URL,
  limits?: SelectorLimits,
): MercureSubscription {
  const matchers: Matcher[] = [];
  const taken: TopicSelector[] = [];
  let cost = 0;
  try {
    return readMatchers();
  } catch (error) {
    limits?.pool.release(taken);
    throw error;
  }

  function add(type: MatchType, match: string, param: string): void {
    if (matchers.length >= maxTopics) {
      throw new HubError('TOO_MANY_TOPICS', `More than ${maxTopics} topic matchers in one request.`);
    }
    if (FORBIDDEN.test(match)) {
      throw new HubError(
        'INVALID_REQUEST',
        `The "${param}" value must not contain control or format characters.`,
      );
    }
    const compile = () => compileMatcher(type, match, param, hubUrl);
    const selector =
      limits === undefined
        ? compile()
        : limits.pool.acquire(match, 'auto', compile, `${type}\u0000${hubUrl.origin}\u0000${match}`);
    matchers.push({ type, match, selector });
    taken.push(selector);
    cost += selectorCost(selector);
    if (limits !== undefined && cost > limits.maxCost) {
      throw new HubError(
        'SELECTORS_TOO_COSTLY',
        `The first ${matchers.length} topic selectors of this request already cost about ${kib(cost)} KiB of hub ` +
          `memory, more than the ${kib(limits.maxCost)} KiB one subscription may hold (--max-selector-cost). URI templates and URL patterns ` +
          'cost far more than exact topics (docs/topics.md): subscribe with fewer, or simpler, selectors.',
      );
    }
    limits?.check?.(cost);
  }

  function readMatchers(): MercureSubscription {
    for (const [name, value] of params) {
      if (protocol === '0.x') {
        if (name === 'topic') add('template', value, name);
        continue;
      }
      if (name === 'match' || name === 'match_exact' || name === 'topic') add('exact', value, name);
      else if (name === 'match_urlpattern' || name === 'topicURLPattern') add('urlpattern', value, name);
      else if (/^match/i.test(name)) {
        throw new HubError(
          'INVALID_REQUEST',
          `Unknown matcher parameter "${name}": use match (or match_exact) and match_urlpattern.`,
        );
      }
    }
    if (matchers.length === 0) {
      throw new HubError(
        'INVALID_REQUEST',
        protocol === '0.x'
          ? 'Missing "topic": subscribe to at least one topic selector.'
          : 'Missing "match": subscribe to at least one topic matcher (match or match_urlpattern).',
      );
    }
    const fromQuery =
      params.get(protocol === '0.x' ? 'lastEventID' : 'last_event_id') ??
      params.get('lastEventID') ??
      params.get('last_event_id');
    const raw = lastEventIdHeader !== undefined && lastEventIdHeader !== '' ? lastEventIdHeader : fromQuery;
    const lastEventId = raw === null || raw === '' ? undefined : raw;
    // The release function lives as long as the stream: it holds an exact-size copy of the selectors.
    const release = limits === undefined ? () => {} : limits.pool.releaser(taken.slice());
    return { protocol, matchers, lastEventId, cost, release };
  }
}

const kib = (bytes: number) => Math.ceil(bytes / 1024).toLocaleString('en-US');

function compileMatcher(type: MatchType, match: string, param: string, hubUrl: URL): TopicSelector {
  if (match === '*') return compileSelector('*', 'auto'); // the wildcard, whatever the matcher type
  if (type === 'exact') return compileSelector(match, 'exact');
  if (type === 'template') {
    try {
      return compileSelector(match, 'auto');
    } catch {
      // As the Mercure hub does: a selector that is not a valid URI template is an exact topic.
      return compileSelector(match, 'exact');
    }
  }
  try {
    return compileUrlPattern(match, hubUrl);
  } catch (error) {
    throw new HubError(
      'INVALID_REQUEST',
      `The "${param}" value "${match}" is not a valid URL pattern: ${(error as Error).message}`,
    );
  }
}

/**
 * A URL pattern selector where relative patterns and relative topics are resolved against the hub's URL
 * (draft-08), so `/.well-known/mercure/subscriptions/:type/:match/:subscriber` matches subscription events.
 */
export function compileUrlPattern(pattern: string, hubUrl: URL): TopicSelector {
  const absolute = (s: string) => (s.startsWith('/') && !s.startsWith('//') ? hubUrl.origin + s : s);
  const inner = compileSelector(absolute(pattern), 'urlpattern');
  if (inner.kind === 'any') return inner;
  return {
    source: pattern,
    kind: 'urlpattern',
    cost: selectorCost(inner),
    matches: (topic: string) => topic === pattern || inner.matches(absolute(topic)),
  };
}

/** The selector compiler the hub gives its authenticator: src/topics', with relative URL patterns resolved. */
export function hubSelectorCompiler(hubUrl: () => URL) {
  return (selector: string, syntax?: 'exact' | 'urlpattern'): TopicSelector =>
    syntax === 'urlpattern'
      ? compileUrlPattern(selector, hubUrl())
      : compileSelector(selector, syntax ?? 'auto');
}

/** A private-rights selector from a token's grants: matches the topics its subscribe grants allow. */
export function grantsSelector(grants: Grants | undefined, fingerprint: string): TopicSelector | null {
  const selectors = grants?.subscribe;
  if (selectors === undefined || selectors.length === 0) return null;
  return {
    source: `grants:${fingerprint}`,
    kind: 'template',
    matches(topic: string): boolean {
      for (const s of selectors) if (s.matches(topic)) return true;
      return false;
    },
  };
}
