/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for the hub as a Mercure 1.0 protected resource:
 * the document a client fetches to learn the hub's resource identifier (the `aud` its tokens need), the
 * authorization servers that issue them and how to present them.
 */

export interface ProtectedResourceMetadataOptions {
  /** The hub's resource identifier: an https URL, usually the hub URL. */
  resource: string;
  /** Issuer identifiers of the authorization servers that mint tokens for the hub. */
  authorizationServers?: readonly string[] | undefined;
  /** A human-readable name. */
  resourceName?: string | undefined;
  /** A page documenting the hub for developers. */
  resourceDocumentation?: string | undefined;
  /** The RFC 9396 authorization details types the hub understands. */
  authorizationDetailsTypes?: readonly string[] | undefined;
  /** The cookie the hub also reads the token from (draft-08 §9.2 `mercure_cookie`); none when absent. */
  cookieName?: string | undefined;
  /** The hub implements active subscriptions (draft-08 §9.2 `mercure_subscriptions`). */
  subscriptions?: boolean | undefined;
}

/** The JSON object of RFC 9728 §2, ready for `JSON.stringify` (served as `application/json`). */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  bearer_methods_supported: string[];
  authorization_details_types_supported: string[];
  resource_name?: string;
  resource_documentation?: string;
  mercure_cookie?: string;
  mercure_subscriptions?: boolean;
}

export function protectedResourceMetadata(
  options: ProtectedResourceMetadataOptions,
): ProtectedResourceMetadata {
  const doc: ProtectedResourceMetadata = {
    resource: options.resource,
    // RFC 9728 registers "header", "body" and "query"; the hub takes the header (and a cookie, advertised
    // as mercure_cookie), never the body or the query.
    bearer_methods_supported: ['header'],
    authorization_details_types_supported: [
      ...(options.authorizationDetailsTypes ?? ['https://mercure.rocks/authorization-detail']),
    ],
  };
  if (options.authorizationServers !== undefined && options.authorizationServers.length > 0) {
    doc.authorization_servers = [...options.authorizationServers];
  }
  if (options.resourceName !== undefined) doc.resource_name = options.resourceName;
  // draft-08 §9.2: the cookie is not an RFC 6750 method, so it has its own member, not bearer_methods_supported.
  if (options.cookieName !== undefined) doc.mercure_cookie = options.cookieName;
  if (options.subscriptions === true) doc.mercure_subscriptions = true;
  if (options.resourceDocumentation !== undefined) doc.resource_documentation = options.resourceDocumentation;
  return doc;
}

/**
 * Where the metadata lives (RFC 9728 §3.1): `/.well-known/oauth-protected-resource` inserted between the
 * host and the path of the resource identifier, with a trailing slash of the path removed.
 * `https://hub.example/.well-known/mercure` → `https://hub.example/.well-known/oauth-protected-resource/.well-known/mercure`.
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}${url.search}`;
}
