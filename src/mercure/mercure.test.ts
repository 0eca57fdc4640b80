import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { headerFromText, textFromHeader } from '../protocol/header-text.js';
import { accessToken, legacyToken, publish, SECRET, startHub, subscribe } from './hub.test-helpers.js';

const q = (params: Array<[string, string]>) => new URLSearchParams(params).toString();

describe('Mercure draft-07 (0.x)', () => {
  test('a form publish answers 200 with the ID as text/plain and reaches a topic subscriber with id, type and retry', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const stream = await subscribe(t, `${hub.url}?${q([['topic', 'https://example.com/books/1']])}`);
    assert.equal(stream.status, 200);
    assert.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8');
    const token = await legacyToken({ publish: ['*'] });
    const res = await publish(
      hub,
      [
        ['topic', 'https://example.com/books/1'],
        ['data', 'a\nb'],
        ['id', 'book-1'],
        ['type', 'change'],
        ['retry', '5000'],
      ],
      token,
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(res.body, 'book-1');
    const event = await stream.next();
    assert.deepEqual([event.data, event.lastEventId, event.type], ['a\nb', 'book-1', 'change']);
  });

  test('a generated ID is a urn:uuid IRI', async (t) => {
    const hub = await startHub(t);
    const res = await publish(
      hub,
      [
        ['topic', 'x'],
        ['data', '1'],
      ],
      await legacyToken({ publish: ['*'] }),
    );
    assert.match(res.body, /^urn:uuid:[0-9a-f-]{36}$/);
  });

  test('URI template selectors match; a later topic of an update is an alternate that subscribers match too', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const byTemplate = await subscribe(t, `${hub.url}?${q([['topic', 'https://example.com/books/{id}']])}`);
    const byAlternate = await subscribe(t, `${hub.url}?${q([['topic', 'https://example.com/alt']])}`);
    const token = await legacyToken({ publish: ['*'] });
    await publish(
      hub,
      [
        ['topic', 'https://example.com/books/7'],
        ['topic', 'https://example.com/alt'],
        ['data', 'seven'],
      ],
      token,
    );
    assert.equal((await byTemplate.next()).data, 'seven');
    assert.equal((await byAlternate.next()).data, 'seven');
  });

  test('an invalid URI template is treated as an exact topic, as the Mercure hub does', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const stream = await subscribe(t, `${hub.url}?${q([['topic', 'broken{']])}`);
    assert.equal(stream.status, 200);
    await publish(
      hub,
      [
        ['topic', 'broken{'],
        ['data', 'literal'],
      ],
      await legacyToken({ publish: ['*'] }),
    );
    assert.equal((await stream.next()).data, 'literal');
  });

  test('a private update reaches only subscribers whose mercure.subscribe selectors match one of its topics', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const anonymous = await subscribe(t, `${hub.url}?topic=*`);
    const allowed = await subscribe(t, `${hub.url}?topic=*`, {
      authorization: `Bearer ${await legacyToken({ subscribe: ['https://example.com/users/42/{+rest}'] })}`,
    });
    const other = await subscribe(t, `${hub.url}?topic=*`, {
      authorization: `Bearer ${await legacyToken({ subscribe: ['https://example.com/users/43/{+rest}'] })}`,
    });
    const token = await legacyToken({ publish: ['*'] });
    await publish(
      hub,
      [
        ['topic', 'https://example.com/users/42/inbox'],
        ['data', 'secret'],
        ['private', ''],
      ],
      token,
    );
    await publish(
      hub,
      [
        ['topic', 'https://example.com/public'],
        ['data', 'public'],
      ],
      token,
    );
    assert.equal((await allowed.next()).data, 'secret');
    assert.equal((await allowed.next()).data, 'public');
    assert.equal(
      (await anonymous.next()).data,
      'public',
      'the anonymous subscriber never saw the private update',
    );
    assert.equal((await other.next()).data, 'public', 'another user never saw it');
  });

  test('anonymous subscribers are refused with 401 and a Bearer challenge unless --anonymous', async (t) => {
    const hub = await startHub(t);
    const refused = await subscribe(t, `${hub.url}?topic=x`);
    assert.equal(refused.status, 401);
    assert.match(String(refused.headers['www-authenticate']), /^Bearer realm="Crier"/);
    const open = await startHub(t, ['--anonymous']);
    assert.equal((await subscribe(t, `${open.url}?topic=x`)).status, 200);
  });

  test('the token is read from the authorization query parameter and the mercureAuthorization cookie', async (t) => {
    const hub = await startHub(t);
    const token = await legacyToken({ subscribe: ['*'] });
    assert.equal((await subscribe(t, `${hub.url}?topic=x&authorization=${token}`)).status, 200);
    assert.equal(
      (await subscribe(t, `${hub.url}?topic=x`, { cookie: `mercureAuthorization=${token}` })).status,
      200,
    );
  });

  test('Last-Event-ID (header or lastEventID) replays what followed; earliest replays all; the response header names the requested ID when history holds it, earliest otherwise, the newest ID without a resume', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const token = await legacyToken({ publish: ['*'] });
    for (const id of ['e1', 'e2', 'e3'])
      await publish(
        hub,
        [
          ['topic', 'r'],
          ['data', id],
          ['id', id],
        ],
        token,
      );
    const byHeader = await subscribe(t, `${hub.url}?topic=r`, { 'last-event-id': 'e1' });
    assert.equal(byHeader.headers['last-event-id'], 'e1');
    assert.equal((await subscribe(t, `${hub.url}?topic=r`)).headers['last-event-id'], 'e3');
    const lost = await subscribe(t, `${hub.url}?topic=r&lastEventID=never-issued`);
    assert.equal(lost.headers['last-event-id'], 'earliest');
    assert.equal(lost.headers['crier-replay'], 'unknown');
    assert.equal((await byHeader.next()).data, 'e2');
    assert.equal((await byHeader.next()).data, 'e3');
    const byQuery = await subscribe(t, `${hub.url}?topic=r&lastEventID=e2`);
    assert.equal((await byQuery.next()).data, 'e3');
    const all = await subscribe(t, `${hub.url}?topic=r&lastEventID=earliest`);
    assert.equal(all.headers['last-event-id'], 'earliest');
    assert.deepEqual(
      [(await all.next()).data, (await all.next()).data, (await all.next()).data],
      ['e1', 'e2', 'e3'],
    );
  });

  test('IDs with any characters but CR, LF and NUL (é, €, emoji) go out as UTF-8 in the Last-Event-ID response header and resume from the header and the query, in both protocol versions', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const token = await legacyToken({ publish: ['*'] });
    const ids = ['café', 'x€y', 'niño 🎉'];
    for (const id of ids) {
      const res = await publish(
        hub,
        [
          ['topic', 'u'],
          ['data', id],
          ['id', id],
        ],
        token,
      );
      assert.equal(res.status, 200, res.body);
      assert.equal(res.body, id);
    }
    // Subscribing still works (a non-Latin-1 ID once made every later subscribe a 500).
    const fresh = await subscribe(t, `${hub.url}?topic=u`);
    assert.equal(fresh.status, 200);
    const raw = fresh.headers['last-event-id'] as string;
    assert.equal(Buffer.from(raw, 'latin1').toString('utf8'), 'niño 🎉');
    assert.equal(textFromHeader(raw), 'niño 🎉');
    // A browser sends Last-Event-ID as the ID's UTF-8 bytes.
    const byHeader = await subscribe(t, `${hub.url}?topic=u`, { 'last-event-id': headerFromText('café') });
    assert.deepEqual(
      [(await byHeader.next()).lastEventId, (await byHeader.next()).lastEventId],
      ['x€y', 'niño 🎉'],
    );
    const byQuery = await subscribe(
      t,
      `${hub.url}?${q([
        ['topic', 'u'],
        ['lastEventID', 'x€y'],
      ])}`,
    );
    assert.equal((await byQuery.next()).lastEventId, 'niño 🎉');
    const v1 = await subscribe(
      t,
      `${hub.url}?${q([
        ['topic', 'u'],
        ['last_event_id', 'café'],
      ])}`,
    );
    // A resume anchor found in history: the requested ID itself.
    assert.equal(textFromHeader(v1.headers['mercure-last-event-id'] as string), 'café');
    assert.equal((await v1.next()).lastEventId, 'x€y');
  });

  test('replay applies the private rule too: a replayed private update reaches only an authorized subscriber', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const token = await legacyToken({ publish: ['*'] });
    await publish(
      hub,
      [
        ['topic', 'p'],
        ['data', 'start'],
        ['id', 's'],
      ],
      token,
    );
    await publish(
      hub,
      [
        ['topic', 'p'],
        ['data', 'secret'],
        ['private', 'on'],
      ],
      token,
    );
    await publish(
      hub,
      [
        ['topic', 'p'],
        ['data', 'public'],
      ],
      token,
    );
    const anonymous = await subscribe(t, `${hub.url}?topic=p`, { 'last-event-id': 's' });
    assert.equal((await anonymous.next()).data, 'public');
    const allowed = await subscribe(t, `${hub.url}?topic=p`, {
      'last-event-id': 's',
      authorization: `Bearer ${await legacyToken({ subscribe: ['p'] })}`,
    });
    assert.equal((await allowed.next()).data, 'secret');
    assert.equal((await allowed.next()).data, 'public');
  });

  test('an empty hub answers Last-Event-ID: earliest', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    assert.equal((await subscribe(t, `${hub.url}?topic=x`)).headers['last-event-id'], 'earliest');
  });

  test('a subscriber connection is closed when its token expires', async (t) => {
    const hub = await startHub(t);
    const token = await legacyToken({ subscribe: ['*'] }, { expiresIn: 1 });
    const stream = await subscribe(t, `${hub.url}?topic=x`, { authorization: `Bearer ${token}` });
    assert.equal(stream.status, 200);
    await stream.ended;
  });

  test('responses carry the discovery Link header', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const stream = await subscribe(t, `${hub.url}?topic=x`);
    assert.equal(stream.headers.link, `<${hub.url}>; rel="mercure"`);
  });

  test('CORS: an allowed origin is echoed with credentials, never *; others get no CORS headers', async (t) => {
    const hub = await startHub(t, ['--anonymous', '--cors-origins', 'https://app.example']);
    const ok = await subscribe(t, `${hub.url}?topic=x`, { origin: 'https://app.example' });
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
    const foreign = await subscribe(t, `${hub.url}?topic=x`, { origin: 'https://evil.example' });
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    const preflight = await fetch(hub.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
  });

  test('a cookie-authenticated publish must come from an allowed origin', async (t) => {
    const hub = await startHub(t, ['--publish-origins', 'https://app.example']);
    const cookie = `mercureAuthorization=${await legacyToken({ publish: ['*'] })}`;
    const foreign = await publish(hub, [['topic', 'x']], undefined, {
      cookie,
      origin: 'https://evil.example',
    });
    assert.equal(foreign.status, 403);
    const none = await publish(hub, [['topic', 'x']], undefined, { cookie });
    assert.equal(none.status, 403);
    const allowed = await publish(hub, [['topic', 'x']], undefined, {
      cookie,
      origin: 'https://app.example',
    });
    assert.equal(allowed.status, 200);
  });
});

