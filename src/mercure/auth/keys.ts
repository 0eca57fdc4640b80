/**
 * Verification keys: HMAC secrets, public keys (PEM or JWK) and JSON Web Key Sets (https://, http:// on
 * localhost, file://), each pinned to the algorithms its key type allows. Pinning is what stops algorithm
 * confusion: an RSA public key only ever verifies RS and PS signatures, so an HS256 token "signed" with
 * the bytes of that public key finds no key that accepts HS256. `alg: none` is never on any list.
 */

import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import { AuthConfigError, AuthError } from './errors.js';

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

/** Every asymmetric JWS algorithm a key can be pinned to. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];
export type SignatureAlgorithm = HmacAlgorithm | AsymmetricAlgorithm;

/** Where a verification key comes from. */
export type KeySource =
  /** A shared secret (UTF-8 string or bytes), at least 32 bytes. Defaults to HS256 only. */
  | { secret: string | Uint8Array; algorithms?: HmacAlgorithm[]; kid?: string }
  /** A public key: PEM (SPKI `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`, or a certificate) or a KeyObject. */
  | { publicKey: string | KeyObject; algorithms?: AsymmetricAlgorithm[]; kid?: string }
  /** One JSON Web Key (public part used; `oct` keys are HMAC secrets). */
  | { jwk: JWK; algorithms?: SignatureAlgorithm[] }
  /**
   * A JSON Web Key Set: `https://`, `http://` on localhost only, or `file://`. Remote sets are cached
   * (`cacheMaxAgeMs`, default 10 minutes) and refetched at most every `cooldownMs` (default 30 s) when a
   * token names an unknown `kid`. File sets are re-read when the file changes, checked at most every
   * `reloadIntervalMs` (default 5 s) and whenever a token names an unknown key.
   */
  | {
      jwksUrl: string | URL;
      algorithms?: SignatureAlgorithm[];
      cacheMaxAgeMs?: number;
      cooldownMs?: number;
      timeoutMs?: number;
      reloadIntervalMs?: number;
    };

/** A key ready to verify: what it is, the algorithms it may verify, and the key material or resolver. */
export interface VerificationKey {
  /** A human description for messages, never the key itself ("HS256 secret", "JWKS https://…"). */
  readonly description: string;
  readonly algorithms: readonly SignatureAlgorithm[];
  /** Set for single keys that have a `kid`; a token naming another `kid` skips this key. */
  readonly kid: string | undefined;
  readonly key: KeyObject | Uint8Array | JWTVerifyGetKey;
}

const DEFAULT_JWKS_ALGORITHMS: SignatureAlgorithm[] = [...ASYMMETRIC_ALGORITHMS];
const MIN_SECRET_BYTES = 32;

/** The algorithms a public key of this type can verify. */
function algorithmsForKeyObject(key: KeyObject): AsymmetricAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1' || curve === 'P-256') return ['ES256'];
      if (curve === 'secp384r1' || curve === 'P-384') return ['ES384'];
      if (curve === 'secp521r1' || curve === 'P-521') return ['ES512'];
      throw new AuthConfigError(`Unsupported EC curve ${String(curve)}: use P-256, P-384 or P-521.`);
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      throw new AuthConfigError(
        `Unsupported public key type ${String(key.asymmetricKeyType)}: use RSA, EC (P-256/384/521) or Ed25519.`,
      );
  }
}

function pin<A extends string>(
  allowed: readonly A[],
  requested: readonly string[] | undefined,
  what: string,
): A[] {
  if (requested === undefined) return [...allowed];
  if (requested.length === 0) throw new AuthConfigError(`${what}: the algorithm list is empty.`);
  for (const alg of requested) {
    if (!(allowed as readonly string[]).includes(alg)) {
      throw new AuthConfigError(
        `${what}: algorithm ${alg} cannot be used with this key (allowed: ${allowed.join(', ')}).`,
      );
    }
  }
  return [...new Set(requested)] as A[];
}

function secretKey(
  secret: string | Uint8Array,
  algorithms: readonly string[] | undefined,
  kid: string | undefined,
): VerificationKey {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new AuthConfigError(
      `The JWT secret is ${bytes.length} bytes long; use at least ${MIN_SECRET_BYTES} random bytes (RFC 7518 §3.2).`,
    );
  }
  const algs = pin(HMAC_ALGORITHMS, algorithms ?? ['HS256'], 'JWT secret');
  return { description: `${algs.join('/')} secret`, algorithms: algs, kid, key: bytes };
}

function publicKeyFrom(
  input: string | KeyObject,
  algorithms: readonly string[] | undefined,
  kid: string | undefined,
): VerificationKey {
  let key: KeyObject;
  try {
    key = typeof input === 'string' ? createPublicKey(input) : input;
  } catch (cause) {
    throw new AuthConfigError(
      'The JWT public key is not a valid PEM public key (expected "-----BEGIN PUBLIC KEY-----").',
      { cause },
    );
  }
  if (key.type === 'secret') throw new AuthConfigError('Give a secret as { secret }, not as a public key.');
  if (key.type === 'private') key = createPublicKey(key);
  const algs = pin(algorithmsForKeyObject(key), algorithms, 'JWT public key');
  return { description: `${algs[0]} public key`, algorithms: algs, kid, key };
}

