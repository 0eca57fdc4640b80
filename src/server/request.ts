/**
 * Reading a subscription from a request: topic selectors from `topic` query parameters (or fixed by the
 * endpoint), the selector syntax, `Last-Event-ID` from the header or the `lastEventID` / `last_event_id`
 * query parameter, and an optional conflation rate. Every bad input is a `ServerError` with status 400.
 */

import { textFromHeader } from '../protocol/header-text.js';
import { ServerError } from './errors.js';
import type { ResolvedHubOptions } from './options.js';
import {
  compileSelector,
  type SelectorPool,
  type SelectorSyntax,
  selectorCost,
  type TopicSelector,
} from './selectors.js';

/** Per-endpoint (or per-request) settings given by the application to `handle`, `fetch` or `handleStream`. */
export interface SubscribeOptions {
  /** Fixed selectors for this endpoint; the `topic` query parameters are then ignored. */
  topics?: readonly string[];
  /** The selector syntax. Default: the `syntax` query parameter, else `'auto'`. */
  syntax?: SelectorSyntax;
  /**
   * Selectors of the private updates this subscriber is authorised for (e.g. from a JWT). A private update
   * is delivered only when one of its topics matches one of these. Default: none (no private updates).
   */
  privateTopics?: readonly string[];
  /** Conflation: at most this many events per second per topic. Default: the `maxRate` query parameter, else none. */
  maxRate?: number;
  /**
   * Delta updates (src/server/delta.ts): after a full update of a topic, the next ones of that topic go out
   * as patches against it. Default: the `delta` query parameter (`1` or `true`), else off.
   */
  delta?: boolean;
  /**
   * Overrides the `Last-Event-ID` taken from the request (the header and the query are then not read);
   * `''`: none.
   */
  lastEventId?: string;
  /**
   * When the request resumes (a `Last-Event-ID`), the response header that names where the stream resumes
   * from, as Mercure asks (`Last-Event-ID` in draft-07, `Mercure-Last-Event-ID` in draft-08): the requested
   * ID when history holds it, `earliest` otherwise (unknown, expired, or `earliest` asked). Default: none.
   */
  resumeHeader?: string;
  /**
   * The application's own data about this connection (a user, a session): given back in the hub's
   * `connect` and `disconnect` events, with the request, as `info.state`. Default: none.
   */
  state?: unknown;
  /**
   * Selectors the application compiled itself (a protocol whose matchers each have their own syntax, such
   * as Mercure's): used as they are, instead of reading `topics`, `syntax` and `privateTopics`. They count
   * towards `maxSelectors`, but their cost is not charged again and nothing is taken from the hub's selector
   * pool: the application bounds them and keeps them alive for the connection's life. Default: none.
   */
  compiled?: {
    readonly selectors: readonly TopicSelector[];
    /** Selectors of the private updates this subscriber may receive; `null` for none. */
    readonly privateSelectors: readonly TopicSelector[] | null;
  };
}

export interface Subscription {
  readonly selectors: readonly TopicSelector[];
  readonly privateSelectors: readonly TopicSelector[] | null;
  readonly lastEventId: string | undefined;
  readonly maxRate: number;
  /** See `SubscribeOptions.delta`; absent: off. */
  readonly delta?: boolean;
  /** See `SubscribeOptions.resumeHeader`. */
  readonly resumeHeader?: string;
  /**
   * Gives the compiled selectors back to the pool they were taken from (the hub calls it when the
   * connection ends; calling it again does nothing). Absent when no pool was used.
   */
  readonly release?: () => void;
}

const SYNTAXES = new Set(['auto', 'exact', 'template', 'urlpattern']);

/**
 * Reads a subscription. `target` is the request target (`/path?query`) or just the query; `header` is the
 * `Last-Event-ID` header if any.
 */
