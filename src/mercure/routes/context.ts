/**
 * What the hub's routes share, provided by the server (src/mercure/server.ts) that wires them: routes read it
 * and never import the server, so the layers point one way (server → routes → the hub's modules).
 */
import type { Logger } from 'pino';
import type { Hub } from '../../server/index.js';
import type { Authenticator } from '../auth/index.js';
import type { ClientAddress } from '../client-address.js';
import type { HubConfig } from '../config.js';
import type { HubMetrics } from '../metrics.js';
import type { ActiveSubscription, SubscriptionRegistry } from '../subscriptions.js';
import type { TrackedEngine } from '../tracked-engine.js';

export interface RouteContext {
  readonly config: HubConfig;
  /** The server library's hub: connections, fan-out, history. */
  readonly hub: Hub;
  readonly engine: TrackedEngine;
  /** The authenticator; rebuilt once listening (the 1.0 token audience names the real port then). */
  readonly auth: Authenticator;
  /** The hub's URL (`…/.well-known/mercure`), with the real port once listening. */
  readonly hubUrl: URL;
  readonly log: Logger;
  readonly metrics: HubMetrics;
  /** Active subscriptions, for subscription events and the subscriptions API. */
  readonly subscriptions: SubscriptionRegistry;
  /** The subscriptions API's view: this registry, or every worker's under `--workers N`. */
  findSubscriptions(filter: {
    match?: string;
    matchType?: string;
    subscriber?: string;
  }): Promise<ActiveSubscription[]>;
  /** `--publish-rate`: this process's token buckets, or the primary's under `--workers N`; null: no limit. */
  readonly publishLimiter: PublishLimiter | null;
  /** Who a request is from, for per-address limits (X-Forwarded-For from trusted proxies only). */
  readonly clientAddress: ClientAddress;
  /** True once shutdown began. */
  readonly closing: boolean;
}

/** Counts a publish against `--publish-rate`: 0 allows it, else the seconds to wait. */
export interface PublishLimiter {
  take(key: string): number | Promise<number>;
}
