import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { JWK } from 'jose';
import { AuthConfigError } from './errors.js';
import { keyPair, nowSeconds, rejectsWith, secret, sign } from './fixtures.test-helpers.js';
import { createVerificationKey, keySourceFromString } from './keys.js';
import { verifyToken } from './verify.js';

const claims = () => ({ sub: 'x', exp: nowSeconds() + 600 });

describe('key configuration', () => {
  test('refuses a secret shorter than 32 bytes', () => {
    assert.throws(() => createVerificationKey({ secret: 'short' }), AuthConfigError);
    assert.throws(() => createVerificationKey({ secret: 'x'.repeat(31) }), /at least 32/);
    createVerificationKey({ secret: 'x'.repeat(32) });
  });

  test('pins an HMAC secret to HS256 unless told otherwise', () => {
    assert.deepEqual(createVerificationKey({ secret: secret() }).algorithms, ['HS256']);
    assert.deepEqual(createVerificationKey({ secret: secret(), algorithms: ['HS512'] }).algorithms, [
      'HS512',
    ]);
  });

  test('pins each public key to the algorithms of its type', async () => {
    const rsa = await keyPair('RS256');
    const ec = await keyPair('ES256');
    const ed = await keyPair('EdDSA');
    assert.deepEqual(createVerificationKey({ publicKey: rsa.publicPem }).algorithms, [
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
    ]);
    assert.deepEqual(createVerificationKey({ publicKey: ec.publicPem }).algorithms, ['ES256']);
    assert.deepEqual(createVerificationKey({ publicKey: ed.publicPem }).algorithms, ['EdDSA', 'Ed25519']);
  });

  test('refuses an algorithm that does not fit the key type (HS256 or ES256 for an RSA key)', async () => {
    const rsa = await keyPair('RS256');
    assert.throws(
      () => createVerificationKey({ publicKey: rsa.publicPem, algorithms: ['ES256'] }),
      /ES256 cannot be used with this key/,
    );
    assert.throws(
      () => createVerificationKey({ jwk: rsa.publicJwk, algorithms: ['HS256'] }),
      /HS256 cannot be used with this key/,
    );
    assert.throws(
      () => createVerificationKey({ secret: secret(), algorithms: ['RS256' as 'HS256'] }),
      AuthConfigError,
    );
  });

  test('uses only the public part of a private JWK given by mistake', async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const key = createVerificationKey({ jwk: privateJwk });
    assert.deepEqual(key.algorithms, ['ES256']);
    const token = await sign(claims(), { alg: 'ES256', key: privateKey });
    await verifyToken(token, [key], {});
  });

  test('refuses something that is not a PEM key', () => {
    assert.throws(
      () =>
        createVerificationKey({ publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }),
      AuthConfigError,
    );
  });

  test('reads a key from one string: PEM, JWK JSON, JWKS URL or secret', async () => {
    const rsa = await keyPair('RS256');
    assert.ok('publicKey' in keySourceFromString(rsa.publicPem));
    assert.ok('jwk' in keySourceFromString(JSON.stringify(rsa.publicJwk)));
    assert.ok('jwksUrl' in keySourceFromString('https://idp.example/jwks.json'));
    assert.ok('jwksUrl' in keySourceFromString('file:///etc/crier/jwks.json'));
    assert.deepEqual(keySourceFromString('!ChangeThisMercureHubJWTSecretKey!', 'HS256'), {
      secret: '!ChangeThisMercureHubJWTSecretKey!',
      algorithms: ['HS256'],
    });
    assert.throws(() => keySourceFromString('{not json'), AuthConfigError);
  });

  test('accepts JWKS URLs over https, over http only for loopback hosts, and file://', () => {
    createVerificationKey({ jwksUrl: 'https://idp.example/.well-known/jwks.json' });
    createVerificationKey({ jwksUrl: 'http://localhost:8080/jwks.json' });
    createVerificationKey({ jwksUrl: 'http://127.0.0.1:8080/jwks.json' });
    createVerificationKey({ jwksUrl: 'http://[::1]:8080/jwks.json' });
    createVerificationKey({ jwksUrl: 'file:///tmp/jwks.json' });
    assert.throws(() => createVerificationKey({ jwksUrl: 'http://idp.example/jwks.json' }), /https/);
    assert.throws(() => createVerificationKey({ jwksUrl: 'ftp://idp.example/jwks.json' }), AuthConfigError);
    assert.throws(() => createVerificationKey({ jwksUrl: 'not a url' }), AuthConfigError);
  });
});

