/**
 * Verifies a compact JWS/JWT against a list of verification keys and maps every failure to an `AuthError`:
 * `INVALID_TOKEN` for anything wrong with the token, `KEYS_UNAVAILABLE` when the keys could not be loaded.
 * No other kind of error escapes, whatever the input.
 */

import {
  decodeProtectedHeader,
  errors,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import { AuthError } from './errors.js';
import type { VerificationKey } from './keys.js';

/** Longer tokens are refused before any parsing (a header or cookie carrying one would be absurd). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** Three base64url segments separated by dots: the compact serialization, nothing else. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface ClaimChecks {
  /** Accepted `iss` values; when set, `iss` is required and must be one of them. */
  issuer?: string | string[] | undefined;
  /** Accepted `aud` values; when set, `aud` is required and must contain one of them. */
  audience?: string | string[] | undefined;
  /** The required `typ` header (compared as media types: `at+jwt` equals `application/at+jwt`). */
  typ?: string | undefined;
  /** Seconds of leeway for `exp` and `nbf`. */
  clockToleranceSeconds?: number | undefined;
  /** Claims that must be present. */
  requiredClaims?: string[] | undefined;
  /** The current time; tests set it. */
  now?: Date | undefined;
}

export interface VerifiedToken {
  readonly payload: JWTPayload;
  readonly header: JWTHeaderParameters;
  /** The description of the key that verified the token. */
  readonly key: string;
}

export interface InvalidTokenContext {
  realm?: string | undefined;
  resourceMetadata?: string | undefined;
}

function invalid(message: string, description: string, context: InvalidTokenContext, cause?: unknown) {
  return new AuthError('INVALID_TOKEN', message, {
    description,
    realm: context.realm,
    resourceMetadata: context.resourceMetadata,
    cause,
  });
}

/**
 * Translates a failure from jose (or anything else thrown while verifying) into an `AuthError`. The
 * client-facing description says only "expired", "not yet valid" or "invalid"; the message says why.
 */
export function toAuthError(error: unknown, context: InvalidTokenContext): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof errors.JWTExpired) {
    return invalid('The token has expired (exp).', 'The access token expired', context, error);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' && error.reason === 'check_failed') {
      return invalid(
        'The token is not valid yet (nbf).',
        'The access token is not valid yet',
        context,
        error,
      );
    }
    return invalid(
      `The token's "${error.claim}" claim is wrong or missing (${error.reason}).`,
      'The access token is invalid',
      context,
      error,
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return invalid(
      'The token uses an algorithm no configured key accepts.',
      'The access token is invalid',
      context,
      error,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalid('The token signature does not verify.', 'The access token is invalid', context, error);
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return invalid(
      'No key of the key set matches the token (kid/alg).',
      'The access token is invalid',
      context,
      error,
    );
  }
  const reason = error instanceof Error ? error.message : String(error);
  return invalid(`The token is malformed: ${reason}`, 'The access token is malformed', context, error);
}

/**
 * Verifies `token` with the first key that accepts its algorithm (and `kid`, when both name one) and whose
 * signature matches. Keys are chosen by configuration and role, never by the token: the token's header
 * only narrows the candidates, each pinned to its own algorithms.
 */
export async function verifyToken(
  token: string,
  keys: readonly VerificationKey[],
  checks: ClaimChecks,
  context: InvalidTokenContext = {},
): Promise<VerifiedToken> {
  if (typeof token !== 'string' || token.length === 0) {
    throw invalid('The token is empty.', 'The access token is malformed', context);
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    throw invalid(
      `The token is longer than ${MAX_TOKEN_LENGTH} characters.`,
      'The access token is malformed',
      context,
    );
  }
  if (!COMPACT_JWS.test(token)) {
    throw invalid(
      'The token is not a JWS in compact serialization.',
      'The access token is malformed',
      context,
    );
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (error) {
    throw toAuthError(error, context);
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none') {
    throw invalid('Unsigned tokens (alg "none") are refused.', 'The access token is invalid', context);
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const candidates = keys.filter(
    (k) =>
      (k.algorithms as readonly string[]).includes(alg) &&
      (k.kid === undefined || kid === undefined || k.kid === kid),
  );
  if (candidates.length === 0) {
    throw invalid(
      `No configured key accepts algorithm ${JSON.stringify(alg).slice(0, 40)}${kid === undefined ? '' : ' with this kid'}.`,
      'The access token is invalid',
      context,
    );
  }

  const options: JWTVerifyOptions = {
    issuer: checks.issuer,
    audience: checks.audience,
    typ: checks.typ,
    clockTolerance: checks.clockToleranceSeconds ?? 0,
    requiredClaims: checks.requiredClaims,
    currentDate: checks.now,
  };
  let lastError: unknown;
  for (const candidate of candidates) {
    try {
      // The key's own algorithm list is the allowlist: the token cannot widen it.
      const result = await jwtVerify(token, candidate.key as Parameters<typeof jwtVerify>[1], {
        ...options,
        algorithms: [...candidate.algorithms],
      });
      return { payload: result.payload, header: result.protectedHeader, key: candidate.description };
    } catch (error) {
      lastError = error;
      // A signature mismatch (or no matching key in a set) means "not this key": try the next one. Any
      // other failure came after the signature verified (claims) or is about the token itself: stop.
      if (
        error instanceof errors.JWSSignatureVerificationFailed ||
        error instanceof errors.JWKSNoMatchingKey
      ) {
        continue;
      }
      throw toAuthError(error, context);
    }
  }
  throw toAuthError(lastError, context);
}
