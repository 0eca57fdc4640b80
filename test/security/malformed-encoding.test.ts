/**
 * Input that is not well-formed is refused, not repaired. The form publish endpoint already answered 400 to
 * a body that is not UTF-8 and to a bad percent-escape; two other entries did not:
 * - a JSON publish body with invalid UTF-8 was decoded with U+FFFD in place of the bad bytes, and stored;
 * - a subscribe query with `topic=%zz` or `topic=%FF` subscribed to the literal `%zz`, or to U+FFFD.
 * Both are 400 now, with a message that says what is wrong.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  type HubProcess,
  publishForm,
  startHub,
  subscribe,
  token,
  topicUrl,
} from '../support/hub-process.js';

const TOPIC = 'https://example.com/encoding';

/** A raw GET with the request target exactly as given (no client-side normalization). */
function rawGet(hub: HubProcess, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: hub.port, path: target, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        // A 200 is an event stream that never ends: its head is the answer.
        if (res.statusCode === 200) req.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('malformed encodings', () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, { args: ['--anonymous'] });
  });
  after(() => hub.stop('SIGKILL'));

  test('a JSON publish whose body is not valid UTF-8 is a 400 and publishes nothing', async (t) => {
    const publisher = await token({ publish: ['*'] });
    const stream = await subscribe(t, topicUrl(hub.url, [TOPIC]));
    const utf8 = (s: string) => Buffer.from(s, 'utf8');
    for (const body of [
      Buffer.concat([utf8(`{"topics":["${TOPIC}"],"data":"a`), Buffer.from([0xff]), utf8('b"}')]),
      Buffer.concat([utf8(`{"topics":["${TOPIC}"],"id":"x`), Buffer.from([0xc3]), utf8('"}')]),
      Buffer.concat([utf8(`{"topics":["${TOPIC}`), Buffer.from([0xed, 0xa0, 0x80]), utf8('"],"data":"x"}')]),
      Buffer.concat([utf8(`[{"topics":["${TOPIC}"],"data":"`), Buffer.from([0x80]), utf8('"}]')]),
    ]) {
      const res = await fetch(new URL('/v1/publish', hub.origin), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher}` },
        body,
      });
      const text = await res.text();
      assert.equal(res.status, 400, `${body.toString('hex')}: ${text}`);
      assert.match(text, /UTF-8/);
    }
    const ok = await publishForm(
      hub.url,
      [
        ['topic', TOPIC],
        ['data', 'control é'],
      ],
      publisher,
    );
    assert.equal(ok.status, 200, 'the control: well-formed UTF-8 is fine');
    const [event] = await stream.waitFor(1);
    assert.equal(event!.data, 'control é', 'the first event is the control: nothing refused went out');
  });

  test('a subscribe query with a bad percent-escape or percent-encoded invalid UTF-8 is a 400 (0.x and 1.0)', async () => {
    for (const query of [
      'topic=%zz',
      'topic=%FF',
      'topic=a%E2%82',
      'topic=100%',
      `topic=${encodeURIComponent(TOPIC)}&topic=%FF`,
      'match=%zz',
      'match=%C3%28',
      `topic=${encodeURIComponent(TOPIC)}&lastEventID=%FF`,
    ]) {
      const answer = await rawGet(hub, `/.well-known/mercure?${query}`);
      assert.equal(answer.status, 400, `${query}: ${answer.body}`);
      assert.match(answer.body, /percent-escape|UTF-8/, query);
    }
    for (const query of [
      `topic=${encodeURIComponent('https://example.com/€')}`,
      'topic=https://example.com/books/{id}',
      'topic=a+b',
      `match=${encodeURIComponent(TOPIC)}`,
    ]) {
      assert.equal((await rawGet(hub, `/.well-known/mercure?${query}`)).status, 200, query);
    }
  });
});
