/**
 * JSON can carry strings that are not well-formed Unicode ("\ud800"): they have no UTF-8 form, so the SSE
 * encoder cannot send them. A publish holding one is the publisher's mistake (400), not the hub's (5xx),
 * and nothing is published. Found by test/security/fuzz-publish.test.ts.
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

const TOPIC = 'https://example.com/unicode';

describe('lone surrogates in a JSON publish', () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined);
  });
  after(() => hub.stop('SIGKILL'));

  test('a lone surrogate in data, id, type or a topic is a 400 and publishes nothing', async (t) => {
    const publisher = await token({ publish: ['*'] });
    const stream = await subscribe(t, topicUrl(hub.url, [TOPIC]), { authorization: `Bearer ${publisher}` });
    for (const body of [
      `{"topics":["${TOPIC}"],"data":"a\\ud800b"}`,
      `{"topics":["${TOPIC}"],"id":"\\udc00"}`,
      `{"topics":["${TOPIC}"],"type":"x\\ud83d"}`,
      `{"topics":["${TOPIC}","${TOPIC}/\\ud800"],"data":"x"}`,
      `[{"topics":["${TOPIC}"],"data":"fine"},{"topics":["${TOPIC}"],"data":"\\ud800"}]`,
    ]) {
      const res = await fetch(new URL('/v1/publish', hub.origin), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher}` },
        body,
      });
      assert.equal(res.status, 400, `${body}: ${await res.text()}`);
    }
    const ok = await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', 'a\u{1F600}b'],
      ],
      publisher,
    );
    assert.equal(ok.status, 200, 'the control: a well-formed astral character is fine');
    const [event] = await stream.waitFor(1);
    assert.equal(
      event!.data,
      'a\u{1F600}b',
      'the first event is the control: nothing of the refused batch went out',
    );
  });
});
