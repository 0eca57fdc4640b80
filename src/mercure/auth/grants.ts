/**
 * What a verified token allows, and the authorization decisions as pure functions.
 *
 * Two claim shapes lead to the same `Grants`:
 * - Mercure 0.x (draft-dunglas-mercure-07): a `mercure` claim with `publish` and `subscribe` arrays of
 *   topic selectors (strings: exact topics, `*`, URI templates) and a free-form `payload`.
 * - Mercure 1.0 (draft-dunglas-mercure-08): an RFC 9396 `authorization_details` array whose entries of
 *   the Mercure type carry `actions` (`publish`, `subscribe`), `topics` (matcher objects `{match,
 *   match_type}`) and an optional `payload`.
 *
 * Selector matching itself belongs to src/topics; this module receives its `compileSelector` as a
 * parameter (the `SelectorCompiler` seam) and only handles `*` and exact matches on its own.
 */

import { AuthError } from './errors.js';

/** Matcher syntaxes a 1.0 token can name. A 0.x bare string is compiled with no syntax: the 0.x default. */
export type MatcherSyntax = 'exact' | 'urlpattern';

/** A compiled topic selector, as src/topics returns it. */
export interface CompiledSelector {
  matches(topic: string): boolean;
}

/** src/topics' `compileSelector(selector, syntax?)`. It may throw on an invalid selector. */
export type SelectorCompiler = (selector: string, syntax?: MatcherSyntax) => CompiledSelector;

/** One topic matcher as written in a token. */
export interface TokenMatcher {
  readonly match: string;
  /** `undefined` for a 0.x bare string (exact or URI template, as src/topics decides). */
  readonly syntax: MatcherSyntax | undefined;
}

export interface SubscribeDetail {
  readonly matchers: readonly TokenMatcher[];
  readonly selectors: readonly CompiledSelector[];
  readonly payload: unknown;
}

/** What a token allows. `undefined` lists mean the claim was absent: nothing is granted. */
export interface Grants {
  readonly publish: readonly CompiledSelector[] | undefined;
  readonly subscribe: readonly CompiledSelector[] | undefined;
  /** 0.x `mercure.payload`. */
  readonly payload: unknown;
  /** 1.0 subscribe details in token order, for payload selection. */
  readonly subscribeDetails: readonly SubscribeDetail[];
}

export const NO_GRANTS: Grants = Object.freeze({
  publish: undefined,
  subscribe: undefined,
  payload: undefined,
  subscribeDetails: Object.freeze([]) as readonly SubscribeDetail[],
});

export interface GrantLimits {
  /** Topic selectors in one token, publish and subscribe together. Default 1,000. */
  maxSelectors?: number;
  /** Characters in one selector. Default 2,048. */
  maxSelectorLength?: number;
}

/**
 * The `authorization_details` type read as Mercure grants (draft-08 §6.4, compared byte by byte). Details
 * of any other type, the early drafts' `mercure` included, grant nothing.
 */
export const MERCURE_DETAIL_TYPE = 'https://mercure.rocks/authorization-detail';
export const DEFAULT_DETAIL_TYPES = [MERCURE_DETAIL_TYPE] as const;

const EVERYTHING: CompiledSelector = Object.freeze({ matches: () => true });

/** A claim shape problem, reported as `invalid_token` by the authenticator. */
export class GrantsError extends Error {}

class Compiler {
  private count = 0;
  private readonly maxSelectors: number;
  private readonly maxLength: number;
  constructor(
    private readonly compileSelector: SelectorCompiler,
    limits: GrantLimits,
  ) {
    this.maxSelectors = limits.maxSelectors ?? 1_000;
    this.maxLength = limits.maxSelectorLength ?? 2_048;
  }

