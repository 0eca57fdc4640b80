/**
 * CSRF protection for publishes authenticated by cookie. A browser attaches the cookie to a cross-site
 * form POST on its own, so a cookie alone does not prove the publisher meant to publish. The drafts ask
 * hubs to check the `Origin` (or, failing it, the `Referer`) against the allowed publish origins and to
 * refuse a request that carries neither. Requests authenticated by header or query parameter need no such
 * check: a foreign page cannot set them.
 */

import { AuthError } from './errors.js';
import { type HeaderInput, headerValue } from './extract.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `scheme://host[:port]` normalised (lowercase, default port dropped), or `undefined` if not a URL. */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** The request's origin from `Origin`, else from `Referer`; `undefined` when neither gives one. */
export function requestOrigin(headers: HeaderInput): string | undefined {
  const origin = headerValue(headers, 'origin');
  if (origin !== undefined && origin !== 'null') {
    const normalized = normalizeOrigin(origin);
    if (normalized !== undefined) return normalized;
  }
  const referer = headerValue(headers, 'referer');
  return referer === undefined ? undefined : normalizeOrigin(referer);
}

/**
 * Throws 403 (`ORIGIN_REQUIRED` or `ORIGIN_NOT_ALLOWED`) unless a state-changing request comes from one
 * of `allowedOrigins` (`*` allows any). Safe methods always pass.
 */
export function assertPublishOrigin(
  request: { readonly method: string; readonly headers: HeaderInput },
  allowedOrigins: readonly string[],
): void {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return;
  const origin = requestOrigin(request.headers);
  if (origin === undefined) {
    throw new AuthError(
      'ORIGIN_REQUIRED',
      'A publish authenticated by cookie needs an Origin or Referer header (CSRF protection).',
    );
  }
  if (allowedOrigins.includes('*')) return;
  for (const allowed of allowedOrigins) {
    if (normalizeOrigin(allowed) === origin) return;
  }
  throw new AuthError(
    'ORIGIN_NOT_ALLOWED',
    `The origin ${origin} is not an allowed publish origin; add it to the hub's publish origins.`,
  );
}
