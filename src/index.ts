/**
 * Crier: real-time push over Server-Sent Events. The root entry re-exports the protocol core; the server
 * library, hub, engines and client have their own subpath entries (`crier-sse/server`, `crier-sse/client`, ...).
 */
export * from './protocol/index.js';
