/**
 * Crier's own wire vocabulary: the header and event names a Crier server sends beyond plain SSE and
 * Mercure, defined once here and imported by both the server (`src/server`) and the client
 * (`src/client`), so the two cannot drift apart. docs/vocabulary.md lists them with the other names.
 */

/**
 * The response header that tells how replay went on a resumed stream: `ok`, `expired` or `unknown`
 * (absent when the request carried no `Last-Event-ID`). Its presence also tells a client the server is
 * Crier, so that a `crier-replay-unavailable` event can be trusted as a gap notice.
 */
export const REPLAY_HEADER = 'Crier-Replay';

/**
 * The reserved event type a Crier server sends first on a resumed stream whose `Last-Event-ID` cannot be
 * replayed (history expired or the ID is unknown); its data is JSON (see docs/library.md). The client
 * exports the same string as `GAP_EVENT_TYPE`.
 */
export const REPLAY_UNAVAILABLE_EVENT = 'crier-replay-unavailable';
