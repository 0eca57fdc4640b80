/**
 * The hub's authentication and authorization entry point. `createAuthenticator(config)` validates the
 * configuration once (bad keys fail at startup, not per request); its methods take a plain request
 * (method, URL, headers) and return an `AuthContext` or throw an `AuthError` that carries the HTTP status
 * and the `WWW-Authenticate` value.
 *
 *   const auth = createAuthenticator({ keys: { shared: { secret } } });
 *   const publisher = await auth.authenticatePublisher(req, '0.x');   // 401/400/403 as AuthError
 *   auth.authorizePublish(publisher, update.topics);                  // 403 insufficient_scope
 *   const subscriber = await auth.authenticateSubscriber(req, '0.x'); // null when anonymous
 *   if (canReceive(subscriber?.grants, update)) deliver();            // per private update
 *   // close the subscriber's stream at subscriber.expiresAt
 */

import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { compileSelector as topicsCompileSelector } from '../../topics/index.js';
import { assertPublishOrigin } from './csrf.js';
import { AuthConfigError, AuthError } from './errors.js';
import {
  type AuthRequest,
  DEFAULT_COOKIE_NAMES,
  extractToken,
  type ProtocolVersion,
  type TokenSource,
} from './extract.js';
import {
  assertCanPublish,
  DEFAULT_DETAIL_TYPES,
  type GrantLimits,
  type Grants,
  GrantsError,
  grantsFromAuthorizationDetails,
  grantsFromMercureClaim,
  type SelectorCompiler,
} from './grants.js';
import { createVerificationKey, type KeySource, type VerificationKey } from './keys.js';
import {
  type ProtectedResourceMetadata,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
} from './metadata.js';
import { type ClaimChecks, verifyToken } from './verify.js';

export type Role = 'publisher' | 'subscriber';

type OneOrMany<T> = T | readonly T[];

export interface AuthKeysConfig {
  /** Keys for publishers' tokens (Mercure `publisher_jwt_key`); fall back to `shared`. */
  publisher?: OneOrMany<KeySource>;
  /** Keys for subscribers' tokens (Mercure `subscriber_jwt_key`); fall back to `shared`. */
  subscriber?: OneOrMany<KeySource>;
  /** Keys for both roles when a role has none of its own (Mercure `jwt_key`). */
  shared?: OneOrMany<KeySource>;
}

/** Mercure 0.x tokens: `mercure` claim, any `typ`, header / query parameter / cookie. */
export interface LegacyTokenConfig {
  /** Accepted `iss` values; when set, `iss` is required. */
  issuer?: string | string[];
  /** Accepted `aud` values; when set, `aud` is required. */
  audience?: string | string[];
  /** Default `mercureAuthorization`. */
  cookieName?: string;
  /** Accept the `authorization` query parameter (default true). */
  allowQueryParameter?: boolean;
}

/** Mercure 1.0 access tokens (RFC 9068): `typ: at+jwt`, `aud`, `exp`, `authorization_details`. */
export interface AccessTokenConfig {
  /** The hub's resource identifier (usually its URL): the default audience and the metadata `resource`. */
  resource: string;
  /** Accepted `aud` values; default `[resource]`. A token's `aud` must contain one. */
  audience?: string | string[];
  /** Accepted `iss` values (self-issued tokens' issuer, or the authorization servers). When set, required. */
  issuers?: string[];
  /** Authorization servers to advertise in the metadata; their issuers are accepted too. */
  authorizationServers?: string[];
  /** Also require RFC 9068's `sub`, `client_id`, `iat` and `jti` (default false: `exp` and `aud` only). */
  strictClaims?: boolean;
  /** Default `__Secure-mercure_access_token` (needs HTTPS; use a name without the prefix over plain HTTP). */
  cookieName?: string;
  /** `authorization_details` types read as Mercure grants. Default the mercure.rocks URI only (draft-08 §6.4). */
  detailTypes?: readonly string[];
  /** Where the RFC 9728 metadata is served; default derived from `resource` (RFC 9728 §3.1). */
  resourceMetadataUrl?: string;
  resourceName?: string;
  resourceDocumentation?: string;
  /** Advertise `mercure_subscriptions: true` in the metadata (the hub serves active subscriptions). */
  subscriptions?: boolean;
}

export interface AuthConfig {
  keys: AuthKeysConfig;
  /** Compiles selectors other than `*` and exact topics; default src/topics' `compileSelector`. */
  compileSelector?: SelectorCompiler;
  /** The realm named in challenges. Default `Crier`. */
  realm?: string;
  /** Subscribers without a token receive public updates (default false: they get 401). */
  allowAnonymousSubscribers?: boolean;
  /** Origins allowed to publish with cookie authentication (`*` for any). Default none. */
  publishOrigins?: readonly string[];
  /** Leeway in seconds for `exp` and `nbf`. Default 0. */
  clockToleranceSeconds?: number;
  /** Tokens in several places: follow the drafts' precedence (default) or answer 400. */
  multipleTokenSources?: 'precedence' | 'reject';
  /** Mercure 0.x tokens; enabled by default, `false` to refuse them. */
  legacy?: LegacyTokenConfig | false;
  /** Mercure 1.0 access tokens; enabled when given. */
  accessTokens?: AccessTokenConfig;
  /** Bounds on the selectors a token may carry. */
  limits?: GrantLimits;
  /**
   * Verified tokens kept by their exact text, so a reconnecting client is not verified again: at most
   * `maxEntries` (10,000), each for at most `ttlMs` (60 s) and never past its `exp`. `false` disables it.
   */
  cache?: { maxEntries?: number; ttlMs?: number } | false;
  /** The clock; tests set it. */
  now?: () => Date;
}

