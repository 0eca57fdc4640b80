import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HubError } from './errors.js';
import { isReservedTopic, parseForm, updateFromForm, validateUpdate } from './update.js';

const hubUrl = new URL('https://hub.example/.well-known/mercure');
const rules = { protocol: '0.x' as const, hubUrl, maxTopics: 10 };

describe('publish validation', () => {
  test('any body either parses into a valid update or is refused with a HubError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const update = validateUpdate(updateFromForm(parseForm(Buffer.from(bytes))), rules);
          assert.ok(update.topics.length > 0);
          assert.doesNotMatch(update.id ?? '', /[\r\n\0]/);
          assert.doesNotMatch(update.event ?? '', /[\r\n\0]/);
        } catch (error) {
          assert.ok(error instanceof HubError, String(error));
          assert.ok(error.status >= 400 && error.status < 500);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('form-like bodies with random fields: accepted ones keep their fields exactly', () => {
    const field = fc.constantFrom('topic', 'data', 'id', 'type', 'retry', 'private', 'other');
    fc.assert(
      fc.property(fc.array(fc.tuple(field, fc.string({ maxLength: 12 })), { maxLength: 8 }), (pairs) => {
        const body = Buffer.from(new URLSearchParams(pairs).toString());
        try {
          const update = validateUpdate(updateFromForm(parseForm(body)), rules);
          assert.deepEqual(
            update.topics,
            pairs.filter(([k]) => k === 'topic').map(([, v]) => v),
          );
          assert.equal(
            update.private === true,
            pairs.some(([k]) => k === 'private'),
          );
        } catch (error) {
          assert.ok(error instanceof HubError, String(error));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('the reserved namespace is judged on the resolved, normalized path, whatever the host', () => {
    for (const topic of [
      '/.well-known/mercure',
      '/.well-known/mercure/subscriptions/a/b',
      'https://other.example/.well-known/mercure/x',
      '/.well-known/%6Dercure/x',
      '/.well-known/x/../mercure/y',
      'mercure/relative',
    ]) {
      assert.equal(isReservedTopic(topic, hubUrl), true, topic);
    }
    for (const topic of ['/.well-known/mercurex', 'https://example.com/books/1', 'plain', 'urn:isbn:1']) {
      assert.equal(isReservedTopic(topic, hubUrl), false, topic);
    }
  });
});
