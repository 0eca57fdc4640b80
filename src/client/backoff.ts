/**
 * Reconnection delays: never sooner than the event source's reconnection time (the server's `retry:` field
 * sets it, as the WHATWG spec says), growing exponentially after failed attempts, with jitter that only adds.
 *
 * The spec's reestablishing steps are "Wait a delay equal to the reconnection time of the event source" and
 * then "Optionally, wait some more. In particular, if the previous attempt failed, then user agents might
 * introduce an exponential backoff delay". So:
 *
 * - attempt 1 (the first reconnect after a connection that worked) waits exactly the reconnection time. A
 *   server spreads its clients by sending each a different `retry:` (Crier's hub jitters it per connection);
 * - attempt n > 1 (the previous attempt failed) waits a ceiling of base × factor^(n−1), capped; with full
 *   jitter the wait is uniform in [max(base, ceiling / factor), ceiling], so clients that failed together
 *   spread over the window above the previous step, and no draw is ever below the base.
 */

export interface BackoffOptions {
  /** The reconnection time in milliseconds: the shortest wait, and the wait of the first attempt. */
  base: number;
  /** The largest ceiling in milliseconds. A `base` above it wins (the server asked for that much). */
  cap: number;
  /** How much the ceiling grows per failed attempt. 1 keeps every wait at `base`. */
  factor: number;
  /**
   * `'full'`: after a failed attempt, a uniform draw in [max(base, ceiling / factor), ceiling].
   * `'none'`: exactly the ceiling.
   */
  jitter: 'full' | 'none';
}

/**
 * The delay before reconnection attempt `attempt` (1 for the first reconnect after a working connection).
 * `random` returns a number in [0, 1), like `Math.random`. The result is never below `options.base`.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const base = Math.max(0, options.base);
  const cap = Math.max(base, options.cap);
  const factor = Math.max(1, options.factor);
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(cap, base * factor ** exponent);
  if (options.jitter === 'none' || exponent === 0) return Math.round(ceiling);
  const floor = Math.max(base, ceiling / factor);
  return Math.round(floor + random() * (ceiling - floor));
}

/** The longest `Retry-After` honoured when the caller gives no cap: a day. */
const DAY = 86_400_000;

/**
 * The wait a `Retry-After` header asks for, in milliseconds (RFC 9110 section 10.2.3): delay-seconds
 * (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, relative to `now`). Capped at `cap`; a date in
 * the past is 0. Undefined when the header is absent or neither form.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now(), cap = DAY) {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Math.min(cap, Number.parseInt(text, 10) * 1000);
  // An HTTP-date names a weekday and GMT; Date.parse reads IMF-fixdate and the two obsolete forms.
  if (!/[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.min(cap, Math.max(0, date - now));
}
