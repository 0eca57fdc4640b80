/**
 * Finding the token in a request, by the rules of each protocol version. Framework-free: a request is a
 * method, a URL and headers (a `Headers` or a record with lowercase keys, as `node:http` gives them).
 *
 * Mercure 0.x (draft-07 §Authorization): the `Authorization: Bearer` header, then the `authorization`
 * query parameter, then the cookie (`mercureAuthorization` by default). "If the client presents an
 * Authorization HTTP header, the JWS it contains MUST be used. The content of the authorization query
 * parameter and of the cookie MUST be ignored"; likewise the query parameter wins over the cookie.
 *
 * Mercure 1.0 (draft-08): the header, then the cookie (`__Secure-mercure_access_token` by default). Tokens
 * in the URL are refused outright (RFC 9700 §4.3.2): they end up in logs and `Referer` headers.
 */

import type { MercureVersion } from '../../protocol/vocabulary.js';
import { AuthError } from './errors.js';

/** A Mercure version by its internal name (src/protocol/vocabulary.ts): `'0.x'` is draft-07, `'1.0'` draft-08. */
export type ProtocolVersion = MercureVersion;
export type TokenSource = 'header' | 'query' | 'cookie';

/** Headers as `Headers`, or as a record with lowercase names (`IncomingMessage.headers`). */
export type HeaderInput = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The parts of an HTTP request authentication looks at. */
export interface AuthRequest {
  readonly method: string;
  /** The request URL, absolute or path-and-query (`/.well-known/mercure?topic=x`). */
  readonly url: string | URL;
  readonly headers: HeaderInput;
}

export interface PresentedToken {
  readonly token: string;
  readonly source: TokenSource;
  /** Other places that also carried a token and were ignored by precedence. */
  readonly ignored: readonly TokenSource[];
}

export interface ExtractOptions {
  readonly protocol: ProtocolVersion;
  /** The cookie name; defaults per protocol. */
  readonly cookieName?: string | undefined;
  /** 0.x only: accept the `authorization` query parameter (default true, as the draft allows). */
  readonly allowQueryParameter?: boolean | undefined;
  /**
   * What to do when a token comes in more than one place. `precedence` (default) follows the drafts:
   * the highest-precedence token is used and the others ignored. `reject` answers 400 `invalid_request`,
   * as RFC 6750 §2 ("Clients MUST NOT use more than one method") permits.
   */
  readonly multipleSources?: 'precedence' | 'reject' | undefined;
  readonly realm?: string | undefined;
  readonly resourceMetadata?: string | undefined;
}

export const DEFAULT_COOKIE_NAMES: Readonly<Record<ProtocolVersion, string>> = {
  '0.x': 'mercureAuthorization',
  '1.0': '__Secure-mercure_access_token',
};

/** The RFC 6750 §2.1 `b64token` (token68). */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const BEARER_SCHEME = /^Bearer(?: |$)/i;

/** All values of a header, one entry per occurrence where the input keeps them apart. */
export function headerValues(headers: HeaderInput, name: string): string[] {
  const lower = name.toLowerCase();
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    const value = (headers as Headers).get(lower);
    return value === null ? [] : [value];
  }
  const value = (headers as Record<string, string | readonly string[] | undefined>)[lower];
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

/** One header's value, or `undefined`; occurrences are joined with ", " as HTTP allows. */
export function headerValue(headers: HeaderInput, name: string): string | undefined {
  const values = headerValues(headers, name);
  return values.length === 0 ? undefined : values.join(', ');
}

/**
 * The credentials of an `Authorization: Bearer …` header: any text without spaces, or `undefined` for
 * another scheme or none. Lenient, for looking (which protocol a token speaks, an admin token):
 * `extractToken` is the one that checks RFC 6750's token68 syntax.
 */
export function bearerCredentials(headers: HeaderInput): string | undefined {
  const value = headerValue(headers, 'authorization');
  return value === undefined ? undefined : /^bearer\s+(\S+)$/i.exec(value)?.[1];
}

/** The values of one cookie in a `Cookie` header (RFC 6265 §5.4), in order; quotes are removed. */
export function cookieValues(headers: HeaderInput, name: string): string[] {
  const found: string[] = [];
  for (const header of headerValues(headers, 'cookie')) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      try {
        value = decodeURIComponent(value);
      } catch {
        // Not percent-encoded: keep it as it is; verification will judge it.
      }
      found.push(value);
    }
  }
  return found;
}

function queryParams(url: string | URL): URLSearchParams {
  try {
    return (typeof url === 'string' ? new URL(url, 'http://localhost') : url).searchParams;
  } catch {
    return new URLSearchParams();
  }
}

function badRequest(message: string, options: ExtractOptions): AuthError {
  return new AuthError('INVALID_REQUEST', message, {
    realm: options.realm,
    resourceMetadata: options.resourceMetadata,
  });
}

/**
 * The token a request presents, or `null` when it presents none. Throws `AuthError` `INVALID_REQUEST`
 * (400) for a malformed request: a `Bearer` header whose value is not one token, one place carrying two
 * different tokens, a 1.0 token in the URL, or (with `multipleSources: 'reject'`) tokens in two places.
 * An `Authorization` header with another scheme (Basic, for a proxy) is not a token and is ignored.
 */
export function extractToken(request: AuthRequest, options: ExtractOptions): PresentedToken | null {
  const found: { token: string; source: TokenSource }[] = [];

  const authorization = headerValues(request.headers, 'authorization');
  const bearers = authorization.filter((v) => BEARER_SCHEME.test(v.trim()));
  if (bearers.length > 1)
    throw badRequest('The request has more than one Authorization: Bearer header.', options);
  if (bearers.length === 1) {
    const match = BEARER.exec(bearers[0]?.trim() ?? '');
    if (match?.[1] === undefined) {
      throw badRequest(
        'The Authorization header must be "Bearer" followed by a space and one token.',
        options,
      );
    }
    found.push({ token: match[1], source: 'header' });
  }

  const params = queryParams(request.url);
  if (options.protocol === '1.0') {
    for (const name of ['access_token', 'authorization']) {
      if (params.has(name)) {
        throw badRequest(
          `Access tokens are not accepted in the URL (the "${name}" query parameter): send the Authorization header or the cookie.`,
          options,
        );
      }
    }
  } else if (options.allowQueryParameter !== false) {
    const values = new Set(params.getAll('authorization'));
    if (values.size > 1) throw badRequest('The "authorization" query parameter is given twice.', options);
    const [value] = values;
    if (value !== undefined) {
      if (value === '') throw badRequest('The "authorization" query parameter is empty.', options);
      found.push({ token: value, source: 'query' });
    }
  }

  const cookieName = options.cookieName ?? DEFAULT_COOKIE_NAMES[options.protocol];
  const cookies = new Set(cookieValues(request.headers, cookieName).filter((v) => v !== ''));
  if (cookies.size > 1)
    throw badRequest(`The request carries two different "${cookieName}" cookies.`, options);
  const [cookie] = cookies;
  if (cookie !== undefined) found.push({ token: cookie, source: 'cookie' });

  const [first, ...rest] = found;
  if (first === undefined) return null;
  if (rest.length > 0 && options.multipleSources === 'reject') {
    throw badRequest(
      `The request presents a token in more than one place (${found.map((f) => f.source).join(', ')}); send exactly one.`,
      options,
    );
  }
  return { token: first.token, source: first.source, ignored: rest.map((f) => f.source) };
}
