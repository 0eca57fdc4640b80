import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AuthConfig, createAuthenticator, msUntilExpiry } from './authenticator.js';
import { AuthConfigError } from './errors.js';
import {
  bearer,
  exactOrStar,
  keyPair,
  nowSeconds,
  rawToken,
  rejectsWith,
  request,
  secret,
  sign,
} from './fixtures.test-helpers.js';
import { canPublish, canReceive } from './grants.js';

const HUB = 'https://hub.example/.well-known/mercure';
const PRM = 'https://hub.example/.well-known/oauth-protected-resource/.well-known/mercure';

const publishAll = { mercure: { publish: ['*'], subscribe: ['*'] } };

function authWith(config: Partial<AuthConfig> & Pick<AuthConfig, 'keys'>) {
  return createAuthenticator({ compileSelector: exactOrStar, ...config });
}

/** A 1.0 access token payload granting `actions` on `topics` (exact matchers). */
function accessClaims(actions: string[], topics: string[], extra: Record<string, unknown> = {}) {
  return {
    iss: 'https://app.example',
    aud: HUB,
    exp: nowSeconds() + 600,
    sub: 'user-1',
    authorization_details: [
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions,
        topics: topics.map((match) => ({ match })),
      },
    ],
    ...extra,
  };
}

describe('signature algorithms', () => {
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    test(`accepts a token signed with ${alg} when the secret is configured for ${alg}`, async () => {
      const key = secret();
      const auth = authWith({ keys: { shared: { secret: key, algorithms: [alg] } } });
      const token = await sign(publishAll, { alg, key });
      const ctx = await auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x');
      assert.ok(canPublish(ctx.grants, ['https://example.com/a']));
    });
  }

  test('refuses an HS384 token when the secret is configured for HS256 only (the default)', async () => {
    const key = secret();
    const auth = authWith({ keys: { shared: { secret: key } } });
    const token = await sign(publishAll, { alg: 'HS384', key });
    const error = await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x'),
      'INVALID_TOKEN',
    );
    assert.equal(error.status, 401);
  });

  for (const alg of ['RS256', 'ES256', 'EdDSA', 'PS256'] as const) {
    test(`accepts a token signed with ${alg} when its public key is configured as PEM`, async () => {
      const pair = await keyPair(alg);
      const auth = authWith({ keys: { shared: { publicKey: pair.publicPem } } });
      const token = await sign(publishAll, { alg, key: pair.privateKey });
      const ctx = await auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x');
      assert.equal(ctx.header.alg, alg);
    });

    test(`accepts a token signed with ${alg} when its public key is configured as a JWK`, async () => {
      const pair = await keyPair(alg);
      const auth = authWith({ keys: { shared: { jwk: pair.publicJwk } } });
      const token = await sign(publishAll, { alg, key: pair.privateKey });
      const ctx = await auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x');
      assert.equal(ctx.header.alg, alg);
    });
  }

  test('refuses a token signed by another key of the same type', async () => {
    const configured = await keyPair('ES256');
    const other = await keyPair('ES256');
    const auth = authWith({ keys: { shared: { publicKey: configured.publicPem } } });
    const token = await sign(publishAll, { alg: 'ES256', key: other.privateKey });
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x'),
      'INVALID_TOKEN',
    );
  });
});

