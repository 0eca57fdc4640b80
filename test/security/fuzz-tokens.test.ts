/**
 * Fuzzing token handling through HTTP: arbitrary JWT-shaped strings in every place a token can go, and
 * correctly signed tokens with arbitrary claims. Every answer is 200 (a validly signed token that grants
 * something), 400, 401 or 403 — never a 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import { type HubProcess, SECRET, startHub } from '../support/hub-process.js';

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');
const segment = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => b64(JSON.stringify(v))),
  fc
    .record(
      {
        alg: fc.oneof(
          fc.constantFrom('none', 'HS256', 'RS256', 'ES256', 'EdDSA', 'HS512', ''),
          fc.string({ maxLength: 8 }),
        ),
        typ: fc.constantFrom('JWT', 'at+jwt', 'application/at+jwt', 'x'),
        kid: fc.string({ maxLength: 8 }),
        crit: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
        b64: fc.boolean(),
        jku: fc.webUrl(),
      },
      { requiredKeys: [] },
    )
    .map((h) => b64(JSON.stringify(h))),
  fc.uint8Array({ maxLength: 64 }).map(b64),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '=', '..', 'e30', 'bnVsbA'),
);
const jwtShaped = fc.oneof(
  fc.tuple(segment, segment, segment).map((p) => p.join('.')),
  fc.array(segment, { maxLength: 6 }).map((p) => p.join('.')),
  fc.string({ maxLength: 60 }),
);

/** Claims for correctly signed tokens: the mercure claim and 1.0 details in every shape. */
const claims = fc.record(
  {
    mercure: fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          publish: fc.oneof(
            fc.array(fc.oneof(fc.string(), fc.constantFrom('*', '{x}', '{', 'https://e.x/{+a}')), {
              maxLength: 4,
            }),
            fc.jsonValue({ maxDepth: 1 }),
          ),
          subscribe: fc.oneof(
            fc.array(fc.oneof(fc.string(), fc.constantFrom('*', '{x}', '{')), { maxLength: 4 }),
            fc.jsonValue({ maxDepth: 1 }),
          ),
          payload: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: [] },
      ),
    ),
    authorization_details: fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.array(
        fc.record(
          {
            type: fc.constantFrom('mercure', 'other', ''),
            actions: fc.oneof(fc.subarray(['publish', 'subscribe', 'x']), fc.jsonValue({ maxDepth: 1 })),
            topics: fc.oneof(
              fc.array(
                fc.record(
                  {
                    match: fc.oneof(fc.string(), fc.constant('*')),
                    match_type: fc.constantFrom('exact', 'urlpattern', 'x'),
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 3 },
              ),
              fc.jsonValue({ maxDepth: 1 }),
            ),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
    exp: fc.oneof(
      fc.integer(),
      fc.double(),
      fc.string({ maxLength: 5 }),
      fc.constant(Math.floor(Date.now() / 1000) + 3600),
    ),
    nbf: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })),
    aud: fc.oneof(fc.string({ maxLength: 10 }), fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 })),
    iss: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: [] },
);

describe('fuzzing tokens through HTTP', () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, { args: ['--publish-origins', 'https://app.example'] });
  });
  after(() => hub.stop('SIGKILL'));

  /** Subscribes (aborting once the head arrived) or publishes with the token in the given place. */
  async function attempt(tokenText: string, place: number, action: 'subscribe' | 'publish'): Promise<number> {
    const url = new URL(hub.url);
    url.searchParams.set('topic', 'https://example.com/fuzz');
    const headers: Record<string, string> = { origin: 'https://app.example' };
    if (place === 0) headers.authorization = `Bearer ${tokenText}`;
    else if (place === 1) url.searchParams.set('authorization', tokenText);
    else if (place === 2) headers.cookie = `mercureAuthorization=${encodeURIComponent(tokenText)}`;
    else headers.cookie = `mercure_access_token=${encodeURIComponent(tokenText)}`;
    const controller = new AbortController();
    try {
      const res =
        action === 'subscribe'
          ? await fetch(url, { headers, signal: controller.signal })
          : await fetch(url, {
              method: 'POST',
              headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
              body: 'topic=https%3A%2F%2Fexample.com%2Ffuzz&data=x',
              signal: controller.signal,
            });
      return res.status;
    } catch (error) {
      // A header value Node's fetch refuses to send (the token had a CR, say) never reached the hub.
      if (error instanceof TypeError && !/fetch failed/.test(error.message)) return 400;
      throw error;
    } finally {
      controller.abort();
    }
  }

  test('arbitrary JWT-shaped strings in the header, query or cookies get 400, 401 or 403', async () => {
    await fc.assert(
      fc.asyncProperty(
        jwtShaped,
        fc.nat(3),
        fc.constantFrom('subscribe', 'publish'),
        async (text, place, action) => {
          const status = await attempt(text, place, action as 'subscribe' | 'publish');
          assert.ok(
            [400, 401, 403].includes(status),
            `${status} for ${action} with ${JSON.stringify(text)} at ${place}`,
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  test('correctly signed tokens with arbitrary claims get 200, 400, 401 or 403, never a 5xx', async () => {
    const key = new TextEncoder().encode(SECRET);
    await fc.assert(
      fc.asyncProperty(
        claims,
        fc.constantFrom('JWT', 'at+jwt'),
        fc.nat(3),
        fc.constantFrom('subscribe', 'publish'),
        async (payload, typ, place, action) => {
          // Signed as raw JSON, as any issuer could: jose's SignJWT would refuse some shapes (exp: Infinity)
          // before the hub ever saw them.
          const signed = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
            .setProtectedHeader({ alg: 'HS256', typ })
            .sign(key);
          const status = await attempt(signed, place, action as 'subscribe' | 'publish');
          assert.ok(
            [200, 400, 401, 403].includes(status),
            `${status} for ${action} with ${JSON.stringify(payload)}`,
          );
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(hub.alive());
  });
});
