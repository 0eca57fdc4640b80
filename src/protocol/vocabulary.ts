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

/**
 * The two Mercure protocol versions, by their one internal name: `'0.x'` (the spec's draft-07, what hubs
 * before 1.0 speak) and `'1.0'` (draft-08). Code compares these; the public spellings below are read at
 * the edges and turned into these with `mercureVersion`. docs/vocabulary.md has the table.
 */
export type MercureVersion = '0.x' | '1.0';

/** Every public spelling of each version: the spec draft, the hub's `--protocol`, the client's `protocol`. */
export const MERCURE_VERSION_NAMES = Object.freeze({
  '0.x': Object.freeze({ spec: 'draft-07', config: '07', client: 'draft-07' }),
  '1.0': Object.freeze({ spec: 'draft-08', config: '08', client: 'draft-08' }),
} as const);

/** Any public spelling of a Mercure version (`07`, `draft-07`, `0.x`; `08`, `draft-08`, `1.0`) as its internal name. */
export function mercureVersion(name: '07' | '08' | 'draft-07' | 'draft-08' | MercureVersion): MercureVersion {
  return name === '07' || name === 'draft-07' || name === '0.x' ? '0.x' : '1.0';
}