describe('attacks on the signature', () => {
  test('refuses an unsigned token (alg "none"), whatever the case of "none"', async () => {
    const auth = authWith({ keys: { shared: { secret: secret() } } });
    for (const alg of ['none', 'None', 'NONE']) {
      const token = rawToken({ alg, typ: 'JWT' }, publishAll, '');
      const error = await rejectsWith(
        auth.authenticatePublisher(request({ headers: bearer(`${token}`) }), '0.x'),
        'INVALID_TOKEN',
      );
      assert.equal(error.status, 401);
    }
  });

  test('refuses an HS256 token signed with the bytes of the configured RSA public key (key confusion)', async () => {
    const pair = await keyPair('RS256');
    const auth = authWith({ keys: { shared: { publicKey: pair.publicPem } } });
    const forged = await sign(publishAll, { alg: 'HS256', key: new TextEncoder().encode(pair.publicPem) });
    const error = await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(forged) }), '0.x'),
      'INVALID_TOKEN',
    );
    assert.match(error.message, /algorithm/);
  });

  test('refuses an HS256 token signed with the JWK JSON of the configured public key (key confusion)', async () => {
    const pair = await keyPair('ES256');
    const auth = authWith({ keys: { shared: { jwk: pair.publicJwk } } });
    const forged = await sign(publishAll, {
      alg: 'HS256',
      key: new TextEncoder().encode(JSON.stringify(pair.publicJwk)),
    });
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(forged) }), '0.x'),
      'INVALID_TOKEN',
    );
  });

  test('refuses a token whose payload was changed after signing', async () => {
    const key = secret();
    const auth = authWith({ keys: { shared: { secret: key } } });
    const token = await sign({ mercure: { publish: ['https://example.com/mine'] } }, { alg: 'HS256', key });
    const [h, , s] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify(publishAll)).toString('base64url');
    const error = await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(`${h}.${forgedPayload}.${s}`) }), '0.x'),
      'INVALID_TOKEN',
    );
    assert.match(error.message, /signature/);
  });

  test('refuses a token whose signature was changed', async () => {
    const key = secret();
    const auth = authWith({ keys: { shared: { secret: key } } });
    const token = await sign(publishAll, { alg: 'HS256', key });
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(tampered) }), '0.x'),
      'INVALID_TOKEN',
    );
  });

  test('refuses a token with no signature at all', async () => {
    const key = secret();
    const auth = authWith({ keys: { shared: { secret: key } } });
    const token = await sign(publishAll, { alg: 'HS256', key });
    const stripped = `${token.slice(0, token.lastIndexOf('.'))}.`;
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(stripped) }), '0.x'),
      'INVALID_TOKEN',
    );
  });
});

describe('time claims', () => {
  const key = secret();
  const auth = authWith({ keys: { shared: { secret: key } } });
  const lenient = authWith({ keys: { shared: { secret: key } }, clockToleranceSeconds: 30 });

  test('refuses an expired token with 401 invalid_token and says it expired', async () => {
    const token = await sign({ ...publishAll, exp: nowSeconds() - 10 }, { alg: 'HS256', key });
    const error = await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x'),
      'INVALID_TOKEN',
    );
    assert.equal(error.status, 401);
    assert.equal(
      error.wwwAuthenticate,
      'Bearer realm="Crier", error="invalid_token", error_description="The access token expired"',
    );
  });

  test('accepts a token expired by less than the clock tolerance', async () => {
    const token = await sign({ ...publishAll, exp: nowSeconds() - 10 }, { alg: 'HS256', key });
    const ctx = await lenient.authenticatePublisher(request({ headers: bearer(token) }), '0.x');
    assert.ok(ctx.expiresAt !== undefined);
  });

  test('refuses a token whose nbf is in the future', async () => {
    const token = await sign({ ...publishAll, nbf: nowSeconds() + 60 }, { alg: 'HS256', key });
    const error = await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x'),
      'INVALID_TOKEN',
    );
    assert.equal(
      error.wwwAuthenticate,
      'Bearer realm="Crier", error="invalid_token", error_description="The access token is not valid yet"',
    );
  });

  test('accepts a token whose nbf is within the clock tolerance', async () => {
    const token = await sign({ ...publishAll, nbf: nowSeconds() + 20 }, { alg: 'HS256', key });
    await lenient.authenticatePublisher(request({ headers: bearer(token) }), '0.x');
  });

  test('exposes exp as expiresAt in milliseconds, so the hub can close the stream then', async () => {
    const exp = nowSeconds() + 120;
    const token = await sign({ ...publishAll, exp }, { alg: 'HS256', key });
    const ctx = await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    assert.equal(ctx?.expiresAt, exp * 1000);
    assert.equal(msUntilExpiry(ctx, exp * 1000 - 5000), 5000);
  });

  test('leaves expiresAt undefined for a 0.x token without exp', async () => {
    const token = await sign(publishAll, { alg: 'HS256', key });
    const ctx = await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    assert.equal(ctx?.expiresAt, undefined);
    assert.equal(msUntilExpiry(ctx), undefined);
  });
});