  compile(m: TokenMatcher): CompiledSelector {
    this.count += 1;
    if (this.count > this.maxSelectors) {
      throw new GrantsError(`The token carries more than ${this.maxSelectors} topic selectors.`);
    }
    if (m.match.length > this.maxLength) {
      throw new GrantsError(`A topic selector is longer than ${this.maxLength} characters.`);
    }
    if (m.match === '*') return EVERYTHING;
    if (m.syntax === 'exact') {
      const exact = m.match;
      return { matches: (topic) => topic === exact };
    }
    try {
      return this.compileSelector(m.match, m.syntax);
    } catch (cause) {
      throw new GrantsError(`The topic selector ${JSON.stringify(m.match.slice(0, 100))} is invalid.`, {
        cause,
      });
    }
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A matcher type. 1.0 (`strict`): `match_type` only, in its canonical lowercase (draft-08 §6.7: the value
 * is case-sensitive). 0.x tokens, which no draft defines this for, also take `Exact`/`URLPattern`.
 */
function syntaxOf(value: unknown, strict: boolean): MatcherSyntax {
  if (value === undefined || value === 'exact') return 'exact';
  if (value === 'urlpattern') return 'urlpattern';
  if (!strict && value === 'Exact') return 'exact';
  if (!strict && value === 'URLPattern') return 'urlpattern';
  throw new GrantsError(`Unknown topic matcher type ${JSON.stringify(value)} (use "exact" or "urlpattern").`);
}

function matcherObject(entry: Record<string, unknown>, strict: boolean): TokenMatcher {
  const match = entry.match;
  if (typeof match !== 'string' || match === '') {
    throw new GrantsError('A topic matcher object needs a non-empty string "match".');
  }
  if (strict) return { match, syntax: syntaxOf(entry.match_type, true) };
  const snake = entry.match_type;
  const camel = entry.matchType;
  if (snake !== undefined && camel !== undefined && syntaxOf(snake, false) !== syntaxOf(camel, false)) {
    throw new GrantsError('A topic matcher names two different matcher types.');
  }
  return { match, syntax: syntaxOf(snake ?? camel, false) };
}

/** Reads a 0.x selector list: strings, or `{match, matchType}` objects as some 0.x hubs accept. */
function legacyList(value: unknown, name: string, compiler: Compiler): CompiledSelector[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value))
    throw new GrantsError(`The "mercure.${name}" claim must be an array of topic selectors.`);
  return value.map((entry) => {
    if (typeof entry === 'string') return compiler.compile({ match: entry, syntax: undefined });
    if (isObject(entry)) return compiler.compile(matcherObject(entry, false));
    throw new GrantsError(`Every "mercure.${name}" entry must be a string.`);
  });
}

/** Grants of a Mercure 0.x token: its `mercure` claim. */
export function grantsFromMercureClaim(
  payload: Record<string, unknown>,
  compileSelector: SelectorCompiler,
  limits: GrantLimits = {},
): Grants {
  const claim = payload.mercure;
  if (claim === undefined) return NO_GRANTS;
  if (!isObject(claim)) throw new GrantsError('The "mercure" claim must be an object.');
  const compiler = new Compiler(compileSelector, limits);
  return {
    publish: legacyList(claim.publish, 'publish', compiler),
    subscribe: legacyList(claim.subscribe, 'subscribe', compiler),
    payload: claim.payload,
    subscribeDetails: [],
  };
}

/**
 * Grants of a Mercure 1.0 access token: the Mercure entries of `authorization_details`. Entries of other
 * types are ignored (one token may serve several resources); one malformed Mercure entry rejects the
 * whole token, as draft-08 requires (no partial acceptance).
 */
