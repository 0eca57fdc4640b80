/**
 * Active subscriptions: the registry behind subscription events (an update on
 * `/.well-known/mercure/subscriptions/...` when a subscription starts or ends) and the subscriptions API.
 * Documents follow the subscriber's protocol version: draft-07 `{topic}/{subscriber}` with a `topic`
 * property, draft-08 `{match_type}/{match}/{subscriber}` with `match_type` and `match`.
 */
import type { ProtocolVersion } from './auth/index.js';
import type { MatchType } from './subscribe.js';

export interface ActiveSubscription {
  readonly matchType: MatchType;
  readonly match: string;
  readonly subscriber: string;
  readonly payload: unknown;
  active: boolean;
}

/** The 1.0 matcher type name of a subscription (0.x selectors are shown as `exact` when asked in 1.0 form). */
const typeName = (s: ActiveSubscription) => (s.matchType === 'template' ? 'exact' : s.matchType);

/**
 * RFC 6570 simple-string expansion of one value: every character but the unreserved set (ALPHA, DIGIT,
 * `-`, `.`, `_`, `~`) percent-encoded once, `%` included (draft-08 §8.1). `encodeURIComponent` leaves
 * `!'()*` as they are, so they are encoded here.
 */
export function expandSimple(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The topic (and document `id`) of a subscription, relative to the hub. */
export function subscriptionTopic(base: string, s: ActiveSubscription, protocol: ProtocolVersion): string {
  if (protocol === '0.x') {
    const e = encodeURIComponent;
    return `${base}/subscriptions/${e(s.match)}/${e(s.subscriber)}`;
  }
  return `${base}/subscriptions/${typeName(s)}/${expandSimple(s.match)}/${expandSimple(s.subscriber)}`;
}

/**
 * The document of one subscription. 0.x: JSON-LD (`@context` unless `withContext` is false, inside a
 * collection), `type: "Subscription"`, `topic`. 1.0 (draft-08 §8.1): plain JSON, `type: "subscription"`,
 * `match_type` and `match`.
 */
export function subscriptionDocument(
  base: string,
  s: ActiveSubscription,
  protocol: ProtocolVersion,
  withContext = true,
): Record<string, unknown> {
  const v1 = protocol === '1.0';
  const doc: Record<string, unknown> = withContext && !v1 ? { '@context': 'https://mercure.rocks/' } : {};
  doc.id = subscriptionTopic(base, s, protocol);
  doc.type = v1 ? 'subscription' : 'Subscription';
  if (!v1) doc.topic = s.match;
  else {
    doc.match_type = typeName(s);
    doc.match = s.match;
  }
  doc.subscriber = s.subscriber;
  doc.active = s.active;
  if (s.payload !== undefined) doc.payload = s.payload;
  return doc;
}

export class SubscriptionRegistry {
  private readonly all = new Set<ActiveSubscription>();

  add(s: ActiveSubscription): void {
    this.all.add(s);
  }

  remove(s: ActiveSubscription): void {
    this.all.delete(s);
  }

  get size(): number {
    return this.all.size;
  }

  /** Subscriptions filtered by matcher (and type, in 1.0 form) and subscriber. */
  find(filter: { match?: string; matchType?: string; subscriber?: string }): ActiveSubscription[] {
    const out: ActiveSubscription[] = [];
    for (const s of this.all) {
      if (filter.match !== undefined && s.match !== filter.match) continue;
      if (filter.matchType !== undefined && typeName(s) !== filter.matchType) continue;
      if (filter.subscriber !== undefined && s.subscriber !== filter.subscriber) continue;
      out.push(s);
    }
    return out;
  }
}
