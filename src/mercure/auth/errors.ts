/**
 * Authorization failures as values. Each carries the HTTP status the hub must answer with and, for the
 * RFC 6750 ones, the exact `WWW-Authenticate` header value, so the HTTP layer maps an error to a response
 * without knowing anything about tokens.
 */

import { CrierError } from '../../protocol/errors.js';

export type AuthErrorCode =
  /** No token was presented on a request that needs one (RFC 6750 §3.1: no error code, just a challenge). */
  | 'TOKEN_MISSING'
  /** A token was presented but is malformed, badly signed, expired, not yet valid or has bad claims. */
  | 'INVALID_TOKEN'
  /** The token is valid but does not grant the requested operation. */
  | 'INSUFFICIENT_SCOPE'
  /** The request itself is malformed: two tokens in one method, a token where the protocol forbids one. */
  | 'INVALID_REQUEST'
  /** A publish authenticated by cookie came without an `Origin` or `Referer` header (CSRF protection). */
  | 'ORIGIN_REQUIRED'
  /** A publish authenticated by cookie came from an origin that is not an allowed publish origin. */
  | 'ORIGIN_NOT_ALLOWED'
  /** The keys needed to verify the token could not be loaded (JWKS endpoint or file unreachable). */
  | 'KEYS_UNAVAILABLE';

/** The RFC 6750 §3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export interface AuthErrorOptions {
  cause?: unknown;
  /** The realm to name in the challenge. */
  realm?: string;
  /** RFC 9728 `resource_metadata` URL to add to the challenge (draft-08). */
  resourceMetadata?: string;
  /** The client-facing description; defaults to the message. It never names the reason a signature failed. */
  description?: string;
}

const STATUS: Record<AuthErrorCode, number> = {
  TOKEN_MISSING: 401,
  INVALID_TOKEN: 401,
  INSUFFICIENT_SCOPE: 403,
  INVALID_REQUEST: 400,
  ORIGIN_REQUIRED: 403,
  ORIGIN_NOT_ALLOWED: 403,
  KEYS_UNAVAILABLE: 503,
};

const BEARER_ERROR: Partial<Record<AuthErrorCode, BearerErrorCode>> = {
  INVALID_TOKEN: 'invalid_token',
  INSUFFICIENT_SCOPE: 'insufficient_scope',
  INVALID_REQUEST: 'invalid_request',
};

/** An authentication or authorization failure, with its HTTP status and challenge. */
export class AuthError extends CrierError<AuthErrorCode> {
  /** The HTTP status to answer with. */
  readonly status: number;
  /** The RFC 6750 error code, when there is one. */
  readonly bearerError: BearerErrorCode | undefined;
  /**
   * The exact `WWW-Authenticate` header value to send with a 401 or 403 (RFC 6750 §3), or `undefined`
   * when the response must not carry one (CSRF refusals, 503).
   */
  readonly wwwAuthenticate: string | undefined;
  /** The description sent to the client; `message` may hold more detail, for logs. */
  readonly description: string;

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.status = STATUS[code];
    this.bearerError = BEARER_ERROR[code];
    this.description = options.description ?? message;
    this.wwwAuthenticate =
      code === 'TOKEN_MISSING' || this.bearerError !== undefined
        ? bearerChallenge({
            realm: options.realm,
            resourceMetadata: options.resourceMetadata,
            error: this.bearerError,
            description: this.bearerError === undefined ? undefined : this.description,
          })
        : undefined;
  }
}

/** An invalid authentication configuration: thrown when the hub starts, never per request. */
export class AuthConfigError extends CrierError<'INVALID_AUTH_CONFIG'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_AUTH_CONFIG', message, options);
    this.name = 'AuthConfigError';
  }
}

/**
 * Keeps only the characters RFC 6750 §3 allows in a quoted `error_description` (%x20-21 / %x23-5B /
 * %x5D-7E): no quote, no backslash, no control or non-ASCII character, so the header can never be broken.
 */
export function sanitizeDescription(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '').slice(0, 200);
}

/** Keeps a realm or URL inside its quotes: drops quotes, backslashes and control characters. */
function quoteSafe(text: string): string {
  return text.replace(/["\\\x00-\x1f\x7f]/g, '');
}

/**
 * Builds a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1). Parameters come in a fixed
 * order: realm, resource_metadata, error, error_description.
 */
export function bearerChallenge(params: {
  realm?: string | undefined;
  resourceMetadata?: string | undefined;
  error?: BearerErrorCode | undefined;
  description?: string | undefined;
}): string {
  const parts: string[] = [];
  if (params.realm !== undefined) parts.push(`realm="${quoteSafe(params.realm)}"`);
  if (params.resourceMetadata !== undefined) {
    parts.push(`resource_metadata="${quoteSafe(params.resourceMetadata)}"`);
  }
  if (params.error !== undefined) {
    parts.push(`error="${params.error}"`);
    if (params.description !== undefined && params.description !== '') {
      parts.push(`error_description="${sanitizeDescription(params.description)}"`);
    }
  }
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`;
}
