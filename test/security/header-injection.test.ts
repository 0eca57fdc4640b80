/**
 * Header injection through the fields that become SSE lines: `id`, `event` (the Mercure `type`) and the
 * topic. A CR, LF or NUL there would end the line early and let a publisher write fields or whole events of
 * its choosing into every subscriber's stream. The hub must refuse them (400) and publish nothing.
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

const TOPIC = 'https://example.com/injection';
const BREAKS = ['\r', '\n', '\r\n', '\0'];

describe('header injection through id, type and topic', () => {
  let hub: HubProcess;
  let publisher: string;
  before(async () => {
    hub = await startHub(undefined);
    publisher = await token({ publish: ['*'] });
  });
  after(() => hub.stop('SIGKILL'));

  test('a CR, LF, CRLF or NUL in id or type is a 400 on the form and JSON APIs, and nothing reaches the wire', async (t) => {
    const stream = await subscribe(t, topicUrl(hub.url, [TOPIC]), { authorization: `Bearer ${publisher}` });
    assert.equal(stream.status, 200);
    const attempts: Array<{ field: string; value: string }> = [];
    for (const br of BREAKS) {
      attempts.push({ field: 'id', value: `evil${br}event: injected${br}${br}data: injected` });
      attempts.push({ field: 'type', value: `evil${br}id: injected${br}${br}data: injected` });
      attempts.push({ field: 'id', value: `${br}` });
      attempts.push({ field: 'type', value: `x${br}` });
    }
    for (const { field, value } of attempts) {
      const form = await publishForm(
        hub.url,
        [
          ['topic', TOPIC],
          ['data', 'injected'],
          [field, value],
        ],
        publisher,
      );
      assert.equal(form.status, 400, `form ${field}=${JSON.stringify(value)}: ${form.body}`);
      const json = await fetch(new URL('/v1/publish', hub.origin), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher}` },
        body: JSON.stringify({ topics: [TOPIC], data: 'injected', [field]: value }),
      });
      assert.equal(json.status, 400, `JSON ${field}=${JSON.stringify(value)}: ${await json.text()}`);
    }
    // A topic with a line break is refused too (it is echoed in subscription events and the API).
    const badTopic = await publishForm(hub.url, [['topic', `${TOPIC}\r\nid: injected`]], publisher);
    assert.equal(badTopic.status, 400);

    // A good publish after all of them is the first and only thing on the wire.
    const ok = await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', 'clean'],
        ['id', 'clean-1'],
        ['type', 'clean'],
      ],
      publisher,
    );
    assert.equal(ok.status, 200);
    const [event] = await stream.waitFor(1);
    assert.deepEqual(event, { type: 'clean', data: 'clean', lastEventId: 'clean-1' });
    assert.equal(stream.events.length, 1);
    assert.doesNotMatch(stream.raw, /injected/);
    assert.doesNotMatch(stream.raw, /evil/);
  });

  test('CR and LF in data are split into data lines, never into other fields', async (t) => {
    const stream = await subscribe(t, topicUrl(hub.url, [TOPIC]), { authorization: `Bearer ${publisher}` });
    const data = 'line1\r\nid: injected\revent: injected\n\ndata: injected';
    const ok = await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', data],
        ['id', 'data-1'],
      ],
      publisher,
    );
    assert.equal(ok.status, 200);
    const [event] = await stream.waitFor(1);
    assert.equal(event!.type, 'message');
    assert.equal(event!.lastEventId, 'data-1');
    assert.equal(event!.data, 'line1\nid: injected\nevent: injected\n\ndata: injected');
    for (const line of stream.raw.split(/\r\n|\r|\n/)) {
      if (/injected/.test(line)) assert.match(line, /^data:/, `line ${JSON.stringify(line)}`);
    }
  });
});
