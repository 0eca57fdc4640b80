/**
 * Crier's server library: a `Hub` that fans updates out to SSE connections over node:http, node:http2 and
 * the Fetch API, with topics, history and replay, heartbeats, backpressure, batching and conflation.
 * Where a publish enters: `Hub.publish` → engine → `Hub.fanOut`. Where bytes leave: `SseConnection.send`.
 */
export { type CloseReason, SseConnection } from './connection.js';
export { ServerError, type ServerErrorCode } from './errors.js';
export { FetchConnection, handleFetchRequest } from './fetch.js';
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
export { handleNodeRequest, NodeHttpConnection, SSE_HEADERS } from './node-http.js';
export { Http2Connection, handleHttp2Stream } from './node-http2.js';
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