describe('issuer and audience', () => {
  const key = secret();

  test('0.x: refuses a token for another audience when an audience is configured', async () => {
    const auth = authWith({ keys: { shared: { secret: key } }, legacy: { audience: 'crier' } });
    const wrong = await sign({ ...publishAll, aud: 'someone-else' }, { alg: 'HS256', key });
    const missing = await sign(publishAll, { alg: 'HS256', key });
    const right = await sign({ ...publishAll, aud: ['x', 'crier'] }, { alg: 'HS256', key });
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(wrong) }), '0.x'),
      'INVALID_TOKEN',
    );
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(missing) }), '0.x'),
      'INVALID_TOKEN',
    );
    await auth.authenticatePublisher(request({ headers: bearer(right) }), '0.x');
  });

  test('0.x: refuses a token from another issuer when issuers are configured', async () => {
    const auth = authWith({ keys: { shared: { secret: key } }, legacy: { issuer: ['app-a', 'app-b'] } });
    const wrong = await sign({ ...publishAll, iss: 'app-c' }, { alg: 'HS256', key });
    const right = await sign({ ...publishAll, iss: 'app-b' }, { alg: 'HS256', key });
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(wrong) }), '0.x'),
      'INVALID_TOKEN',
    );
    await auth.authenticatePublisher(request({ headers: bearer(right) }), '0.x');
  });
});

