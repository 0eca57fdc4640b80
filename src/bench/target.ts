/**
 * Where the load generator connects: an `http://` URL split into what a raw socket needs.
 * `%I` in a URL or body is a template slot filled per subscriber (its index modulo the topic count) or per
 * publish (a counter modulo the topic count), so one URL can spread subscribers over many topics.
 */

import { CrierError } from '../protocol/errors.js';

export type BenchErrorCode = 'BAD_URL' | 'BAD_OPTION' | 'WORKER_FAILED' | 'NO_EVENT_IDS';

/** An error in how the load generator was asked to run. */
export class BenchError extends CrierError<BenchErrorCode> {
  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'BenchError';
  }
}

export interface Target {
  host: string;
  port: number;
  /** Path and query, possibly with `%I` slots. */
  path: string;
  /** The `Host` header value. */
  hostHeader: string;
}

export function parseTarget(url: string): Target {
  let u: URL;
  try {
    u = new URL(url.replaceAll('%I', '__CRIER_I__'));
  } catch (cause) {
    throw new BenchError('BAD_URL', `Not a URL: ${JSON.stringify(url)}. Give a full http:// URL.`, { cause });
  }
  if (u.protocol !== 'http:') {
    throw new BenchError(
      'BAD_URL',
      `Only http:// URLs are supported by the load generator, got ${u.protocol}//.`,
    );
  }
  const host = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: u.port === '' ? 80 : Number(u.port),
    path: (u.pathname + u.search).replaceAll('__CRIER_I__', '%I'),
    hostHeader: u.host,
  };
}

/** Replaces `%I` with `index`. */
export function fillIndex(template: string, index: number): string {
  return template.includes('%I') ? template.replaceAll('%I', String(index)) : template;
}

/** Microseconds since the epoch, with sub-millisecond resolution (the unit of `"t":` in event data). */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Parses `Name: value` header strings into `[name, value]` pairs. */
export function parseHeaders(headers: readonly string[]): Array<[string, string]> {
  return headers.map((h) => {
    const colon = h.indexOf(':');
    if (colon <= 0 || /[\r\n]/.test(h)) {
      throw new BenchError(
        'BAD_OPTION',
        `A header must read "Name: value" on one line, got ${JSON.stringify(h)}.`,
      );
    }
    return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()];
  });
}

export function isLoopback(host: string): boolean {
  return host.startsWith('127.');
}
