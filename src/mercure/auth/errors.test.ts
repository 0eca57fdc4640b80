import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthError, bearerChallenge, sanitizeDescription } from './errors.js';
import { protectedResourceMetadataUrl } from './metadata.js';

describe('RFC 6750 challenges', () => {
  test('a missing token gets a challenge with the realm and no error code', () => {
    const error = new AuthError('TOKEN_MISSING', 'needs a token', { realm: 'example' });
    assert.equal(error.status, 401);
    assert.equal(error.wwwAuthenticate, 'Bearer realm="example"');
  });

  test('an invalid token gets 401 with error and error_description, in the RFC 6750 §3 order', () => {
    const error = new AuthError('INVALID_TOKEN', 'exp in the past', {
      realm: 'example',
      description: 'The access token expired',
    });
    assert.equal(error.status, 401);
    assert.equal(
      error.wwwAuthenticate,
      'Bearer realm="example", error="invalid_token", error_description="The access token expired"',
    );
    assert.equal(error.message, 'exp in the past', 'the detailed reason stays in the message, for logs');
  });

  test('insufficient scope is 403 and a malformed request 400, each with its error code', () => {
    assert.equal(new AuthError('INSUFFICIENT_SCOPE', 'no').status, 403);
    assert.equal(
      new AuthError('INSUFFICIENT_SCOPE', 'no').wwwAuthenticate,
      'Bearer error="insufficient_scope", error_description="no"',
    );
    assert.equal(new AuthError('INVALID_REQUEST', 'two').status, 400);
    assert.equal(
      new AuthError('INVALID_REQUEST', 'two').wwwAuthenticate,
      'Bearer error="invalid_request", error_description="two"',
    );
  });

  test('CSRF refusals and unavailable keys carry no challenge', () => {
    assert.equal(new AuthError('ORIGIN_NOT_ALLOWED', 'x').wwwAuthenticate, undefined);
    assert.equal(new AuthError('ORIGIN_REQUIRED', 'x').status, 403);
    assert.equal(new AuthError('KEYS_UNAVAILABLE', 'x').status, 503);
    assert.equal(new AuthError('KEYS_UNAVAILABLE', 'x').wwwAuthenticate, undefined);
  });

  test('the resource_metadata parameter follows the realm (RFC 9728 §5.1)', () => {
    assert.equal(
      bearerChallenge({ realm: 'r', resourceMetadata: 'https://h/.well-known/oauth-protected-resource' }),
      'Bearer realm="r", resource_metadata="https://h/.well-known/oauth-protected-resource"',
    );
    assert.equal(bearerChallenge({}), 'Bearer');
  });

  test('descriptions keep only the characters RFC 6750 allows, so the header cannot be broken', () => {
    assert.equal(
      sanitizeDescription('a "quoted"\\ value\r\nInjected: yes é'),
      'a quoted valueInjected: yes ',
    );
    const error = new AuthError('INVALID_TOKEN', 'x', {
      description: 'bad "token"\r\nSet-Cookie: a=b',
      realm: 'r"\r\n',
    });
    assert.equal(
      error.wwwAuthenticate,
      'Bearer realm="r", error="invalid_token", error_description="bad tokenSet-Cookie: a=b"',
    );
  });
});

describe('protected resource metadata URL (RFC 9728 §3.1)', () => {
  test('inserts the well-known path between the host and the path of the resource', () => {
    assert.equal(
      protectedResourceMetadataUrl('https://hub.example/.well-known/mercure'),
      'https://hub.example/.well-known/oauth-protected-resource/.well-known/mercure',
    );
    assert.equal(
      protectedResourceMetadataUrl('https://hub.example/'),
      'https://hub.example/.well-known/oauth-protected-resource',
    );
    assert.equal(
      protectedResourceMetadataUrl('https://hub.example:8443/a/'),
      'https://hub.example:8443/.well-known/oauth-protected-resource/a',
    );
  });
});
