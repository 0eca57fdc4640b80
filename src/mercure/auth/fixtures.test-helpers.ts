/**
 * Shared by the auth tests: keys generated with jose, token signing, a stand-in selector compiler
 * (exact topics and `*` only; real selector matching is src/topics' job) and assertion helpers.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { AuthError, type AuthErrorCode } from './errors.js';
import type { SelectorCompiler } from './grants.js';

/** Exact topics and `*`, nothing else. */
export const exactOrStar: SelectorCompiler = (selector) => ({
  matches: (topic) => selector === '*' || topic === selector,
});

export const secret = (): Uint8Array => new Uint8Array(randomBytes(32));

export interface KeyPairFixture {
  alg: string;
  privateKey: CryptoKey;
  publicPem: string;
  publicJwk: JWK;
}

export async function keyPair(
  alg: 'RS256' | 'ES256' | 'EdDSA' | 'PS256',
  kid?: string,
): Promise<KeyPairFixture> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  if (kid !== undefined) publicJwk.kid = kid;
  publicJwk.alg = alg;
  return { alg, privateKey, publicPem: await exportSPKI(publicKey), publicJwk };
}

export interface SignOptions {
  alg: string;
  key: CryptoKey | Uint8Array;
  typ?: string;
  kid?: string;
}

export async function sign(payload: JWTPayload, options: SignOptions): Promise<string> {
  const header: Record<string, unknown> = { alg: options.alg };
  if (options.typ !== undefined) header.typ = options.typ;
  if (options.kid !== undefined) header.kid = options.kid;
  return await new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(options.key);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS from raw parts, for tokens jose refuses to produce (alg none, forged HS with a PEM). */
export function rawToken(header: unknown, payload: unknown, signature = ''): string {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

/** Asserts that `promise` rejects with an `AuthError` of this code, and returns it for more checks. */
export async function rejectsWith(promise: Promise<unknown>, code: AuthErrorCode): Promise<AuthError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AuthError, `expected an AuthError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** A request as the hub's HTTP layer would pass it. */
export function request(options: { method?: string; url?: string; headers?: Record<string, string> } = {}): {
  method: string;
  url: string;
  headers: Record<string, string>;
} {
  return {
    method: options.method ?? 'GET',
    url: options.url ?? '/.well-known/mercure?topic=x',
    headers: options.headers ?? {},
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
