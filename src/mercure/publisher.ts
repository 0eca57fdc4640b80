/**
 * A small publisher SDK for Node backends: publish to a Crier hub (or any Mercure hub) and mint the JWTs
 * publishers and subscribers present.
 *
 *   const publisher = new Publisher({ hubUrl: 'https://hub.example/.well-known/mercure', token });
 *   const id = await publisher.publish({ topics: ['https://example.com/books/1'], data: '{"title":"…"}' });
 *   const ids = await publisher.batch([{ topics: ['a'], data: '1' }, { topics: ['b'], data: '2' }]); // Crier only
 *   const subscriberToken = await mintSubscriberToken(secret, { subscribe: ['https://example.com/users/42/{+rest}'] });
 */
import { SignJWT } from 'jose';
import { CrierError } from '../protocol/errors.js';

/** The draft-08 authorization detail type (§6.4). */
const MERCURE_DETAIL_TYPE = 'https://mercure.rocks/authorization-detail';

export interface PublishInput {
  topics: readonly string[];
  data?: string;
  private?: boolean;
  id?: string;
  type?: string;
  retry?: number;
}

export class PublishError extends CrierError<'PUBLISH_FAILED'> {
  readonly status: number;
  constructor(status: number, message: string) {
    super('PUBLISH_FAILED', message);
    this.name = 'PublishError';
    this.status = status;
  }
}

export interface PublisherOptions {
  /** The hub URL, `…/.well-known/mercure`. */
  hubUrl: string | URL;
  /** A publisher JWT, or a function returning one (called per request, so it can refresh). */
  token: string | (() => string | Promise<string>);
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

export class Publisher {
  private readonly hubUrl: URL;
  private readonly fetchImpl: typeof fetch;
  constructor(private readonly options: PublisherOptions) {
    this.hubUrl = new URL(options.hubUrl);
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Publishes one update with the Mercure form POST (works with any Mercure hub); resolves with its ID. */
  async publish(update: PublishInput): Promise<string> {
    const form = new URLSearchParams();
    for (const topic of update.topics) form.append('topic', topic);
    if (update.data !== undefined) form.set('data', update.data);
    if (update.private === true) form.set('private', 'on');
    if (update.id !== undefined) form.set('id', update.id);
    if (update.type !== undefined) form.set('type', update.type);
    if (update.retry !== undefined) form.set('retry', String(update.retry));
    const res = await this.fetchImpl(this.hubUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await this.token()}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form,
    });
    const text = await res.text();
    if (!res.ok)
      throw new PublishError(res.status, `The hub refused the update (${res.status}): ${text.trim()}`);
    return text.trim();
  }

  /** Publishes several updates in one request to Crier's `POST /v1/publish`: all are stored or none. */
  async batch(updates: readonly PublishInput[]): Promise<string[]> {
    const res = await this.fetchImpl(new URL('/v1/publish', this.hubUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${await this.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify(updates),
    });
    const text = await res.text();
    if (!res.ok)
      throw new PublishError(res.status, `The hub refused the batch (${res.status}): ${text.trim()}`);
    return (JSON.parse(text) as { ids: string[] }).ids;
  }

  private async token(): Promise<string> {
    const t = this.options.token;
    return typeof t === 'string' ? t : t();
  }
}

export interface MintOptions {
  /** Lifetime in seconds. Default 3600. */
  expiresIn?: number;
  /** HMAC algorithm. Default HS256. */
  alg?: 'HS256' | 'HS384' | 'HS512';
  /** Mercure 0.x `mercure.payload` (available in subscription events). */
  payload?: unknown;
  subject?: string;
}

function secretBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}

/** A Mercure 0.x token (`mercure` claim), signed with a shared secret. */
export async function mintToken(
  secret: string | Uint8Array,
  claim: { publish?: readonly string[]; subscribe?: readonly string[] },
  options: MintOptions = {},
): Promise<string> {
  const mercure: Record<string, unknown> = {};
  if (claim.publish !== undefined) mercure.publish = claim.publish;
  if (claim.subscribe !== undefined) mercure.subscribe = claim.subscribe;
  if (options.payload !== undefined) mercure.payload = options.payload;
  const jwt = new SignJWT({ mercure })
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600));
  if (options.subject !== undefined) jwt.setSubject(options.subject);
  return jwt.sign(secretBytes(secret));
}

/** A publisher token for the given topic selectors (default every topic). */
export function mintPublisherToken(
  secret: string | Uint8Array,
  topics: readonly string[] = ['*'],
  options?: MintOptions,
): Promise<string> {
  return mintToken(secret, { publish: topics }, options);
}

/** A subscriber token: private updates on topics matching `topics` reach its holder. */
export function mintSubscriberToken(
  secret: string | Uint8Array,
  topics: readonly string[],
  options?: MintOptions,
): Promise<string> {
  return mintToken(secret, { subscribe: topics }, options);
}

/** A Mercure 1.0 access token (RFC 9068 `at+jwt` with `authorization_details`). */
export async function mintAccessToken(
  secret: string | Uint8Array,
  options: {
    audience: string;
    issuer?: string;
    subject?: string;
    expiresIn?: number;
    /** HMAC algorithm. Default HS256. */
    alg?: 'HS256' | 'HS384' | 'HS512';
    publish?: ReadonlyArray<{ match: string; match_type?: 'exact' | 'urlpattern' }>;
    subscribe?: ReadonlyArray<{ match: string; match_type?: 'exact' | 'urlpattern' }>;
    payload?: unknown;
  },
): Promise<string> {
  const details: Record<string, unknown>[] = [];
  if (options.publish !== undefined)
    details.push({ type: MERCURE_DETAIL_TYPE, actions: ['publish'], topics: options.publish });
  if (options.subscribe !== undefined) {
    const detail: Record<string, unknown> = {
      type: MERCURE_DETAIL_TYPE,
      actions: ['subscribe'],
      topics: options.subscribe,
    };
    if (options.payload !== undefined) detail.payload = options.payload;
    details.push(detail);
  }
  const jwt = new SignJWT({ authorization_details: details })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'at+jwt' })
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600));
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.subject !== undefined) jwt.setSubject(options.subject);
  return jwt.sign(secretBytes(secret));
}
