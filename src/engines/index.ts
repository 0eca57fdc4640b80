/**
 * Engines: where updates are stored and shared. `Engine` is the seam (its doc comments are the contract);
 * `MemoryEngine` is the default, one-process implementation. Redis and NATS engines live in
 * `crier-sse/engines/redis` and `crier-sse/engines/nats`.
 */

export {
  type ClusterChannel,
  ClusterEngine,
  ClusterEngineHost,
  type ClusterEngineOptions,
} from './cluster/index.js';
export type {
  Engine,
  EngineFollower,
  EngineHealth,
  HistoryRead,
  ReadOptions,
  StoredUpdate,
  StreamPosition,
  Update,
} from './engine.js';
export { EngineError, type EngineErrorCode } from './errors.js';
export { MemoryEngine, type MemoryEngineOptions } from './memory/index.js';
