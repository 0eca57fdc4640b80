/** `crier token`: the JWTs it prints are accepted by a real hub, in both Mercure claim shapes. */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { publish, SECRET, startHub, subscribe } from '../mercure/hub.test-helpers.js';
import { tokenCommand } from './token.js';

/** Runs `crier token ARGS` with `env`; returns its status, the printed token and what it said on stderr. */
async function mint(
  t: TestContext,
  args: string[],
  env: Record<string, string> = { CRIER_JWT_KEY: SECRET },
): Promise<{ code: number; token: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = t.mock.method(console, 'log', (line: string) => out.push(line));
  const error = t.mock.method(console, 'error', (line: string) => err.push(line));
  try {
    const code = await tokenCommand(args, env);
    return { code, token: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mock.restore();
    error.mock.restore();
  }
}

describe('crier token', () => {
  test('mints a 0.x publisher token with the configured key that the hub accepts', async (t) => {
    const hub = await startHub(t);
    const { code, token } = await mint(t, ['--publish', 'https://example.com/books/{id}', '--ttl', '15m']);
    assert.equal(code, 0);
    const claims = decodeJwt(token);
    assert.deepEqual(claims.mercure, { publish: ['https://example.com/books/{id}'] });
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 900);
    assert.equal((await publish(hub, [['topic', 'https://example.com/books/1']], token)).status, 200);
    assert.equal((await publish(hub, [['topic', 'https://example.com/authors/1']], token)).status, 403);
  });

  test('mints a subscriber token that receives private updates on its topics', async (t) => {
    const hub = await startHub(t);
    const { token: subscriber } = await mint(t, ['--subscribe', 'https://example.com/users/42']);
    const { token: publisher } = await mint(t, ['--publish=*']);
    const stream = await subscribe(
      t,
      `${hub.url}?topic=${encodeURIComponent('https://example.com/users/42')}`,
      {
        authorization: `Bearer ${subscriber}`,
      },
    );
    assert.equal(stream.status, 200);
    const sent = await publish(
      hub,
      [
        ['topic', 'https://example.com/users/42'],
        ['data', 'for 42'],
        ['private', 'on'],
      ],
      publisher,
    );
    assert.equal(sent.status, 200);
    assert.equal((await stream.next()).data, 'for 42');
  });

  test('mints a Mercure 1.0 access token (at+jwt, authorization_details) for the hub URL and issuer', async (t) => {
    const hub = await startHub(t, ['--issuer', 'https://auth.example']);
    const { code, token } = await mint(t, [
      '--publish',
      '*',
      '--claims',
      '1.0',
      '--audience',
      hub.url,
      '--issuer',
      'https://auth.example',
      '--subject',
      'ops',
    ]);
    assert.equal(code, 0);
    assert.equal(decodeProtectedHeader(token).typ, 'at+jwt');
    const claims = decodeJwt(token);
    assert.equal(claims.aud, hub.url);
    assert.equal(claims.sub, 'ops');
    assert.deepEqual(claims.authorization_details, [
      { type: 'https://mercure.rocks/authorization-detail', actions: ['publish'], topics: [{ match: '*' }] },
    ]);
    assert.equal((await publish(hub, [['topic', 'https://example.com/x']], token)).status, 200);
  });

  test('signs with a given --key and --alg, or the Mercure variables, or the development key with --dev', async (t) => {
    const given = await mint(t, ['--publish', '*', '--key', 'k'.repeat(64), '--alg', 'HS512'], {});
    assert.equal(given.code, 0);
    assert.equal(decodeProtectedHeader(given.token).alg, 'HS512');
    const mercureEnv = await mint(t, ['--subscribe', '*'], { MERCURE_SUBSCRIBER_JWT_KEY: SECRET });
    assert.equal(mercureEnv.code, 0);
    const dev = await mint(t, ['--publish', '*', '--dev'], {});
    assert.equal(dev.code, 0);
    assert.match(dev.err, /development key/);
  });

  test('refuses clearly: no key, no selectors, a bad TTL, different role keys, an unknown option', async (t) => {
    const noKey = await mint(t, ['--publish', '*'], {});
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /no key: give --key SECRET, or set CRIER_JWT_KEY/);
    assert.match((await mint(t, [])).err, /give --publish or --subscribe/);
    assert.match((await mint(t, ['--publish', '*', '--ttl', 'soon'])).err, /--ttl: expected a duration/);
    const split = await mint(t, ['--publish', '*', '--subscribe', '*'], {
      CRIER_PUBLISHER_JWT_KEY: 'p'.repeat(32),
      CRIER_SUBSCRIBER_JWT_KEY: 's'.repeat(32),
    });
    assert.match(split.err, /different publisher and subscriber keys/);
    const rsa = await mint(t, ['--publish', '*'], { CRIER_JWT_KEY: SECRET, CRIER_JWT_ALG: 'RS256' });
    assert.match(rsa.err, /configured key is for RS256/);
    assert.match((await mint(t, ['--publish', '*', '--nope', '1'])).err, /unknown option --nope/);
    assert.equal((await mint(t, ['--help'])).code, 0);
  });
});