describe('JWKS over HTTP (a real local server)', () => {
  let server: Server;
  let base: string;
  let jwks: { keys: JWK[] } = { keys: [] };
  let status = 200;
  let fetches = 0;

  before(async () => {
    server = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? JSON.stringify(jwks) : 'oops');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('verifies tokens with the key of the set named by kid, fetching the set once', async () => {
    const a = await keyPair('ES256', 'a');
    const b = await keyPair('RS256', 'b');
    jwks = { keys: [a.publicJwk, b.publicJwk] };
    fetches = 0;
    const key = createVerificationKey({ jwksUrl: `${base}/jwks.json` });
    for (const pair of [a, b, a]) {
      const token = await sign(claims(), { alg: pair.alg, key: pair.privateKey, kid: pair.publicJwk.kid });
      const verified = await verifyToken(token, [key], {});
      assert.equal(verified.header.kid, pair.publicJwk.kid);
    }
    assert.equal(fetches, 1);
  });

  test('refuses a token signed by a key that is not in the set', async () => {
    const inSet = await keyPair('ES256', 'in');
    const outside = await keyPair('ES256', 'out');
    jwks = { keys: [inSet.publicJwk] };
    const key = createVerificationKey({ jwksUrl: `${base}/other.json`, cooldownMs: 0 });
    const token = await sign(claims(), { alg: 'ES256', key: outside.privateKey, kid: 'out' });
    await rejectsWith(verifyToken(token, [key], {}), 'INVALID_TOKEN');
    const sameKidForged = await sign(claims(), { alg: 'ES256', key: outside.privateKey, kid: 'in' });
    await rejectsWith(verifyToken(sameKidForged, [key], {}), 'INVALID_TOKEN');
  });

  test('refuses an HS256 token against a JWKS of public keys (no symmetric algorithm by default)', async () => {
    const pair = await keyPair('RS256', 'r');
    jwks = { keys: [pair.publicJwk] };
    const key = createVerificationKey({ jwksUrl: `${base}/hs.json` });
    const forged = await sign(claims(), {
      alg: 'HS256',
      key: new TextEncoder().encode(pair.publicJwk.n ?? 'x'),
    });
    await rejectsWith(verifyToken(forged, [key], {}), 'INVALID_TOKEN');
  });

  test('answers 503 KEYS_UNAVAILABLE when the set cannot be fetched', async () => {
    const pair = await keyPair('ES256', 'k');
    status = 500;
    try {
      const key = createVerificationKey({ jwksUrl: `${base}/down.json` });
      const token = await sign(claims(), { alg: 'ES256', key: pair.privateKey, kid: 'k' });
      const error = await rejectsWith(verifyToken(token, [key], {}), 'KEYS_UNAVAILABLE');
      assert.equal(error.status, 503);
    } finally {
      status = 200;
    }
  });
});

describe('JWKS from a file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crier-jwks-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function writeJwks(path: string, keys: JWK[]) {
    // Written beside and renamed, as an operator rotating keys should, so a reader never sees half a file.
    await writeFile(`${path}.tmp`, JSON.stringify({ keys }));
    await rename(`${path}.tmp`, path);
  }

  test('verifies tokens with a key from a file:// set', async () => {
    const pair = await keyPair('EdDSA', 'ed');
    const path = join(dir, 'one.json');
    await writeJwks(path, [pair.publicJwk]);
    const key = createVerificationKey({ jwksUrl: pathToFileURL(path) });
    const token = await sign(claims(), { alg: 'EdDSA', key: pair.privateKey, kid: 'ed' });
    await verifyToken(token, [key], {});
  });

  test('picks up a rotated key at once when a token names a kid the loaded set lacks', async () => {
    const first = await keyPair('ES256', 'first');
    const second = await keyPair('ES256', 'second');
    const path = join(dir, 'rotate.json');
    await writeJwks(path, [first.publicJwk]);
    const key = createVerificationKey({ jwksUrl: pathToFileURL(path), reloadIntervalMs: 3_600_000 });
    await verifyToken(await sign(claims(), { alg: 'ES256', key: first.privateKey, kid: 'first' }), [key], {});
    await writeJwks(path, [second.publicJwk]);
    await verifyToken(
      await sign(claims(), { alg: 'ES256', key: second.privateKey, kid: 'second' }),
      [key],
      {},
    );
  });

  test('drops a removed key once the reload interval has passed', async () => {
    const pair = await keyPair('ES256', 'gone');
    const other = await keyPair('ES256', 'other');
    const path = join(dir, 'remove.json');
    await writeJwks(path, [pair.publicJwk]);
    const key = createVerificationKey({ jwksUrl: pathToFileURL(path), reloadIntervalMs: 0 });
    const token = await sign(claims(), { alg: 'ES256', key: pair.privateKey, kid: 'gone' });
    await verifyToken(token, [key], {});
    await writeJwks(path, [other.publicJwk]);
    await rejectsWith(verifyToken(token, [key], {}), 'INVALID_TOKEN');
  });

  test('keeps the previous set when the file becomes invalid JSON', async () => {
    const pair = await keyPair('ES256', 'keep');
    const path = join(dir, 'broken.json');
    await writeJwks(path, [pair.publicJwk]);
    const key = createVerificationKey({ jwksUrl: pathToFileURL(path), reloadIntervalMs: 0 });
    const token = await sign(claims(), { alg: 'ES256', key: pair.privateKey, kid: 'keep' });
    await verifyToken(token, [key], {});
    await writeFile(path, '{"keys": [');
    await verifyToken(token, [key], {});
  });

  test('answers 503 KEYS_UNAVAILABLE when the file does not exist', async () => {
    const pair = await keyPair('ES256', 'k');
    const key = createVerificationKey({ jwksUrl: pathToFileURL(join(dir, 'missing.json')) });
    const token = await sign(claims(), { alg: 'ES256', key: pair.privateKey, kid: 'k' });
    const error = await rejectsWith(verifyToken(token, [key], {}), 'KEYS_UNAVAILABLE');
    assert.equal(error.status, 503);
  });
});
