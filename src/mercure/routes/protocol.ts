/**
 * Which Mercure version a request speaks, when `--protocol auto` leaves it open: 1.0 (draft-08) when its
 * parameters are 1.0's, its bearer token is an access token (`typ: at+jwt`) or it carries the 1.0 cookie
 * only; 0.x (draft-07) otherwise. Tokens are found as src/mercure/auth/extract.ts finds them.
 */
import { decodeProtectedHeader } from 'jose';
import { mercureVersion } from '../../protocol/vocabulary.js';
import { bearerCredentials, cookieValues } from '../auth/extract.js';
import { DEFAULT_COOKIE_NAMES, type ProtocolVersion } from '../auth/index.js';
import type { HubConfig } from '../config.js';
import { headersOf, type Req } from '../http.js';
import { looksLikeVersion1 } from '../subscribe.js';

/** The protocol of a request: fixed by `--protocol`, else 1.0 when its parameters or token say so. */
export function protocolOf(
  config: HubConfig,
  hubUrl: URL,
  req: Req,
  params: URLSearchParams,
): ProtocolVersion {
  if (config.protocol !== 'auto') return mercureVersion(config.protocol);
  if (looksLikeVersion1(params)) return '1.0';
  const headers = headersOf(req);
  const bearer = bearerCredentials(headers);
  const cookie =
    bearer === undefined &&
    !params.has('authorization') &&
    cookieValues(headers, accessCookieName(config, hubUrl)).length > 0;
  if (cookie) return '1.0';
  if (bearer !== undefined) {
    try {
      const typ = decodeProtectedHeader(bearer).typ?.toLowerCase();
      if (typ === 'at+jwt' || typ === 'application/at+jwt') return '1.0';
    } catch {
      // a malformed token: let 0.x verification refuse it
    }
  }
  return '0.x';
}

/** The 1.0 access-token cookie: `--cookie-name`, else the `__Secure-` name over HTTPS (it needs HTTPS). */
export function accessCookieName(config: HubConfig, hubUrl: URL): string {
  if (config.cookieName !== undefined) return config.cookieName;
  return hubUrl.protocol === 'https:' ? DEFAULT_COOKIE_NAMES['1.0'] : 'mercure_access_token';
}