describe('Mercure draft-08 (1.0)', () => {
  test('match and match_urlpattern select topics; Mercure-Last-Event-ID names the newest update', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const token = await accessToken(hub, { publish: [{ match: '*' }] });
    await publish(
      hub,
      [
        ['topic', 'https://example.com/first'],
        ['id', 'first'],
      ],
      token,
    );
    const exact = await subscribe(t, `${hub.url}?${q([['match', 'https://example.com/books/1']])}`);
    const pattern = await subscribe(
      t,
      `${hub.url}?${q([['match_urlpattern', 'https://example.com/books/:id']])}`,
    );
    assert.equal(exact.headers['mercure-last-event-id'], 'first');
    const res = await publish(
      hub,
      [
        ['topic', 'https://example.com/books/1'],
        ['data', 'one'],
      ],
      token,
    );
    assert.equal(res.status, 200);
    assert.equal((await exact.next()).data, 'one');
    assert.equal((await pattern.next()).data, 'one');
  });

  test('an unknown match_* parameter and an invalid URL pattern are 400', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    assert.equal((await subscribe(t, `${hub.url}?match_regex=a`)).status, 400);
    assert.equal(
      (await subscribe(t, `${hub.url}?match_urlpattern=${encodeURIComponent('https://x/(')}`)).status,
      400,
    );
  });

  test('a publish with several topics is one update in 1.0 too (draft-08 §5, canonical and alternate topics)', async (t) => {
    const hub = await startHub(t);
    const token = await accessToken(hub, { publish: [{ match: '*' }] });
    const res = await publish(
      hub,
      [
        ['topic', 'a'],
        ['topic', 'b'],
      ],
      token,
    );
    assert.equal(res.status, 200);
  });

  test('private updates follow authorization_details subscribe matchers', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const allowed = await subscribe(t, `${hub.url}?match=*`, {
      authorization: `Bearer ${await accessToken(hub, { subscribe: [{ match: 'https://example.com/users/:id', match_type: 'urlpattern' }] })}`,
    });
    const anonymous = await subscribe(t, `${hub.url}?match=*`);
    const token = await accessToken(hub, { publish: [{ match: '*' }] });
    await publish(
      hub,
      [
        ['topic', 'https://example.com/users/42'],
        ['data', 'secret'],
        ['private', 'on'],
      ],
      token,
    );
    await publish(
      hub,
      [
        ['topic', 'https://example.com/public'],
        ['data', 'public'],
      ],
      token,
    );
    assert.equal((await allowed.next()).data, 'secret');
    assert.equal((await anonymous.next()).data, 'public');
  });

  test('last_event_id replays; a token in the query string is refused', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const token = await accessToken(hub, { publish: [{ match: '*' }] });
    await publish(
      hub,
      [
        ['topic', 'r'],
        ['data', '1'],
        ['id', 'a'],
      ],
      token,
    );
    await publish(
      hub,
      [
        ['topic', 'r'],
        ['data', '2'],
        ['id', 'b'],
      ],
      token,
    );
    const stream = await subscribe(t, `${hub.url}?match=r&last_event_id=a`);
    assert.equal((await stream.next()).data, '2');
    const sub = await accessToken(hub, { subscribe: [{ match: '*' }] });
    assert.equal((await subscribe(t, `${hub.url}?match=r&access_token=${sub}`)).status, 400);
  });

  test('RFC 6750 errors: 401 invalid_token for a bad token, 403 insufficient_scope for a topic outside the grant', async (t) => {
    const hub = await startHub(t);
    const bad = await publish(hub, [['topic', 'x']], 'not.a.token');
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const narrow = await accessToken(hub, { publish: [{ match: 'https://example.com/a' }] });
    const refused = await publish(hub, [['topic', 'https://example.com/b']], narrow);
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
  });

  test('the access-token cookie authenticates a subscriber, and the connection ends when the token expires', async (t) => {
    const hub = await startHub(t);
    const token = await accessToken(hub, { subscribe: [{ match: '*' }] }, 1);
    const stream = await subscribe(t, `${hub.url}?match=x`, { cookie: `mercure_access_token=${token}` });
    assert.equal(stream.status, 200);
    await stream.ended;
  });

  test('the protected resource metadata document is served', async (t) => {
    const hub = await startHub(t);
    const res = await fetch(new URL('/.well-known/oauth-protected-resource/.well-known/mercure', hub.url));
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { resource: string };
    assert.equal(doc.resource, hub.url);
  });
});

