/**
 * Browser-borne attacks: a cookie-authenticated publish forged by a foreign page (CSRF) and cross-origin
 * reads through CORS. The cookie goes with every request a browser makes to the hub, so a publish that
 * relies on it must come from an allowed origin; a disallowed origin must get no CORS grant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type HubProcess, startHub, token, topicUrl } from '../support/hub-process.js';

const APP = 'https://app.example';
const EVIL = 'https://evil.example';
const TOPIC = 'https://example.com/feed';

describe('cookie-authenticated publishes and CORS', () => {
  let hub: HubProcess;
  let cookie: string;
  before(async () => {
    hub = await startHub(undefined, {
      args: ['--publish-origins', APP, '--cors-origins', APP, '--anonymous'],
    });
    cookie = `mercureAuthorization=${await token({ publish: ['*'] })}`;
  });
  after(() => hub.stop('SIGKILL'));

  const post = (headers: Record<string, string>) =>
    fetch(hub.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ topic: TOPIC, data: 'x' }),
    });

  test('a cookie publish from a foreign Origin, a foreign Referer, the null origin or no origin at all is 403', async () => {
    const cases: Array<Record<string, string>> = [
      { origin: EVIL },
      { origin: 'null' },
      { origin: `${APP}.evil.example` },
      { origin: 'http://app.example' }, // another scheme is another origin
      { referer: `${EVIL}/page` },
      {},
    ];
    for (const headers of cases) {
      const res = await post({ cookie, ...headers });
      assert.equal(res.status, 403, JSON.stringify(headers));
    }
  });

  test('a cookie publish from the allowed Origin or Referer is accepted', async () => {
    assert.equal((await post({ cookie, origin: APP })).status, 200);
    assert.equal((await post({ cookie, referer: `${APP}/admin/page?x=1` })).status, 200);
  });

  test('a publish with the token in the Authorization header is not subject to the origin check', async () => {
    // A foreign page cannot make a browser send a header it does not know: this is not CSRF-able.
    const bearer = await token({ publish: ['*'] });
    assert.equal((await post({ authorization: `Bearer ${bearer}`, origin: EVIL })).status, 200);
  });

  test('a CORS preflight from a disallowed origin gets no Access-Control-Allow-Origin; an allowed one does', async () => {
    const preflight = (origin: string) =>
      fetch(hub.url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const evil = await preflight(EVIL);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.equal(evil.headers.get('access-control-allow-credentials'), null);
    assert.equal(evil.headers.get('access-control-allow-methods'), null);
    const good = await preflight(APP);
    assert.equal(good.headers.get('access-control-allow-origin'), APP);
    assert.equal(good.headers.get('access-control-allow-credentials'), 'true');
    assert.match(good.headers.get('access-control-allow-methods') ?? '', /POST/);
  });

  test('a subscribe and a publish from a disallowed origin carry no CORS grant, never a wildcard', async () => {
    const controller = new AbortController();
    const sub = await fetch(topicUrl(hub.url, [TOPIC]), {
      headers: { origin: EVIL },
      signal: controller.signal,
    });
    assert.equal(sub.headers.get('access-control-allow-origin'), null);
    controller.abort();
    const pub = await post({ cookie, origin: EVIL });
    assert.equal(pub.headers.get('access-control-allow-origin'), null);
    const allowed = new AbortController();
    const ok = await fetch(topicUrl(hub.url, [TOPIC]), { headers: { origin: APP }, signal: allowed.signal });
    assert.equal(ok.headers.get('access-control-allow-origin'), APP);
    assert.match(ok.headers.get('vary') ?? '', /origin/i);
    allowed.abort();
  });
});
