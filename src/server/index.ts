/**
 * Crier's server library: a `Hub` that fans updates out to SSE connections over node:http, node:http2 and
 * the Fetch API, with topics, history and replay, heartbeats, backpressure, batching and conflation.
 * Where a publish enters: `Hub.publish` → engine → `Hub.fanOut`. Where bytes leave: `Outbox.send` →
 * the connection's transport (`adapters/`).
 */
export {
  /** @deprecated The Fetch adapter is `FetchTransport`; a hub creates its connections itself. */
  FetchTransport as FetchConnection,
  FetchTransport,
  handleFetchRequest,
} from './adapters/fetch.js';
/** @deprecated The node:http adapter is `NodeHttpTransport`; a hub creates its connections itself. */
export {
  handleNodeRequest,
  NodeHttpTransport,
  NodeHttpTransport as NodeHttpConnection,
  SSE_HEADERS,
} from './adapters/node-http.js';
/** @deprecated The node:http2 adapter is `Http2Transport`; a hub creates its connections itself. */
export {
  Http2Transport,
  Http2Transport as Http2Connection,
  handleHttp2Stream,
} from './adapters/node-http2.js';
export type { SubscriberHost, Transport } from './adapters/transport.js';
export { type Coding, codingHeaders, joinVary, negotiateEncoding } from './compression.js';
export { type CloseReason, SseConnection } from './connection.js';
export { ServerError, type ServerErrorCode } from './errors.js';
export {
  type CloseOptions,
  type ConnectionInfo,
  type ConnectionMeta,
  type ConnectionRequest,
  EARLIEST,
  Hub,
  type HubEvents,
  type HubStats,
  type PublishOptions,
  REPLAY_HEADER,
  REPLAY_UNAVAILABLE_EVENT,
} from './hub.js';
export { HUB_DEFAULTS, type HubLogger, type HubOptions } from './options.js';
export { PreparedEvent } from './prepared.js';
export type { SubscribeOptions, Subscription } from './request.js';
export {
  EventStream,
  type EventStreamEnd,
  type EventStreamOptions,
  eventStreamResponse,
  openEventStream,
} from './stream.js';