describe('bad input changes nothing', () => {
  test('each malformed publish gets its status and message, and no update is stored', async (t) => {
    const hub = await startHub(t, ['--anonymous', '--max-topics', '3', '--max-body', '1KiB']);
    const stream = await subscribe(t, `${hub.url}?topic=*`);
    const token = await legacyToken({ publish: ['*'] });
    const form = async (body: string) => {
      const res = await fetch(hub.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      return { status: res.status, text: await res.text() };
    };
    const cases: Array<[string, number, RegExp]> = [
      ['topic=x&data=%zz', 400, /percent-escape/],
      ['topic=x&data=%C3%28', 400, /invalid UTF-8/],
      ['topic=x&id=a%0Ab', 400, /"id"/],
      ['topic=x&id=a%00b', 400, /"id"/],
      ['topic=x&type=a%0Db', 400, /"type"/],
      ['topic=x&retry=12a', 400, /"retry"/],
      ['topic=x&retry=-1', 400, /"retry"/],
      ['topic=x&id=%23frag', 400, /"#"/],
      ['data=no-topic', 400, /topic/],
      ['topic=a&topic=b&topic=c&topic=d', 400, /most accepted is 3/],
      [`topic=${encodeURIComponent('/.well-known/mercure/subscriptions/x/y')}`, 403, /reserved/],
      [`topic=${encodeURIComponent('https://other.example/.well-known/%6Dercure/x')}`, 403, /reserved/],
      [`topic=x&data=${'a'.repeat(2000)}`, 413, /max-body/],
    ];
    for (const [body, status, message] of cases) {
      const res = await form(body);
      assert.equal(res.status, status, body);
      assert.match(res.text, message, body);
    }
    const expired = await new SignJWT({ mercure: { publish: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(SECRET));
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"mercure":{"publish":["*"]}}').toString('base64url')}.`;
    const wrongKey = await new SignJWT({ mercure: { publish: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes'));
    for (const bad of [expired, none, wrongKey, 'garbage']) {
      const res = await publish(hub, [['topic', 'x']], bad);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
    }
    assert.equal((await publish(hub, [['topic', 'x']], undefined)).status, 401);
    assert.equal((await publish(hub, [['topic', 'x']], await legacyToken({ subscribe: ['*'] }))).status, 403);
    await publish(
      hub,
      [
        ['topic', 'x'],
        ['data', 'the only one'],
      ],
      token,
    );
    assert.equal((await stream.next()).data, 'the only one', 'no refused publish reached the subscriber');
  });

  test('too many topic selectors in a subscription is 400', async (t) => {
    const hub = await startHub(t, ['--anonymous', '--max-topics', '2']);
    const res = await subscribe(t, `${hub.url}?topic=a&topic=b&topic=c`);
    assert.equal(res.status, 400);
    assert.match(res.body, /More than 2/);
  });
});

describe('conflation (maxRate)', () => {
  test('maxRate in the subscribe query conflates a topic: a burst arrives as its first and latest updates, not all of them', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const stream = await subscribe(
      t,
      `${hub.url}?${q([
        ['topic', 'https://example.com/price'],
        ['maxRate', '1'],
      ])}`,
    );
    assert.equal(stream.status, 200);
    const burst = Array.from({ length: 20 }, (_, i) => `p${i}`);
    for (const data of burst) await hub.hub.publish('https://example.com/price', data);
    const received: string[] = [];
    while (received.at(-1) !== 'p19') received.push((await stream.next()).data);
    assert.equal(received[0], 'p0');
    assert.ok(received.length < burst.length, `conflated, got ${received.join(' ')}`);
  });

  test('a maxRate that is not a positive number is 400', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const res = await subscribe(t, `${hub.url}?topic=x&maxRate=0`);
    assert.equal(res.status, 400);
    assert.match(res.body, /maxRate/);
  });
});