export function readSubscription(
  target: string,
  header: string | undefined,
  options: SubscribeOptions,
  limits: ResolvedHubOptions,
  pool?: SelectorPool,
): Subscription {
  const q = target.indexOf('?');
  const query = q === -1 ? '' : target.slice(q + 1);
  if (query.length > limits.maxQueryLength) {
    throw new ServerError(
      'QUERY_TOO_LONG',
      `The query string is ${query.length} characters long; the most accepted is ${limits.maxQueryLength}.`,
    );
  }
  // Parsed only when something is read from it: a caller that read the request itself (`compiled`, with
  // `lastEventId` and `maxRate` given) has the query parsed once, by itself.
  let parsed: URLSearchParams | null = null;
  const params = (): URLSearchParams => {
    if (parsed === null) parsed = new URLSearchParams(query);
    return parsed;
  };

  const compiled = options.compiled;
  const syntaxParam = compiled === undefined ? (options.syntax ?? params().get('syntax') ?? 'auto') : 'auto';
  if (!SYNTAXES.has(syntaxParam)) {
    throw new ServerError(
      'INVALID_SELECTOR',
      `Unknown selector syntax "${syntaxParam}"; use one of auto, exact, template, urlpattern.`,
    );
  }
  const syntax = syntaxParam as SelectorSyntax;
  const sources = compiled === undefined ? (options.topics ?? params().getAll('topic')) : [];
  const count = compiled === undefined ? sources.length : compiled.selectors.length;
  if (count === 0) {
    throw new ServerError('NO_SELECTOR', 'Subscribe to at least one topic: add a `topic` query parameter.');
  }
  const privateSources = compiled === undefined ? (options.privateTopics ?? []) : [];
  const privateCount =
    compiled === undefined ? privateSources.length : (compiled.privateSelectors?.length ?? 0);
  if (count + privateCount > limits.maxSelectors) {
    throw new ServerError(
      'TOO_MANY_SELECTORS',
      `This subscription has ${count + privateCount} topic selectors; the most accepted is ${limits.maxSelectors}.`,
    );
  }
  // The header carries the ID's UTF-8 bytes (WHATWG); the query parameters are percent-decoded already.
  const rawId =
    options.lastEventId ??
    (header === undefined ? undefined : textFromHeader(header)) ??
    params().get('lastEventID') ??
    params().get('last_event_id');
  const lastEventId = rawId === null || rawId === '' ? undefined : rawId;
  if (lastEventId !== undefined && lastEventId.length > limits.maxLastEventIdLength) {
    throw new ServerError(
      'LAST_EVENT_ID_TOO_LONG',
      `Last-Event-ID is ${lastEventId.length} characters long; the most accepted is ${limits.maxLastEventIdLength}.`,
    );
  }

  let maxRate = options.maxRate ?? 0;
  const rateParam = options.maxRate === undefined ? params().get('maxRate') : null;
  if (rateParam !== null) {
    maxRate = Number(rateParam);
    if (!(maxRate > 0) || !Number.isFinite(maxRate)) {
      throw new ServerError(
        'INVALID_PARAMETER',
        `maxRate must be a positive number of events per second, got "${rateParam}".`,
      );
    }
  }
  let delta = options.delta ?? false;
  const deltaParam = options.delta === undefined ? params().get('delta') : null;
  if (deltaParam !== null) {
    if (!['1', 'true', '0', 'false'].includes(deltaParam)) {
      throw new ServerError(
        'INVALID_PARAMETER',
        `delta must be 1 or 0 (true or false), got "${deltaParam.slice(0, 20)}".`,
      );
    }
    delta = deltaParam === '1' || deltaParam === 'true';
  }
  const resume = {
    ...(options.resumeHeader === undefined ? {} : { resumeHeader: options.resumeHeader }),
    ...(delta ? { delta: true } : {}),
  };
  if (compiled !== undefined) {
    const { selectors, privateSelectors } = compiled;
    return { selectors, privateSelectors, lastEventId, maxRate, ...resume };
  }
  // Compiled last, so nothing after this can fail and leave selectors taken from the pool.
  const { selectors, privateSelectors, release } = compileAll(sources, privateSources, syntax, limits, pool);
  return {
    selectors,
    privateSelectors,
    lastEventId,
    maxRate,
    ...resume,
    ...(pool === undefined ? {} : { release }),
  };
}

/**
 * Compiles the public and private selectors, from the pool when there is one, and charges their cost:
 * past `maxSelectorCost` it gives back what it took and throws `SELECTORS_TOO_COSTLY`.
 */
function compileAll(
  sources: readonly string[],
  privateSources: readonly string[],
  syntax: SelectorSyntax,
  limits: ResolvedHubOptions,
  pool: SelectorPool | undefined,
): { selectors: TopicSelector[]; privateSelectors: TopicSelector[] | null; release: () => void } {
  const taken: TopicSelector[] = [];
  let cost = 0;
  const one = (source: string): TopicSelector => {
    const selector = compile(source, syntax, pool);
    taken.push(selector);
    cost += selectorCost(selector);
    if (cost > limits.maxSelectorCost) {
      throw new ServerError(
        'SELECTORS_TOO_COSTLY',
        `The first ${taken.length} topic selectors already cost about ${Math.ceil(cost / 1024)} KiB of memory, ` +
          `more than the ${Math.ceil(limits.maxSelectorCost / 1024)} KiB one subscription may hold (maxSelectorCost). ` +
          'URI templates and URL patterns cost far more than exact topics: subscribe with fewer, or simpler, selectors.',
      );
    }
    return selector;
  };
  try {
    const selectors = sources.map(one);
    const privateSelectors = privateSources.length === 0 ? null : privateSources.map(one);
    // Lives as long as the connection: it holds an exact-size copy of the selectors and the pool only.
    const release = pool === undefined ? () => {} : pool.releaser(taken.slice());
    return { selectors, privateSelectors, release };
  } catch (error) {
    pool?.release(taken);
    throw error;
  }
}

/**
 * Compiled selectors are immutable, so connections with the same selector share one from the hub's pool
 * (less memory per subscriber, and a template is compiled once, not once per connection); the pool
 * drops a selector when its last subscription ends.
 */
function compile(source: string, syntax: SelectorSyntax, pool: SelectorPool | undefined): TopicSelector {
  try {
    return pool === undefined ? compileSelector(source, syntax) : pool.acquire(source, syntax);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ServerError('INVALID_SELECTOR', `Topic selector "${source}" is invalid: ${why}`, {
      cause: error,
    });
  }
}