function jwkKey(jwk: JWK, algorithms: readonly string[] | undefined): VerificationKey {
  if (jwk.kty === 'oct') {
    if (typeof jwk.k !== 'string') throw new AuthConfigError('An "oct" JWK needs its "k" member.');
    const bytes = Buffer.from(jwk.k, 'base64url');
    const algs = algorithms ?? (jwk.alg !== undefined ? [jwk.alg] : undefined);
    return secretKey(new Uint8Array(bytes), algs, jwk.kid);
  }
  let key: KeyObject;
  try {
    // Keep only the public members, so a private JWK given by mistake still yields its public key.
    const { d, p, q, dp, dq, qi, oth, k, ...publicPart } = jwk as JWK & Record<string, unknown>;
    key = createPublicKey({ key: publicPart as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch (cause) {
    throw new AuthConfigError(`The JWK (kty ${String(jwk.kty)}) is not a valid public key.`, { cause });
  }
  const algs = algorithms ?? (jwk.alg !== undefined ? [jwk.alg] : undefined);
  return publicKeyFrom(key, algs, jwk.kid);
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function jwksKey(source: Extract<KeySource, { jwksUrl: string | URL }>): VerificationKey {
  let url: URL;
  try {
    url = new URL(source.jwksUrl);
  } catch (cause) {
    throw new AuthConfigError(`The JWKS URL ${String(source.jwksUrl)} is not a valid URL.`, { cause });
  }
  const algs = pin(
    [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS],
    source.algorithms ?? DEFAULT_JWKS_ALGORITHMS,
    'JWKS',
  );
  if (url.protocol === 'file:') {
    const loader = new FileJwks(fileURLToPath(url), source.reloadIntervalMs ?? 5_000);
    return {
      description: `JWKS ${url.href}`,
      algorithms: algs,
      kid: undefined,
      key: (header, input) => loader.getKey(header, input),
    };
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new AuthConfigError(
      `The JWKS URL ${url.href} must use https:// (http:// is allowed for localhost only) or file://.`,
    );
  }
  const remote = createRemoteJWKSet(url, {
    cacheMaxAge: source.cacheMaxAgeMs ?? 600_000,
    cooldownDuration: source.cooldownMs ?? 30_000,
    timeoutDuration: source.timeoutMs ?? 5_000,
  });
  return {
    description: `JWKS ${url.href}`,
    algorithms: algs,
    kid: undefined,
    key: async (header, input) => {
      try {
        return await remote(header, input);
      } catch (error) {
        throw keysUnavailableUnlessNoMatch(error, url.href);
      }
    },
  };
}

/** A JWKS that could not be fetched or parsed is the hub's problem (503), not the client's. */
function keysUnavailableUnlessNoMatch(error: unknown, where: string): unknown {
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return error;
  }
  return new AuthError('KEYS_UNAVAILABLE', `The key set ${where} could not be loaded; try again later.`, {
    cause: error,
  });
}

/**
 * A JWKS read from a file, re-read when the file's modification time or size changes. Changes are looked
 * for at most every `reloadIntervalMs`, and at once when a token names a key the set does not have (key
 * rotation: the new key is written before tokens signed with it arrive). A file that fails to parse after
 * a change keeps the previous set in use, so a half-written file does not lock everyone out.
 */
export class FileJwks {
  private set: ReturnType<typeof createLocalJWKSet> | undefined;
  private signature = '';
  private checkedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;
  private lastError: unknown;

  constructor(
    readonly path: string,
    readonly reloadIntervalMs: number,
  ) {}

  async getKey(header: JWSHeaderParameters, input: FlattenedJWSInput) {
    await this.refresh(false);
    try {
      return await this.current()(header, input);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      await this.refresh(true);
      return await this.current()(header, input);
    }
  }

  private current() {
    if (this.set === undefined) {
      throw new AuthError('KEYS_UNAVAILABLE', `The key set file ${this.path} could not be loaded.`, {
        cause: this.lastError,
      });
    }
    return this.set;
  }

  private refresh(force: boolean): Promise<void> {
    if (!force && Date.now() - this.checkedAt < this.reloadIntervalMs) return Promise.resolve();
    this.pending ??= this.load().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async load(): Promise<void> {
    this.checkedAt = Date.now();
    try {
      const info = await stat(this.path);
      const signature = `${info.mtimeMs}:${info.size}:${info.ino}`;
      if (signature === this.signature && this.set !== undefined) return;
      const jwks = JSON.parse(await readFile(this.path, 'utf8')) as JSONWebKeySet;
      this.set = createLocalJWKSet(jwks);
      this.signature = signature;
    } catch (error) {
      this.lastError = error;
    }
  }
}

/** Builds a verification key from its source, validating it: throws `AuthConfigError` when unusable. */
export function createVerificationKey(source: KeySource): VerificationKey {
  if ('secret' in source) return secretKey(source.secret, source.algorithms, source.kid);
  if ('publicKey' in source) return publicKeyFrom(source.publicKey, source.algorithms, source.kid);
  if ('jwk' in source) return jwkKey(source.jwk, source.algorithms);
  if ('jwksUrl' in source) return jwksKey(source);
  throw new AuthConfigError('A key source needs one of: secret, publicKey, jwk, jwksUrl.');
}

/**
 * Reads a key given as one string (a flag or an environment variable, as Mercure's `JWT_KEY`): a PEM block
 * is a public key, a JSON object a JWK, a URL (https, http, file) a JWKS, anything else a secret.
 */
export function keySourceFromString(value: string, algorithm?: SignatureAlgorithm): KeySource {
  const text = value.trim();
  const algorithms = algorithm === undefined ? undefined : [algorithm];
  if (text.startsWith('-----BEGIN')) {
    return { publicKey: text, algorithms: algorithms as AsymmetricAlgorithm[] | undefined };
  }
  if (text.startsWith('{')) {
    try {
      return { jwk: JSON.parse(text) as JWK, algorithms };
    } catch (cause) {
      throw new AuthConfigError('The JWT key looks like a JWK but is not valid JSON.', { cause });
    }
  }
  if (/^(https?|file):\/\//i.test(text)) return { jwksUrl: text, algorithms };
  return { secret: value, algorithms: algorithms as HmacAlgorithm[] | undefined };
}