export function grantsFromAuthorizationDetails(
  payload: Record<string, unknown>,
  compileSelector: SelectorCompiler,
  options: GrantLimits & { detailTypes?: readonly string[] } = {},
): Grants {
  const details = payload.authorization_details;
  if (details === undefined) return NO_GRANTS;
  if (!Array.isArray(details)) throw new GrantsError('The "authorization_details" claim must be an array.');
  const types = new Set(options.detailTypes ?? DEFAULT_DETAIL_TYPES);
  const compiler = new Compiler(compileSelector, options);
  const publish: CompiledSelector[] = [];
  const subscribe: CompiledSelector[] = [];
  const subscribeDetails: SubscribeDetail[] = [];
  let anyPublish = false;
  let anySubscribe = false;
  for (const detail of details) {
    if (!isObject(detail) || typeof detail.type !== 'string') {
      throw new GrantsError('Every "authorization_details" entry must be an object with a string "type".');
    }
    if (!types.has(detail.type)) continue;
    const actions = detail.actions;
    if (!Array.isArray(actions) || actions.length === 0) {
      throw new GrantsError('A Mercure authorization detail needs a non-empty "actions" array.');
    }
    let canPublish = false;
    let canSubscribe = false;
    for (const action of actions) {
      // draft-08 §6.4: an action the hub does not know grants nothing and does not invalidate the token;
      // a non-string entry does.
      if (typeof action !== 'string') {
        throw new GrantsError('Every entry of "actions" must be a string.');
      }
      if (action === 'publish') canPublish = true;
      else if (action === 'subscribe') canSubscribe = true;
    }
    if (detail.payload !== undefined && !isObject(detail.payload)) {
      throw new GrantsError('The "payload" of a Mercure authorization detail must be a JSON object.');
    }
    const topics = detail.topics;
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new GrantsError('A Mercure authorization detail needs a non-empty "topics" array.');
    }
    const matchers = topics.map((entry) => {
      if (!isObject(entry)) {
        throw new GrantsError(
          'Topic matchers must be objects {"match": ..., "match_type": ...}, not strings.',
        );
      }
      return matcherObject(entry, true);
    });
    const selectors = matchers.map((m) => compiler.compile(m));
    if (canPublish) {
      anyPublish = true;
      publish.push(...selectors);
    }
    if (canSubscribe) {
      anySubscribe = true;
      subscribe.push(...selectors);
      subscribeDetails.push({ matchers, selectors, payload: detail.payload });
    }
  }
  return {
    publish: anyPublish ? publish : undefined,
    subscribe: anySubscribe ? subscribe : undefined,
    payload: undefined,
    subscribeDetails,
  };
}

function anyMatch(selectors: readonly CompiledSelector[], topic: string): boolean {
  for (const selector of selectors) {
    if (selector.matches(topic)) return true;
  }
  return false;
}

/**
 * May this token publish an update with these topics? Every topic must match one of its publish
 * selectors (0.x: "even if some topics are allowed", the update is refused). No publish claim, an empty
 * list or an update with no topic: no.
 */
export function canPublish(grants: Grants | null | undefined, topics: readonly string[]): boolean {
  const selectors = grants?.publish;
  if (selectors === undefined || selectors.length === 0 || topics.length === 0) return false;
  for (const topic of topics) {
    if (!anyMatch(selectors, topic)) return false;
  }
  return true;
}

/** The part of an update that decides who may receive it. */
export interface UpdateVisibility {
  /** The update's topics: the canonical one first, then alternates (both protocol versions). */
  readonly topics: readonly string[];
  readonly private?: boolean | undefined;
}

/**
 * May this subscriber receive this update? A public update: yes, whoever asks (routing is the topic
 * index's job). A private one: only a subscriber with a token one of whose subscribe selectors matches
 * one of the update's topics. An anonymous subscriber (`null`) never receives a private update.
 */
export function canReceive(grants: Grants | null | undefined, update: UpdateVisibility): boolean {
  if (update.private !== true) return true;
  const selectors = grants?.subscribe;
  if (selectors === undefined || selectors.length === 0) return false;
  for (const topic of update.topics) {
    if (anyMatch(selectors, topic)) return true;
  }
  return false;
}

/**
 * The payload to attach to a subscription (subscription events, subscriptions API). 1.0: the payload of
 * the first subscribe detail one of whose matchers matches the subscription's own matcher string taken as
 * a topic, or is equal to it. 0.x: `mercure.payload`.
 */
export function subscriptionPayload(grants: Grants | null | undefined, subscriptionMatch: string): unknown {
  if (grants === null || grants === undefined) return undefined;
  for (const detail of grants.subscribeDetails) {
    for (let i = 0; i < detail.selectors.length; i++) {
      if (
        detail.matchers[i]?.match === subscriptionMatch ||
        detail.selectors[i]?.matches(subscriptionMatch)
      ) {
        return detail.payload;
      }
    }
  }
  return grants.payload;
}

/** Throws 403 `insufficient_scope` unless `canPublish`. */
export function assertCanPublish(
  grants: Grants | null | undefined,
  topics: readonly string[],
  challenge: { realm?: string | undefined; resourceMetadata?: string | undefined } = {},
): void {
  if (canPublish(grants, topics)) return;
  throw new AuthError(
    'INSUFFICIENT_SCOPE',
    grants?.publish === undefined || grants.publish.length === 0
      ? 'The token grants no right to publish.'
      : 'The token does not allow publishing to every topic of this update.',
    {
      description: 'The access token does not allow publishing to these topics',
      realm: challenge.realm,
      resourceMetadata: challenge.resourceMetadata,
    },
  );
}
