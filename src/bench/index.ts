/**
 * `crier-sse/bench`: Crier's load generator, usable against any SSE endpoint. `SubscriberPool` holds N
 * subscriptions over worker processes; `publish` is the paced publisher; `fanout`, `idle`,
 * `reconnectStorm` and `subscribe` are the measurements `npm run bench` and `crier bench` are made of.
 */

export { benchCommand, formatResult } from './cli.js';
export { type HistogramSummary, LatencyHistogram, type SparseHistogram } from './histogram.js';
export {
  type ConnectReport,
  MAX_SOCKETS_PER_WORKER,
  type SubscribeOptions,
  type SubscribeReport,
  SubscriberPool,
} from './pool.js';
export { DEFAULT_PUBLISH_BODY, type PublishOptions, type PublishReport, publish } from './publisher.js';
export { childPids, descendantPids, treeRssKiB } from './rss.js';
export { type ScanHandlers, SseScanner } from './scan.js';
export {
  type FanoutOptions,
  type FanoutResult,
  fanout,
  type IdleResult,
  idle,
  type LatencyMs,
  type ReconnectStormResult,
  reconnectStorm,
  subscribe,
} from './scenarios.js';
export { BenchError, type BenchErrorCode, nowMicros, parseTarget } from './target.js';
