/**
 * The hub's options: one schema with types, defaults and validation. docs/library.md lists the same table.
 */
import type { Engine } from '../engines/engine.js';
import { CODINGS, type Coding } from './compression.js';

export interface HubLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface HubOptions {
  /** Where updates are stored and shared. Default: a new `MemoryEngine` (closed with the hub). */
  engine?: Engine;
  /** A heartbeat comment is sent to a connection that wrote nothing for this long (ms). 0 disables. Default 15,000. */
  heartbeatMs?: number;
  /** The `retry:` sent at connect time (ms), before jitter. Default 3,000. */
  retryMs?: number;
  /** `retry:` is drawn uniformly from [retryMs, retryMs × (1 + retryJitter)]. Default 0.5. */
  retryJitter?: number;
  /** Connections are closed (with a jittered `retry:`) after this long (ms). 0 disables. Default 1,800,000 (30 min). */
  maxLifetimeMs?: number;
  /** Each connection's deadline is drawn from [maxLifetimeMs × (1 − lifetimeJitter), maxLifetimeMs]. Default 0.2. */
  lifetimeJitter?: number;
  /** Bytes that may wait for one connection (in the socket and in Crier's queue) before it is dropped as slow. Default 256 KiB. */
  maxBufferedBytes?: number;
  /** A connection whose outgoing buffer has not shrunk for this long (ms) is closed as half-open. Default 45,000. */
  stallTimeoutMs?: number;
  /** Most topic selectors one subscription may have. Default 1,000. */
  maxSelectors?: number;
  /**
   * Most estimated memory (bytes) of one subscription's compiled selectors (`selectorCost` of
   * `crier-sse/topics`: an exact topic about 0.7 KB, a URI template 5 to 20 KB). Default 1 MiB.
   */
  maxSelectorCost?: number;
  /** Longest `Last-Event-ID` accepted (header or query), in characters. Default 1,024. */
  maxLastEventIdLength?: number;
  /** Longest query string accepted, in characters. Default 65,536. */
  maxQueryLength?: number;
  /**
   * The most time (ms) the end-of-turn flush writes before it yields to I/O; the rest is written next turn,
   * joined with whatever arrived meanwhile (one write per connection). Also bounds how long one fan-out
   * writes through before it starts queueing. Default 10.
   */
  flushSliceMs?: number;
  /** Where slow and half-open disconnects are reported. Default `console`; `null` for silence. */
  logger?: HubLogger | null;
  /**
   * Compressed streams (`Content-Encoding`, negotiated from `Accept-Encoding`): `true` for gzip and
   * deflate, or the codings to offer in order of preference. Each write is compressed once and its bytes
   * shared by every subscriber that gets it (docs/library.md, § Compression). Default `false`.
   */
  compression?: boolean | readonly Coding[];
}

export interface ResolvedHubOptions extends Required<Omit<HubOptions, 'engine' | 'logger' | 'compression'>> {
  logger: HubLogger | null;
  /** The codings offered, in order of preference; empty: none (streams are never compressed). */
  compression: readonly Coding[];
}

export const HUB_DEFAULTS: Readonly<Omit<ResolvedHubOptions, 'logger' | 'compression'>> = Object.freeze({
  heartbeatMs: 15_000,
  retryMs: 3_000,
  retryJitter: 0.5,
  maxLifetimeMs: 30 * 60_000,
  lifetimeJitter: 0.2,
  maxBufferedBytes: 256 * 1024,
  stallTimeoutMs: 45_000,
  maxSelectors: 1_000,
  maxSelectorCost: 1024 * 1024,
  maxLastEventIdLength: 1_024,
  maxQueryLength: 65_536,
  flushSliceMs: 10,
});

export function resolveHubOptions(options: HubOptions): ResolvedHubOptions {
  const out = {
    ...HUB_DEFAULTS,
    logger: options.logger === undefined ? console : options.logger,
    compression: resolveCompression(options.compression),
  };
  for (const key of Object.keys(HUB_DEFAULTS) as (keyof typeof HUB_DEFAULTS)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`Hub option ${key} must be a finite number ≥ 0, got ${String(value)}.`);
    }
    if ((key === 'retryJitter' || key === 'lifetimeJitter') && value > 1) {
      throw new RangeError(`Hub option ${key} must be between 0 and 1, got ${value}.`);
    }
    if ((key === 'maxSelectors' || key === 'maxBufferedBytes' || key === 'maxSelectorCost') && value < 1) {
      throw new RangeError(`Hub option ${key} must be at least 1, got ${value}.`);
    }
    out[key] = value;
  }
  return out;
}

function resolveCompression(value: HubOptions['compression']): readonly Coding[] {
  if (value === undefined || value === false) return [];
  if (value === true) return CODINGS;
  if (!Array.isArray(value) || value.some((c) => !CODINGS.includes(c as Coding))) {
    throw new RangeError(
      `Hub option compression must be a boolean or a list of ${CODINGS.join(', ')}, got ${String(value)}.`,
    );
  }
  return Object.freeze([...new Set(value as readonly Coding[])]);
}
