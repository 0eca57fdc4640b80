/**
 * `crier-sse/engines/nats`: the NATS JetStream engine, for hub nodes that share one log (see docs/nats.md).
 */
export { NatsJetStreamEngine, type NatsJetStreamEngineOptions } from './nats-jetstream-engine.js';