describe('Mercure 1.0 access tokens (RFC 9068)', () => {
  const key = secret();
  const auth = authWith({
    keys: { shared: { secret: key } },
    accessTokens: { resource: HUB, issuers: ['https://app.example'] },
  });
  const at = (claims: Record<string, unknown>, typ = 'at+jwt') => sign(claims, { alg: 'HS256', key, typ });

  test('accepts an at+jwt token with iss, aud, exp and a mercure authorization detail', async () => {
    const token = await at(accessClaims(['publish'], ['https://example.com/books/1']));
    const ctx = await auth.authenticatePublisher(request({ method: 'POST', headers: bearer(token) }), '1.0');
    assert.equal(ctx.subject, 'user-1');
    assert.ok(canPublish(ctx.grants, ['https://example.com/books/1']));
    assert.ok(!canPublish(ctx.grants, ['https://example.com/books/2']));
  });

  test('accepts typ "application/at+jwt" as the same media type', async () => {
    const token = await at(accessClaims(['publish'], ['*']), 'application/at+jwt');
    await auth.authenticatePublisher(request({ headers: bearer(token) }), '1.0');
  });

  test('refuses a token whose typ is not at+jwt (an ID token, a 0.x token)', async () => {
    for (const typ of ['JWT', 'id+jwt']) {
      const token = await at(accessClaims(['publish'], ['*']), typ);
      await rejectsWith(
        auth.authenticatePublisher(request({ headers: bearer(token) }), '1.0'),
        'INVALID_TOKEN',
      );
    }
    const untyped = await sign(accessClaims(['publish'], ['*']), { alg: 'HS256', key });
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(untyped) }), '1.0'),
      'INVALID_TOKEN',
    );
  });

  test('refuses a token without exp, without aud, or for another audience', async () => {
    const { exp, ...noExp } = accessClaims(['publish'], ['*']);
    const { aud, ...noAud } = accessClaims(['publish'], ['*']);
    const other = accessClaims(['publish'], ['*'], { aud: 'https://other-hub.example/.well-known/mercure' });
    for (const claims of [noExp, noAud, other]) {
      const error = await rejectsWith(
        auth.authenticatePublisher(request({ headers: bearer(await at(claims)) }), '1.0'),
        'INVALID_TOKEN',
      );
      assert.equal(error.status, 401);
    }
  });

  test('refuses a token from an issuer that is not trusted, or with no iss', async () => {
    const { iss, ...noIss } = accessClaims(['publish'], ['*']);
    const other = accessClaims(['publish'], ['*'], { iss: 'https://evil.example' });
    for (const claims of [noIss, other]) {
      await rejectsWith(
        auth.authenticatePublisher(request({ headers: bearer(await at(claims)) }), '1.0'),
        'INVALID_TOKEN',
      );
    }
  });

  test('with strictClaims, also requires sub, client_id, iat and jti', async () => {
    const strict = authWith({
      keys: { shared: { secret: key } },
      accessTokens: { resource: HUB, strictClaims: true },
    });
    const loose = await at(accessClaims(['publish'], ['*']));
    await rejectsWith(
      strict.authenticatePublisher(request({ headers: bearer(loose) }), '1.0'),
      'INVALID_TOKEN',
    );
    const full = await at(
      accessClaims(['publish'], ['*'], { client_id: 'app', iat: nowSeconds(), jti: 'f5a1' }),
    );
    await strict.authenticatePublisher(request({ headers: bearer(full) }), '1.0');
  });

  test('refuses, as invalid_token, a token whose authorization_details are malformed', async () => {
    const bad = [
      { authorization_details: 'mercure' },
      {
        authorization_details: [
          { type: 'https://mercure.rocks/authorization-detail', actions: [42], topics: [{ match: '*' }] },
        ],
      },
      {
        authorization_details: [
          {
            type: 'https://mercure.rocks/authorization-detail',
            actions: ['publish'],
            topics: ['https://example.com/a'],
          },
        ],
      },
      {
        authorization_details: [
          { type: 'https://mercure.rocks/authorization-detail', actions: ['publish'], topics: [] },
        ],
      },
      {
        authorization_details: [
          {
            type: 'https://mercure.rocks/authorization-detail',
            actions: ['publish'],
            topics: [{ match: 'x', match_type: 'regexp' }],
          },
        ],
      },
    ];
    for (const extra of bad) {
      const token = await at(accessClaims(['publish'], ['*'], extra));
      const error = await rejectsWith(
        auth.authenticatePublisher(request({ headers: bearer(token) }), '1.0'),
        'INVALID_TOKEN',
      );
      assert.equal(
        error.wwwAuthenticate,
        `Bearer realm="Crier", resource_metadata="${PRM}", error="invalid_token", error_description="The access token claims are invalid"`,
      );
    }
  });

  test('answers a valid token without the publish grant with 403 insufficient_scope', async () => {
    const token = await at(accessClaims(['subscribe'], ['*']));
    const ctx = await auth.authenticatePublisher(request({ headers: bearer(token) }), '1.0');
    let caught: unknown;
    try {
      auth.authorizePublish(ctx, ['https://example.com/books/1']);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof Error && 'status' in caught);
    const error = caught as import('./errors.js').AuthError;
    assert.equal(error.status, 403);
    assert.equal(error.code, 'INSUFFICIENT_SCOPE');
    assert.equal(
      error.wwwAuthenticate,
      `Bearer realm="Crier", resource_metadata="${PRM}", error="insufficient_scope", error_description="The access token does not allow publishing to these topics"`,
    );
  });

  test('answers a missing token with a bare challenge naming the resource metadata', async () => {
    const error = await rejectsWith(auth.authenticatePublisher(request(), '1.0'), 'TOKEN_MISSING');
    assert.equal(error.status, 401);
    assert.equal(error.wwwAuthenticate, `Bearer realm="Crier", resource_metadata="${PRM}"`);
  });

  test('serves the RFC 9728 protected resource metadata of the hub', () => {
    const withServers = authWith({
      keys: { shared: { secret: key } },
      accessTokens: { resource: HUB, authorizationServers: ['https://as.example'], resourceName: 'Crier' },
    });
    assert.equal(withServers.protectedResourceMetadataUrl, PRM);
    assert.deepEqual(withServers.protectedResourceMetadata(), {
      resource: HUB,
      authorization_servers: ['https://as.example'],
      bearer_methods_supported: ['header'],
      authorization_details_types_supported: ['https://mercure.rocks/authorization-detail'],
      resource_name: 'Crier',
      mercure_cookie: '__Secure-mercure_access_token',
    });
    assert.equal(authWith({ keys: { shared: { secret: key } } }).protectedResourceMetadata(), undefined);
  });

  test('accepts tokens of the authorization servers it advertises', async () => {
    const withServers = authWith({
      keys: { shared: { secret: key } },
      accessTokens: { resource: HUB, authorizationServers: ['https://as.example'] },
    });
    const token = await at(accessClaims(['publish'], ['*'], { iss: 'https://as.example' }));
    await withServers.authenticatePublisher(request({ headers: bearer(token) }), '1.0');
  });

  test('refuses a 1.0 request when 0.x tokens are disabled and asked for 0.x', async () => {
    const only10 = authWith({
      keys: { shared: { secret: key } },
      legacy: false,
      accessTokens: { resource: HUB },
    });
    await assert.rejects(only10.authenticatePublisher(request(), '0.x'), AuthConfigError);
  });
});

