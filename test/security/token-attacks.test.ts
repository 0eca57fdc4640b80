/**
 * Attacks on the hub's JWT authentication, each against a running `crier serve`: unsigned tokens, algorithm
 * confusion, expired and not-yet-valid tokens, wrong audience and issuer, tampered payloads, a token of the
 * wrong role. Every one ends in a 401 and publishes nothing; each test also shows the honest token works, so
 * a hub that refused everything would fail.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { mintAccessToken } from '../../src/mercure/publisher.js';
import {
  type HubProcess,
  publishForm,
  SECRET,
  startHub,
  subscribe,
  token,
  topicUrl,
} from '../support/hub-process.js';

const TOPIC = 'https://example.com/books/1';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const secretBytes = new TextEncoder().encode(SECRET);
const everything = { mercure: { publish: ['*'], subscribe: ['*'] } };

/** Publishes one update with the token and returns the status. */
async function tryPublish(hub: HubProcess, bearer: string): Promise<number> {
  return (
    await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', 'x'],
      ],
      bearer,
    )
  ).status;
}

describe('JWT attacks on a hub with an HS256 secret', () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, { args: ['--anonymous'] });
  });
  after(() => hub.stop('SIGKILL'));

  test('the honest token publishes (the control for every refusal below)', async () => {
    assert.equal(await tryPublish(hub, await token({ publish: ['*'] })), 200);
  });

  test('alg none is refused for publishing and subscribing, with or without a signature part', async (t) => {
    for (const header of [{ alg: 'none' }, { alg: 'None' }, { alg: 'NONE', typ: 'JWT' }]) {
      const payload = { ...everything, exp: now() + 3600 };
      for (const forged of [`${b64(header)}.${b64(payload)}.`, `${b64(header)}.${b64(payload)}`]) {
        assert.equal(await tryPublish(hub, forged), 401, `${JSON.stringify(header)} ${forged}`);
        const s = await subscribe(t, topicUrl(hub.url, [TOPIC]), { authorization: `Bearer ${forged}` });
        assert.equal(s.status, 401, 'a presented bad token is refused even with anonymous subscribers on');
      }
    }
  });

  test('a token signed with another secret, or with its signature cut or swapped, is refused', async () => {
    const other = await new SignJWT(everything)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now() + 3600)
      .sign(new TextEncoder().encode('another-secret-of-sufficient-length-0123'));
    assert.equal(await tryPublish(hub, other), 401);
    const good = await token({ publish: ['*'] });
    const [h, p] = good.split('.');
    const otherSig = other.split('.')[2];
    assert.equal(await tryPublish(hub, `${h}.${p}.${otherSig}`), 401);
    assert.equal(await tryPublish(hub, `${h}.${p}.`), 401);
    assert.equal(await tryPublish(hub, `${h}.${p}`), 401);
  });

  test('a tampered payload (widened claims, extended exp) keeps its signature and is refused', async (t) => {
    const narrow = await token({
      publish: ['https://example.com/other'],
      subscribe: ['https://example.com/other'],
    });
    const [h, , sig] = narrow.split('.');
    const widened = `${h}.${b64({ ...everything, exp: now() + 3600 })}.${sig}`;
    assert.equal(await tryPublish(hub, widened), 401);
    const s = await subscribe(t, topicUrl(hub.url, [TOPIC]), { authorization: `Bearer ${widened}` });
    assert.equal(s.status, 401);
    // The narrow token itself is valid: it just may not publish this topic.
    assert.equal(await tryPublish(hub, narrow), 403);
    // A header swapped to another HMAC algorithm does not verify either.
    const reheaded = `${b64({ alg: 'HS512' })}.${narrow.split('.')[1]}.${sig}`;
    assert.equal(await tryPublish(hub, reheaded), 401);
  });

  test('expired and not-yet-valid tokens are refused with the matching description', async (t) => {
    const expired = await new SignJWT(everything)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now() - 600)
      .sign(secretBytes);
    const early = await new SignJWT(everything)
      .setProtectedHeader({ alg: 'HS256' })
      .setNotBefore(now() + 600)
      .setExpirationTime(now() + 3600)
      .sign(secretBytes);
    const e = await publishForm(hub.url, [['topic', TOPIC]], expired);
    assert.equal(e.status, 401);
    assert.match(e.headers.get('www-authenticate') ?? '', /error="invalid_token".*expired/);
    const n = await publishForm(hub.url, [['topic', TOPIC]], early);
    assert.equal(n.status, 401);
    assert.match(n.headers.get('www-authenticate') ?? '', /not valid yet/);
    for (const bad of [expired, early]) {
      const s = await subscribe(t, topicUrl(hub.url, [TOPIC]), { authorization: `Bearer ${bad}` });
      assert.equal(s.status, 401);
    }
  });

  test('a 1.0 access token for another audience, or without at+jwt, is refused; the right one works', async () => {
    const right = await mintAccessToken(SECRET, { audience: hub.url, publish: [{ match: TOPIC }] });
    const wrongAudience = await mintAccessToken(SECRET, {
      audience: 'https://other-hub.example/.well-known/mercure',
      publish: [{ match: TOPIC }],
    });
    const json = (bearer: string) =>
      fetch(hub.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ topic: TOPIC, data: 'x' }),
      }).then((r) => r.status);
    assert.equal(await json(right), 200);
    assert.equal(await json(wrongAudience), 401);
    // The same claims without typ at+jwt (an ID token, say) are not an access token.
    const noTyp = await new SignJWT({
      authorization_details: [{ type: 'mercure', actions: ['publish'], topics: [{ match: TOPIC }] }],
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setAudience(hub.url)
      .setExpirationTime(now() + 3600)
      .sign(secretBytes);
    // Read as a 0.x token instead, it has no `mercure` claim, so it may publish nothing.
    assert.equal(await json(noTyp), 403);
  });
});

