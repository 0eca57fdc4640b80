/**
 * `crier-sse/engines/redis`: the Redis Streams engine, for hub nodes that share one log (see docs/redis.md).
 */
export { RedisStreamsEngine, type RedisStreamsEngineOptions } from './redis-streams-engine.js';
