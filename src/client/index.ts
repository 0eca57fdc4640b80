/**
 * Crier's client, for browsers and Node >= 20: an `EventSource`-compatible class on `fetch`, with headers,
 * backoff, async iteration, replay-gap reports and one connection shared by the tabs of an origin, plus
 * Mercure helpers. No dependencies beyond Crier's protocol core.
 */
export { type BackoffOptions, backoffDelay, parseRetryAfter } from './backoff.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export {
  type ConnectContext,
  CrierEventSource,
  CrierEventSource as EventSource,
  type CrierEventSourceInit,
  DEFAULT_RETRY_STATUSES,
  type Decoder,
  type EventDataMap,
  type ServerEvent,
  type SourceEventMap,
  type Timers,
} from './event-source.js';
export {
  type ClientEventMap,
  GAP_EVENT_TYPE,
  GapEvent,
  REPLAY_HEADER,
  ReconnectEvent,
  SourceErrorEvent,
} from './events.js';
export {
  type DiscoveredHub,
  detectMercureProtocol,
  discoverMercureHub,
  type MercureProtocol,
  type MercureSubscribeInit,
  type MercureSubscription,
  mercureHubsFromResponse,
  mercureUrl,
  parseLinkHeader,
  subscribeMercure,
  type WebLink,
} from './mercure.js';
export { sharingSupported } from './shared.js';