describe('JWT attacks on a hub with an RS256 public key', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, { keyArgs: ['--jwt-alg', 'RS256'], env: { CRIER_JWT_KEY: pem } });
  });
  after(() => hub.stop('SIGKILL'));

  test('an RS256 token signed with the private key publishes', async () => {
    const good = await new SignJWT(everything)
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime(now() + 3600)
      .sign(privateKey);
    assert.equal(await tryPublish(hub, good), 200);
  });

  test('HS/RS key confusion: an HS256 token whose HMAC key is the public key PEM is refused', async () => {
    for (const keyText of [pem, pem.trim(), publicKey.export({ type: 'spki', format: 'der' })]) {
      const key = typeof keyText === 'string' ? new TextEncoder().encode(keyText) : new Uint8Array(keyText);
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const forged = await new SignJWT(everything)
          .setProtectedHeader({ alg })
          .setExpirationTime(now() + 3600)
          .sign(key);
        assert.equal(await tryPublish(hub, forged), 401, alg);
      }
    }
  });

  test('a token signed by another RSA key is refused', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = await new SignJWT(everything)
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime(now() + 3600)
      .sign(other);
    assert.equal(await tryPublish(hub, forged), 401);
  });
});

describe('JWT roles and issuers', () => {
  const PUBLISHER_KEY = 'publisher-only-secret-0123456789-abcdefgh';
  const SUBSCRIBER_KEY = 'subscriber-only-secret-0123456789-abcdef';
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, {
      keyArgs: ['--publisher-jwt-key', PUBLISHER_KEY, '--subscriber-jwt-key', SUBSCRIBER_KEY],
      args: ['--issuer', 'https://issuer.example'],
    });
  });
  after(() => hub.stop('SIGKILL'));

  test('a token signed with the subscriber key cannot publish, whatever its claims', async () => {
    const { mintToken } = await import('../../src/mercure/publisher.js');
    assert.equal(await tryPublish(hub, await mintToken(SUBSCRIBER_KEY, { publish: ['*'] })), 401);
    assert.equal(await tryPublish(hub, await mintToken(PUBLISHER_KEY, { publish: ['*'] })), 200);
  });

  test('a 1.0 token from an issuer the hub does not accept is refused', async () => {
    const mint = (issuer: string) =>
      mintAccessToken(PUBLISHER_KEY, { audience: hub.url, issuer, publish: [{ match: TOPIC }] });
    assert.equal(await tryPublish(hub, await mint('https://attacker.example')), 401);
    assert.equal(await tryPublish(hub, await mint('https://issuer.example')), 200);
  });
});
