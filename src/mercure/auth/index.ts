/**
 * The hub's authorization layer: JWT verification with pinned keys, token extraction per Mercure protocol
 * version, grants and the pure authorization decisions, CSRF checks and RFC 6750 / RFC 9728 outputs.
 * Framework-free: plain values in, typed results or `AuthError`s out.
 */

export {
  type AccessTokenConfig,
  type AuthConfig,
  type AuthContext,
  type Authenticator,
  type AuthKeysConfig,
  createAuthenticator,
  type LegacyTokenConfig,
  msUntilExpiry,
  type Role,
} from './authenticator.js';
export { assertPublishOrigin, normalizeOrigin, requestOrigin } from './csrf.js';
export {
  AuthConfigError,
  AuthError,
  type AuthErrorCode,
  type BearerErrorCode,
  bearerChallenge,
  sanitizeDescription,
} from './errors.js';
export {
  type AuthRequest,
  cookieValues,
  DEFAULT_COOKIE_NAMES,
  extractToken,
  type HeaderInput,
  headerValue,
  type PresentedToken,
  type ProtocolVersion,
  type TokenSource,
} from './extract.js';
export {
  assertCanPublish,
  type CompiledSelector,
  canPublish,
  canReceive,
  DEFAULT_DETAIL_TYPES,
  type GrantLimits,
  type Grants,
  GrantsError,
  grantsFromAuthorizationDetails,
  grantsFromMercureClaim,
  type MatcherSyntax,
  MERCURE_DETAIL_TYPE,
  NO_GRANTS,
  type SelectorCompiler,
  subscriptionPayload,
  type TokenMatcher,
  type UpdateVisibility,
} from './grants.js';
export {
  ASYMMETRIC_ALGORITHMS,
  type AsymmetricAlgorithm,
  createVerificationKey,
  HMAC_ALGORITHMS,
  type HmacAlgorithm,
  type KeySource,
  keySourceFromString,
  type SignatureAlgorithm,
  type VerificationKey,
} from './keys.js';
export {
  type ProtectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
} from './metadata.js';
export { type ClaimChecks, MAX_TOKEN_LENGTH, type VerifiedToken, verifyToken } from './verify.js';