describe('token placement per protocol version', () => {
  const key = secret();
  const auth = authWith({
    keys: { shared: { secret: key } },
    accessTokens: { resource: HUB },
    publishOrigins: ['https://app.example'],
  });
  const token07 = () => sign(publishAll, { alg: 'HS256', key });
  const token08 = () =>
    sign(accessClaims(['publish', 'subscribe'], ['*']), { alg: 'HS256', key, typ: 'at+jwt' });

  test('0.x reads the token from the authorization query parameter', async () => {
    const url = `/.well-known/mercure?topic=x&authorization=${await token07()}`;
    const ctx = await auth.authenticateSubscriber(request({ url }), '0.x');
    assert.equal(ctx?.source, 'query');
  });

  test('0.x reads the token from the mercureAuthorization cookie', async () => {
    const headers = { cookie: `other=1; mercureAuthorization=${await token07()}` };
    const ctx = await auth.authenticateSubscriber(request({ headers }), '0.x');
    assert.equal(ctx?.source, 'cookie');
  });

  test('0.x: with a header and a cookie, the header wins and the cookie is ignored (draft-07)', async () => {
    const headers = { ...bearer(await token07()), cookie: 'mercureAuthorization=garbage' };
    const ctx = await auth.authenticateSubscriber(request({ headers }), '0.x');
    assert.equal(ctx?.source, 'header');
  });

  test('0.x: with the query parameter and a cookie, the query parameter wins (draft-07)', async () => {
    const url = `/.well-known/mercure?authorization=${await token07()}`;
    const ctx = await auth.authenticateSubscriber(
      request({ url, headers: { cookie: 'mercureAuthorization=garbage' } }),
      '0.x',
    );
    assert.equal(ctx?.source, 'query');
  });

  test('with multipleTokenSources "reject", a header and a cookie together get 400 invalid_request', async () => {
    const strict = authWith({ keys: { shared: { secret: key } }, multipleTokenSources: 'reject' });
    const token = await token07();
    const headers = { ...bearer(token), cookie: `mercureAuthorization=${token}` };
    const error = await rejectsWith(
      strict.authenticateSubscriber(request({ headers }), '0.x'),
      'INVALID_REQUEST',
    );
    assert.equal(error.status, 400);
    assert.equal(
      error.wwwAuthenticate,
      'Bearer realm="Crier", error="invalid_request", error_description="The request presents a token in more than one place (header, cookie); send exactly one."',
    );
  });

  test('1.0 refuses a token in the query parameter, even a valid one, with 400 invalid_request', async () => {
    const token = await token08();
    for (const name of ['access_token', 'authorization']) {
      const url = `/.well-known/mercure?match=x&${name}=${token}`;
      const error = await rejectsWith(
        auth.authenticateSubscriber(request({ url }), '1.0'),
        'INVALID_REQUEST',
      );
      assert.equal(error.status, 400);
    }
  });

  test('1.0 reads the token from the __Secure-mercure_access_token cookie', async () => {
    const headers = { cookie: `__Secure-mercure_access_token=${await token08()}` };
    const ctx = await auth.authenticateSubscriber(request({ headers }), '1.0');
    assert.equal(ctx?.source, 'cookie');
  });

  test('1.0 ignores the 0.x cookie name', async () => {
    const anonymous = authWith({
      keys: { shared: { secret: key } },
      accessTokens: { resource: HUB },
      allowAnonymousSubscribers: true,
    });
    const headers = { cookie: `mercureAuthorization=${await token08()}` };
    assert.equal(await anonymous.authenticateSubscriber(request({ headers }), '1.0'), null);
  });

  test('a Bearer header that is not exactly one token is a 400 invalid_request', async () => {
    for (const value of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a, Bearer b', 'Bearer a,b']) {
      const error = await rejectsWith(
        auth.authenticateSubscriber(request({ headers: { authorization: value } }), '0.x'),
        'INVALID_REQUEST',
      );
      assert.equal(error.status, 400, value);
    }
  });

  test('two Authorization headers (as a list) are a 400 invalid_request', async () => {
    const token = await token07();
    await rejectsWith(
      auth.authenticateSubscriber(
        { method: 'GET', url: '/', headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } },
        '0.x',
      ),
      'INVALID_REQUEST',
    );
  });

  test('the Bearer scheme name is case-insensitive', async () => {
    const ctx = await auth.authenticateSubscriber(
      request({ headers: { authorization: `bearer ${await token07()}` } }),
      '0.x',
    );
    assert.equal(ctx?.source, 'header');
  });

  test('an Authorization header of another scheme is not a token: the request is anonymous', async () => {
    const error = await rejectsWith(
      auth.authenticateSubscriber(request({ headers: { authorization: 'Basic dXNlcjpwYXNz' } }), '0.x'),
      'TOKEN_MISSING',
    );
    assert.equal(error.wwwAuthenticate, 'Bearer realm="Crier"');
  });

  test('accepts headers given as a Headers object', async () => {
    const headers = new Headers({ Authorization: `Bearer ${await token07()}` });
    const ctx = await auth.authenticateSubscriber({ method: 'GET', url: HUB, headers }, '0.x');
    assert.equal(ctx?.source, 'header');
  });
});

