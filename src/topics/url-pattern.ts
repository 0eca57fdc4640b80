/**
 * WHATWG URL Pattern selectors (Mercure 1.0's `match_urlpattern`), through `urlpattern-polyfill`
 * because Node 20 has no global `URLPattern`.
 *
 * The polyfill matches with JavaScript regular expressions, which backtrack, so two guards keep a
 * match bounded: patterns with custom regular-expression groups (`:id(\\d+)`) are refused, and so are
 * patterns with more than `MAX_URL_PATTERN_WILDCARDS` wildcards and named groups; topics longer than
 * `MAX_URL_PATTERN_TOPIC_LENGTH` never match a URL pattern. A topic that is not an absolute URL never
 * matches either (there is no base URL).
 */

import { URLPattern } from 'urlpattern-polyfill/urlpattern';
import { TopicError } from './errors.js';

/** The most `*` wildcards plus `:name` groups one URL pattern may have. */
export const MAX_URL_PATTERN_WILDCARDS = 8;
/** Topics longer than this never match a URL pattern selector. */
export const MAX_URL_PATTERN_TOPIC_LENGTH = 2048;

const COMPONENTS = [
  'protocol',
  'username',
  'password',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
] as const;

function invalid(pattern: string, message: string, cause?: unknown): TopicError {
  return new TopicError('INVALID_SELECTOR', `Invalid URL pattern ${JSON.stringify(pattern)}: ${message}`, {
    cause,
  });
}

/** Counts `*` wildcards and `:name` groups in a component pattern string (escapes skipped). */
function countVariableParts(component: string): number {
  let n = 0;
  for (let i = 0; i < component.length; i++) {
    const c = component[i];
    if (c === '\\') i++;
    else if (c === '*' || c === ':') n++;
  }
  return n;
}

/** Compiles a URL pattern; returns a test function that never throws. */
export function compileUrlPattern(pattern: string): (topic: string) => boolean {
  let compiled: URLPattern;
  try {
    compiled = new URLPattern(pattern);
  } catch (error) {
    const reason =
      error instanceof Error ? error.message.replace(/^Failed to construct 'URLPattern': /, '') : '';
    throw invalid(
      pattern,
      `${reason || 'not a URL pattern'} (it must be absolute, like https://example.com/books/:id)`,
      error,
    );
  }
  // Declared by the standard and implemented by the polyfill, missing from its typings.
  if ((compiled as URLPattern & { hasRegExpGroups?: boolean }).hasRegExpGroups) {
    throw invalid(
      pattern,
      'regular-expression groups like :id(\\d+) are not allowed, they can take unbounded time',
    );
  }
  let parts = 0;
  for (const component of COMPONENTS) {
    const text = compiled[component];
    if (text !== '*') parts += countVariableParts(text);
  }
  if (parts > MAX_URL_PATTERN_WILDCARDS) {
    throw invalid(
      pattern,
      `it has ${parts} wildcards and named groups, more than the ${MAX_URL_PATTERN_WILDCARDS} allowed`,
    );
  }
  return (topic: string) => {
    if (topic.length > MAX_URL_PATTERN_TOPIC_LENGTH) return false;
    try {
      return compiled.test(topic);
    } catch {
      return false;
    }
  };
}
