/**
 * Reconnection delays: exponential backoff with full jitter and a cap, whose base is the event source's
 * reconnection time (the server's `retry:` field sets it, as the WHATWG spec says).
 *
 * With full jitter each delay is drawn uniformly from [0, ceiling), where the ceiling doubles after every
 * failed attempt until it reaches the cap. Thousands of clients dropped at once by a restarting server then
 * spread their reconnects over the whole window instead of arriving together.
 */

export interface BackoffOptions {
  /** The reconnection time in milliseconds: the ceiling of the first attempt. */
  base: number;
  /** The largest ceiling in milliseconds. A `base` above it wins (the server asked for that much). */
  cap: number;
  /** How much the ceiling grows per attempt. 1 keeps every ceiling at `base`. */
  factor: number;
  /** `'full'`: a uniform draw in [0, ceiling). `'none'`: exactly the ceiling (the spec's behaviour). */
  jitter: 'full' | 'none';
}

/**
 * The delay before reconnection attempt `attempt` (1 for the first reconnect after a working connection).
 * `random` returns a number in [0, 1), like `Math.random`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random) {
  const base = Math.max(0, options.base);
  const cap = Math.max(base, options.cap);
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(cap, base * options.factor ** exponent);
  if (options.jitter === 'none') return Math.round(ceiling);
  return Math.floor(random() * ceiling);
}