describe('anonymous subscribers', () => {
  const key = secret();

  test('without a token, a subscriber gets 401 with a bare challenge when anonymous access is off', async () => {
    const auth = authWith({ keys: { shared: { secret: key } } });
    const error = await rejectsWith(auth.authenticateSubscriber(request(), '0.x'), 'TOKEN_MISSING');
    assert.equal(error.status, 401);
    assert.equal(error.wwwAuthenticate, 'Bearer realm="Crier"');
    assert.equal(error.bearerError, undefined);
  });

  test('without a token, a subscriber is anonymous (null) when anonymous access is on, and gets no private update', async () => {
    const auth = authWith({
      keys: { shared: { secret: key } },
      allowAnonymousSubscribers: true,
      realm: 'hub',
    });
    const ctx = await auth.authenticateSubscriber(request(), '0.x');
    assert.equal(ctx, null);
    assert.ok(canReceive(null, { topics: ['a'], private: false }));
    assert.ok(!canReceive(null, { topics: ['a'], private: true }));
  });

  test('an invalid token is refused even when anonymous access is on', async () => {
    const auth = authWith({ keys: { shared: { secret: key } }, allowAnonymousSubscribers: true });
    await rejectsWith(
      auth.authenticateSubscriber(request({ headers: bearer('a.b.c') }), '0.x'),
      'INVALID_TOKEN',
    );
  });

  test('a publisher always needs a token', async () => {
    const auth = authWith({ keys: { shared: { secret: key } }, allowAnonymousSubscribers: true });
    await rejectsWith(auth.authenticatePublisher(request({ method: 'POST' }), '0.x'), 'TOKEN_MISSING');
  });
});

describe('publisher and subscriber keys', () => {
  test('a token signed with the subscriber key cannot authenticate a publisher, and the reverse', async () => {
    const pub = secret();
    const sub = secret();
    const auth = authWith({ keys: { publisher: { secret: pub }, subscriber: { secret: sub } } });
    const subToken = await sign(publishAll, { alg: 'HS256', key: sub });
    const pubToken = await sign(publishAll, { alg: 'HS256', key: pub });
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(subToken) }), '0.x'),
      'INVALID_TOKEN',
    );
    await rejectsWith(
      auth.authenticateSubscriber(request({ headers: bearer(pubToken) }), '0.x'),
      'INVALID_TOKEN',
    );
    await auth.authenticatePublisher(request({ headers: bearer(pubToken) }), '0.x');
    await auth.authenticateSubscriber(request({ headers: bearer(subToken) }), '0.x');
  });

  test('a role without its own key falls back to the shared key', async () => {
    const pub = secret();
    const shared = secret();
    const auth = authWith({ keys: { publisher: { secret: pub }, shared: { secret: shared } } });
    const sharedToken = await sign(publishAll, { alg: 'HS256', key: shared });
    await auth.authenticateSubscriber(request({ headers: bearer(sharedToken) }), '0.x');
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(sharedToken) }), '0.x'),
      'INVALID_TOKEN',
    );
  });

  test('with several keys (rotation), a token signed by any of them is accepted, selected by kid', async () => {
    const old = await keyPair('ES256', 'old');
    const current = await keyPair('RS256', 'current');
    const auth = authWith({ keys: { shared: [{ jwk: old.publicJwk }, { jwk: current.publicJwk }] } });
    for (const pair of [old, current]) {
      const token = await sign(publishAll, { alg: pair.alg, key: pair.privateKey, kid: pair.publicJwk.kid });
      await auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x');
    }
    const wrongKid = await sign(publishAll, { alg: 'ES256', key: old.privateKey, kid: 'current' });
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(wrongKid) }), '0.x'),
      'INVALID_TOKEN',
    );
  });

  test('refuses a configuration without any key', () => {
    assert.throws(() => authWith({ keys: {} }), AuthConfigError);
  });
});