/** Who made a request and what their token allows. */
export interface AuthContext {
  readonly protocol: ProtocolVersion;
  readonly role: Role;
  /** Where the token came from. */
  readonly source: TokenSource;
  readonly claims: JWTPayload;
  readonly header: JWTHeaderParameters;
  /** `sub`, when the token has one (draft-08 derives subscriber identifiers from it). */
  readonly subject: string | undefined;
  /** When the token expires, in ms since the epoch; the hub closes a subscriber's stream then. */
  readonly expiresAt: number | undefined;
  readonly grants: Grants;
}

export interface Authenticator {
  /** The token's context, or `null` when the request presents none. Throws `AuthError` when bad. */
  authenticate(request: AuthRequest, role: Role, protocol: ProtocolVersion): Promise<AuthContext | null>;
  /** A publisher must present a valid token: 401 without one. Cookie auth passes the CSRF check. */
  authenticatePublisher(request: AuthRequest, protocol: ProtocolVersion): Promise<AuthContext>;
  /** `null` for an anonymous subscriber when allowed; 401 when anonymous subscribers are not. */
  authenticateSubscriber(request: AuthRequest, protocol: ProtocolVersion): Promise<AuthContext | null>;
  /** Throws 403 `insufficient_scope` unless the publisher may publish to every topic. */
  authorizePublish(context: AuthContext | null, topics: readonly string[]): void;
  /** The 401 error for a request that needs a token and has none. */
  missingToken(protocol: ProtocolVersion): AuthError;
  /** The RFC 9728 document (1.0 only; `undefined` when access tokens are not configured). */
  protectedResourceMetadata(): ProtectedResourceMetadata | undefined;
  /** The URL the metadata is served at, for the hub's router. */
  readonly protectedResourceMetadataUrl: string | undefined;
  readonly allowAnonymousSubscribers: boolean;
}

