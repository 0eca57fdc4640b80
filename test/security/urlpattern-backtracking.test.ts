/**
 * Regression test for a denial of service, fixed in src/topics/url-pattern.ts (URL patterns are now matched
 * by a linear automaton, not by the polyfill's regular expressions).
 *
 * A subscriber chooses its URL patterns (`match_urlpattern`, Mercure 1.0), anonymously when anonymous
 * subscribers are on. URL patterns ran on urlpattern-polyfill's backtracking regular expressions, and
 * wildcards separated by a literal (`*e*e*e…x`) backtracked polynomially in the topic length: matching a
 * 300-character topic against `https://example.com/*e*e*e*e*e*e*e*x` took hours. One such subscription
 * made every publish of a topic under its literal prefix stall the hub's event loop.
 *
 * The test holds such a subscription and publishes one long topic; it expects the publish to be answered and
 * delivered (milliseconds on a matcher with linear work). The per-test timeout is a liveness bound, not a
 * performance assertion.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type HubProcess,
  publishForm,
  startHub,
  subscribe,
  token,
  topicUrl,
} from '../support/hub-process.js';

describe('URL pattern matching work is bounded', () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, { args: ['--anonymous'] });
  });
  after(() => hub.stop('SIGKILL'));

  test('an anonymous subscriber pattern with many wildcards does not stall publishing', {
    timeout: 30_000,
  }, async (t) => {
    const evil = await subscribe(
      t,
      `${hub.url}?match_urlpattern=${encodeURIComponent('https://example.com/*e*e*e*e*e*e*e*x')}`,
    );
    assert.equal(evil.status, 200);
    const topic = `https://example.com/${'e'.repeat(300)}y`;
    const victim = await subscribe(t, topicUrl(hub.url, [topic]));
    const publisher = await token({ publish: ['*'] });
    const answer = await publishForm(
      hub.url,
      [
        ['topic', topic],
        ['data', 'hello'],
      ],
      publisher,
    );
    assert.equal(answer.status, 200);
    const [event] = await victim.waitFor(1);
    assert.equal(event!.data, 'hello');
  });
});