describe('CSRF: publishes authenticated by cookie', () => {
  const key = secret();
  const auth = authWith({ keys: { shared: { secret: key } }, publishOrigins: ['https://app.example'] });
  const cookieHeaders = async (extra: Record<string, string>) => ({
    cookie: `mercureAuthorization=${await sign(publishAll, { alg: 'HS256', key })}`,
    ...extra,
  });

  test('accepts a cookie publish from an allowed Origin', async () => {
    const headers = await cookieHeaders({ origin: 'https://app.example' });
    const ctx = await auth.authenticatePublisher(request({ method: 'POST', headers }), '0.x');
    assert.equal(ctx.source, 'cookie');
  });

  test('refuses a cookie publish from a foreign Origin with 403', async () => {
    const headers = await cookieHeaders({ origin: 'https://evil.example' });
    const error = await rejectsWith(
      auth.authenticatePublisher(request({ method: 'POST', headers }), '0.x'),
      'ORIGIN_NOT_ALLOWED',
    );
    assert.equal(error.status, 403);
    assert.equal(error.wwwAuthenticate, undefined);
  });

  test('falls back to the Referer when there is no Origin', async () => {
    const ok = await cookieHeaders({ referer: 'https://app.example/page?x=1' });
    await auth.authenticatePublisher(request({ method: 'POST', headers: ok }), '0.x');
    const bad = await cookieHeaders({ referer: 'https://evil.example/page' });
    await rejectsWith(
      auth.authenticatePublisher(request({ method: 'POST', headers: bad }), '0.x'),
      'ORIGIN_NOT_ALLOWED',
    );
  });

  test('refuses a cookie publish with neither Origin nor Referer', async () => {
    const headers = await cookieHeaders({});
    const error = await rejectsWith(
      auth.authenticatePublisher(request({ method: 'POST', headers }), '0.x'),
      'ORIGIN_REQUIRED',
    );
    assert.equal(error.status, 403);
  });

  test('does not check the origin of a publish authenticated by header', async () => {
    const token = await sign(publishAll, { alg: 'HS256', key });
    const headers = { ...bearer(token), origin: 'https://evil.example' };
    await auth.authenticatePublisher(request({ method: 'POST', headers }), '0.x');
  });
});

describe('configuration errors', () => {
  test('refuses a compileSelector that is not a function', () => {
    assert.throws(
      () =>
        createAuthenticator({
          keys: { shared: { secret: secret() } },
          compileSelector: 'x',
        } as unknown as AuthConfig),
      AuthConfigError,
    );
  });

  test('requires an absolute resource URL for 1.0', () => {
    assert.throws(
      () => authWith({ keys: { shared: { secret: secret() } }, accessTokens: { resource: 'hub' } }),
      AuthConfigError,
    );
  });

  test('asking for 1.0 without accessTokens configured is a configuration error, not a 4xx', async () => {
    const auth = authWith({ keys: { shared: { secret: secret() } } });
    const token = await sign(publishAll, { alg: 'HS256', key: secret() });
    await assert.rejects(
      auth.authenticatePublisher(request({ headers: bearer(token) }), '1.0'),
      AuthConfigError,
    );
  });
});