function list<T>(value: OneOrMany<T> | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

/** Milliseconds until a context's token expires (negative once past), or `undefined` without `exp`. */
export function msUntilExpiry(context: AuthContext | null, now: number = Date.now()): number | undefined {
  return context?.expiresAt === undefined ? undefined : context.expiresAt - now;
}

export function createAuthenticator(config: AuthConfig): Authenticator {
  const compileSelector = config.compileSelector ?? topicsCompileSelector;
  if (typeof compileSelector !== 'function') throw new AuthConfigError('compileSelector must be a function.');
  const shared = list(config.keys.shared).map(createVerificationKey);
  const ownPublisher = list(config.keys.publisher).map(createVerificationKey);
  const ownSubscriber = list(config.keys.subscriber).map(createVerificationKey);
  const keys: Record<Role, VerificationKey[]> = {
    publisher: ownPublisher.length > 0 ? ownPublisher : shared,
    subscriber: ownSubscriber.length > 0 ? ownSubscriber : shared,
  };
  if (keys.publisher.length === 0 && keys.subscriber.length === 0) {
    throw new AuthConfigError(
      'No JWT key is configured: set a shared key, or publisher and subscriber keys.',
    );
  }

  const realm = config.realm ?? 'Crier';
  const legacy = config.legacy === false ? undefined : (config.legacy ?? {});
  const access = config.accessTokens;
  if (access !== undefined) {
    try {
      new URL(access.resource);
    } catch (cause) {
      throw new AuthConfigError(`accessTokens.resource must be an absolute URL, got ${access.resource}.`, {
        cause,
      });
    }
  }
  const metadataUrl =
    access === undefined
      ? undefined
      : (access.resourceMetadataUrl ?? protectedResourceMetadataUrl(access.resource));
  const acceptedIssuers =
    access === undefined
      ? undefined
      : [...(access.issuers ?? []), ...(access.authorizationServers ?? [])].filter(
          (v, i, a) => a.indexOf(v) === i,
        );
  const clock = config.now ?? (() => new Date());
  const cacheOptions = config.cache === false ? undefined : config.cache;
  const cacheMax = cacheOptions?.maxEntries ?? 10_000;
  const cacheTtlMs = cacheOptions?.ttlMs ?? 60_000;
  // Verified tokens by exact token string: a reconnect storm re-presents the same tokens, and a cache
  // hit skips the signature check and the selector compilation. Expiry is re-checked on every hit, and
  // an entry lives at most ttlMs, so a key removed from a JWKS stops working within that time.
  const cache =
    config.cache === false || cacheMax <= 0
      ? undefined
      : new Map<string, { context: AuthContext; until: number }>();

  const challenge = (protocol: ProtocolVersion) => ({
    realm,
    resourceMetadata: protocol === '1.0' ? metadataUrl : undefined,
  });

  const checksFor = (protocol: ProtocolVersion): ClaimChecks => {
    const base = { clockToleranceSeconds: config.clockToleranceSeconds ?? 0, now: clock() };
    if (protocol === '0.x') {
      return { ...base, issuer: legacy?.issuer, audience: legacy?.audience };
    }
    if (access === undefined) throw new AuthConfigError('Mercure 1.0 needs accessTokens to be configured.');
    return {
      ...base,
      typ: 'at+jwt',
      audience: access.audience ?? access.resource,
      issuer: acceptedIssuers !== undefined && acceptedIssuers.length > 0 ? acceptedIssuers : undefined,
      requiredClaims: access.strictClaims === true ? ['exp', 'sub', 'client_id', 'iat', 'jti'] : ['exp'],
    };
  };

  const missingToken = (protocol: ProtocolVersion) =>
    new AuthError('TOKEN_MISSING', 'This request needs an access token.', challenge(protocol));

  async function authenticate(
    request: AuthRequest,
    role: Role,
    protocol: ProtocolVersion,
  ): Promise<AuthContext | null> {
    if (protocol === '0.x' && legacy === undefined) {
      throw new AuthConfigError('Mercure 0.x tokens are disabled (legacy: false).');
    }
    const ctx = challenge(protocol);
    const presented = extractToken(request, {
      protocol,
      cookieName: protocol === '0.x' ? legacy?.cookieName : access?.cookieName,
      allowQueryParameter: legacy?.allowQueryParameter,
      multipleSources: config.multipleTokenSources,
      ...ctx,
    });
    if (presented === null) return null;
    if (role === 'publisher' && presented.source === 'cookie') {
      assertPublishOrigin(request, config.publishOrigins ?? []);
    }
    const cacheKey = `${role} ${protocol} ${presented.token}`;
    const cached = cache?.get(cacheKey);
    if (cached !== undefined) {
      const now = clock().getTime();
      const tolerance = (config.clockToleranceSeconds ?? 0) * 1000;
      const expired = cached.context.expiresAt !== undefined && now >= cached.context.expiresAt + tolerance;
      const early =
        typeof cached.context.claims.nbf === 'number' && now < cached.context.claims.nbf * 1000 - tolerance;
      cache?.delete(cacheKey);
      if (now < cached.until && !expired && !early) {
        cache?.set(cacheKey, cached); // most recently used last
        return { ...cached.context, source: presented.source };
      }
    }
    const verified = await verifyToken(presented.token, keys[role], checksFor(protocol), ctx);
    let grants: Grants;
    try {
      grants =
        protocol === '0.x'
          ? grantsFromMercureClaim(verified.payload, compileSelector, config.limits)
          : grantsFromAuthorizationDetails(verified.payload, compileSelector, {
              ...config.limits,
              detailTypes: access?.detailTypes ?? DEFAULT_DETAIL_TYPES,
            });
    } catch (error) {
      if (!(error instanceof GrantsError)) throw error;
      throw new AuthError('INVALID_TOKEN', error.message, {
        description: 'The access token claims are invalid',
        cause: error,
        ...ctx,
      });
    }
    const context: AuthContext = {
      protocol,
      role,
      source: presented.source,
      claims: verified.payload,
      header: verified.header,
      subject: typeof verified.payload.sub === 'string' ? verified.payload.sub : undefined,
      expiresAt: typeof verified.payload.exp === 'number' ? verified.payload.exp * 1000 : undefined,
      grants,
    };
    if (cache !== undefined) {
      cache.set(cacheKey, { context, until: clock().getTime() + cacheTtlMs });
      if (cache.size > cacheMax) cache.delete(cache.keys().next().value as string);
    }
    return context;
  }

  return {
    authenticate,
    async authenticatePublisher(request, protocol) {
      const context = await authenticate(request, 'publisher', protocol);
      if (context === null) throw missingToken(protocol);
      return context;
    },
    async authenticateSubscriber(request, protocol) {
      const context = await authenticate(request, 'subscriber', protocol);
      if (context === null && config.allowAnonymousSubscribers !== true) throw missingToken(protocol);
      return context;
    },
    authorizePublish(context, topics) {
      assertCanPublish(context?.grants, topics, challenge(context?.protocol ?? '0.x'));
    },
    missingToken,
    protectedResourceMetadata() {
      if (access === undefined) return undefined;
      return protectedResourceMetadata({
        resource: access.resource,
        authorizationServers: access.authorizationServers,
        resourceName: access.resourceName,
        resourceDocumentation: access.resourceDocumentation,
        authorizationDetailsTypes: [...(access.detailTypes ?? DEFAULT_DETAIL_TYPES)],
        cookieName: access.cookieName ?? DEFAULT_COOKIE_NAMES['1.0'],
        subscriptions: access.subscriptions,
      });
    },
    protectedResourceMetadataUrl: metadataUrl,
    allowAnonymousSubscribers: config.allowAnonymousSubscribers === true,
  };
}
