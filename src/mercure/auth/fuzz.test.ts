/**
 * Whatever a client sends as a token, the answer is a typed 4xx `AuthError`, never another exception:
 * arbitrary strings, JWT-shaped garbage with arbitrary headers, and correctly signed tokens whose claims
 * have arbitrary shapes (selectors compiled by the real src/topics).
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createAuthenticator } from './authenticator.js';
import { AuthError } from './errors.js';
import type { ProtocolVersion } from './extract.js';
import { nowSeconds, secret, sign } from './fixtures.test-helpers.js';

const HUB = 'https://hub.example/.well-known/mercure';
const key = secret();
const auth = createAuthenticator({
  keys: { shared: { secret: key, algorithms: ['HS256', 'HS512'] } },
  accessTokens: { resource: HUB },
  allowAnonymousSubscribers: true,
  publishOrigins: ['https://app.example'],
});

const protocols = fc.constantFrom<ProtocolVersion>('0.x', '1.0');
const placement = fc.constantFrom('header', 'query', 'cookie', 'cookie-0x');

function requestWith(token: string, where: string) {
  switch (where) {
    case 'header':
      return { method: 'POST', url: HUB, headers: { authorization: `Bearer ${token}` } };
    case 'query':
      return { method: 'GET', url: `${HUB}?authorization=${encodeURIComponent(token)}`, headers: {} };
    case 'cookie':
      return {
        method: 'POST',
        url: HUB,
        headers: { cookie: `__Secure-mercure_access_token=${token}`, origin: 'https://app.example' },
      };
    default:
      return { method: 'GET', url: HUB, headers: { cookie: `mercureAuthorization=${token}` } };
  }
}

/** Runs `fn` and requires it to succeed or fail with a 4xx AuthError; returns how it ended. */
async function outcome(fn: () => Promise<unknown>): Promise<'ok' | number> {
  try {
    await fn();
    return 'ok';
  } catch (error) {
    assert.ok(
      error instanceof AuthError,
      `not an AuthError: ${error instanceof Error ? error.stack : String(error)}`,
    );
    assert.ok(error.status >= 400 && error.status < 500, `status ${error.status}: ${error.message}`);
    if (error.wwwAuthenticate !== undefined) {
      assert.match(
        error.wwwAuthenticate,
        /^Bearer( [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*"(, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*)?$/,
      );
    }
    return error.status;
  }
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const headerObject = fc.record(
  {
    alg: fc.oneof(
      fc.constantFrom('HS256', 'HS512', 'RS256', 'ES256', 'EdDSA', 'none', 'NONE', ''),
      fc.string(),
      fc.integer(),
    ),
    typ: fc.oneof(fc.constantFrom('JWT', 'at+jwt', 'application/at+jwt'), fc.string()),
    kid: fc.string(),
    crit: fc.array(fc.string()),
    b64: fc.boolean(),
  },
  { requiredKeys: [] },
);

const segment = fc.oneof(
  fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')),
  }),
  fc.jsonValue().map(b64),
  headerObject.map(b64),
);

const jwtShaped = fc
  .tuple(fc.oneof(headerObject.map(b64), segment), segment, segment, fc.constantFrom('', '.', '..x'))
  .map(([h, p, s, tail]) => `${h}.${p}.${s}${tail}`);

describe('token fuzzing', () => {
  test('arbitrary strings as tokens always end in a 4xx AuthError (or anonymous), never another exception', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        placement,
        protocols,
        async (token, where, protocol) => {
          const result = await outcome(() => auth.authenticatePublisher(requestWith(token, where), protocol));
          assert.notEqual(result, 'ok');
          await outcome(() => auth.authenticateSubscriber(requestWith(token, where), protocol));
        },
      ),
      { numRuns: 400 },
    );
  });

  test('JWT-shaped garbage always ends in a 4xx AuthError', async () => {
    await fc.assert(
      fc.asyncProperty(jwtShaped, placement, protocols, async (token, where, protocol) => {
        const result = await outcome(() => auth.authenticatePublisher(requestWith(token, where), protocol));
        assert.notEqual(result, 'ok');
      }),
      { numRuns: 400 },
    );
  });

  test('correctly signed tokens with claims of arbitrary shape end in success or a 4xx AuthError', async () => {
    const topics = fc.array(fc.oneof(fc.string(), fc.constant('*'), fc.integer(), fc.jsonValue()), {
      maxLength: 4,
    });
    const matcher = fc.oneof(
      fc.record(
        { match: fc.oneof(fc.string(), fc.constant('*'), fc.integer()), match_type: fc.string() },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    );
    const detail = fc.record(
      {
        type: fc.oneof(fc.constant('mercure'), fc.string(), fc.jsonValue()),
        actions: fc.oneof(fc.array(fc.constantFrom('publish', 'subscribe', 'admin')), fc.jsonValue()),
        topics: fc.oneof(fc.array(matcher, { maxLength: 4 }), fc.jsonValue()),
        payload: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const claims = fc.record(
      {
        mercure: fc.oneof(
          fc.record({ publish: topics, subscribe: topics, payload: fc.jsonValue() }, { requiredKeys: [] }),
          fc.jsonValue(),
        ),
        authorization_details: fc.oneof(fc.array(detail, { maxLength: 3 }), fc.jsonValue()),
        aud: fc.oneof(fc.constant(HUB), fc.array(fc.constantFrom(HUB, 'x')), fc.jsonValue()),
        exp: fc.oneof(fc.constant(nowSeconds() + 600), fc.integer(), fc.jsonValue()),
        nbf: fc.oneof(fc.integer(), fc.jsonValue()),
        iss: fc.jsonValue(),
        sub: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        claims,
        protocols,
        fc.constantFrom('JWT', 'at+jwt'),
        async (payload, protocol, typ) => {
          const token = await sign(payload as Record<string, unknown>, { alg: 'HS256', key, typ });
          const result = await outcome(async () => {
            const context = await auth.authenticatePublisher(requestWith(token, 'header'), protocol);
            auth.authorizePublish(context, ['https://example.com/a']);
          });
          if (result === 'ok') assert.ok(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