describe('with the real selectors of src/topics (the default compileSelector)', () => {
  const key = secret();
  const auth = createAuthenticator({ keys: { shared: { secret: key } }, accessTokens: { resource: HUB } });

  test('0.x: a URI template in mercure.subscribe lets private updates of matching topics through', async () => {
    const token = await sign(
      { mercure: { subscribe: ['https://example.com/users/{id}/inbox'] } },
      { alg: 'HS256', key },
    );
    const ctx = await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    assert.ok(canReceive(ctx?.grants, { topics: ['https://example.com/users/42/inbox'], private: true }));
    assert.ok(!canReceive(ctx?.grants, { topics: ['https://example.com/users/42/outbox'], private: true }));
  });

  test('1.0: a urlpattern matcher grants publish on matching topics only', async () => {
    const claims = {
      aud: HUB,
      exp: nowSeconds() + 60,
      authorization_details: [
        {
          type: 'https://mercure.rocks/authorization-detail',
          actions: ['publish'],
          topics: [{ match: 'https://example.com/books/:id', match_type: 'urlpattern' }],
        },
      ],
    };
    const token = await sign(claims, { alg: 'HS256', key, typ: 'at+jwt' });
    const ctx = await auth.authenticatePublisher(request({ headers: bearer(token) }), '1.0');
    assert.ok(canPublish(ctx.grants, ['https://example.com/books/7']));
    assert.ok(!canPublish(ctx.grants, ['https://example.com/authors/7']));
  });

  test('a selector src/topics cannot compile makes the token invalid (401), not a crash', async () => {
    const token = await sign(
      { mercure: { subscribe: ['https://example.com/{unclosed'] } },
      { alg: 'HS256', key },
    );
    await rejectsWith(
      auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x'),
      'INVALID_TOKEN',
    );
  });
});

describe('the verified-token cache', () => {
  const key = secret();

  test('a cached token is refused once it expires', async () => {
    let now = Date.now();
    const auth = authWith({ keys: { shared: { secret: key } }, now: () => new Date(now) });
    const token = await sign({ ...publishAll, exp: Math.floor(now / 1000) + 30 }, { alg: 'HS256', key });
    await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    now += 31_000; // within the cache's 60 s time to live: only the exp check can refuse it
    await rejectsWith(
      auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x'),
      'INVALID_TOKEN',
    );
  });

  test('a token verified for subscribers is not reused for publishers (each role has its keys)', async () => {
    const sub = secret();
    const auth = authWith({ keys: { publisher: { secret: key }, subscriber: { secret: sub } } });
    const token = await sign(publishAll, { alg: 'HS256', key: sub });
    await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    await rejectsWith(
      auth.authenticatePublisher(request({ headers: bearer(token) }), '0.x'),
      'INVALID_TOKEN',
    );
  });

  test('the CSRF check still applies to a cached cookie token', async () => {
    const auth = authWith({ keys: { shared: { secret: key } }, publishOrigins: ['https://app.example'] });
    const cookie = `mercureAuthorization=${await sign(publishAll, { alg: 'HS256', key })}`;
    await auth.authenticatePublisher(
      request({ method: 'POST', headers: { cookie, origin: 'https://app.example' } }),
      '0.x',
    );
    await rejectsWith(
      auth.authenticatePublisher(
        request({ method: 'POST', headers: { cookie, origin: 'https://evil.example' } }),
        '0.x',
      ),
      'ORIGIN_NOT_ALLOWED',
    );
  });

  test('an entry is verified again after its time to live', async () => {
    let now = Date.now();
    let calls = 0;
    const counting = (s: string) => {
      calls += 1;
      return exactOrStar(s);
    };
    const auth = authWith({
      keys: { shared: { secret: key } },
      compileSelector: counting,
      cache: { ttlMs: 1000 },
      now: () => new Date(now),
    });
    const token = await sign({ mercure: { subscribe: ['https://example.com/{x}'] } }, { alg: 'HS256', key });
    await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    assert.equal(calls, 1, 'the second request was a cache hit');
    now += 1001;
    await auth.authenticateSubscriber(request({ headers: bearer(token) }), '0.x');
    assert.equal(calls, 2);
  });
});
