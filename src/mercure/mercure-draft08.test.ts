/**
 * Crier's Mercure 1.0 mode against draft-dunglas-mercure-08 as spec/mercure.md reads at HEAD. Each test
 * names the section (§) whose rule it shows; docs/mercure.md has the table "rule → section → test".
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { accessToken, legacyToken, publish, SECRET, startHub, subscribe } from './hub.test-helpers.js';
import type { MercureServer } from './server.js';

const q = (params: Array<[string, string]>) => new URLSearchParams(params).toString();
const DETAIL = 'https://mercure.rocks/authorization-detail';

/** A draft-08 token with the given `authorization_details`, as an issuer would write it. */
const rawToken = (hub: MercureServer, details: unknown) =>
  new SignJWT({ authorization_details: details })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setAudience(hub.url)
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

const publisherToken = (hub: MercureServer) => accessToken(hub, { publish: [{ match: '*' }] });

/** Sends a raw request (any method, e.g. QUERY) and reads the first SSE event's data, or the status. */
function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{
  status: number;
  headers: Record<string, unknown>;
  firstData: () => Promise<string>;
  close(): void;
}> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      const waiters: Array<(d: string) => void> = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const m = /^data: (.*)$/m.exec(text);
        if (m !== null) for (const w of waiters.splice(0)) w(m[1]!);
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        firstData: () => new Promise((r) => waiters.push(r)),
        close: () => req.destroy(),
      });
    });
    req.end(body);
  });
}

describe('draft-08 §5 Publication: canonical and alternate topics (189684e)', () => {
  test('§5: several topic fields are one update; subscribers of the canonical and of an alternate topic both receive it', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous']);
    const canonical = await subscribe(t, `${hub.url}?${q([['match', 'https://example.com/books/1']])}`);
    const alternate = await subscribe(t, `${hub.url}?${q([['match', 'https://example.com/alt/1']])}`);
    const res = await publish(
      hub,
      [
        ['topic', 'https://example.com/books/1'],
        ['topic', 'https://example.com/alt/1'],
        ['data', 'one'],
      ],
      await publisherToken(hub),
    );
    assert.equal(res.status, 200, res.body);
    assert.equal((await canonical.next()).data, 'one');
    assert.equal((await alternate.next()).data, 'one');
  });

  test('§5: every topic value is validated — a control character in an alternate topic is 400', async (t) => {
    const hub = await startHub(t, ['--protocol', '08']);
    const res = await publish(
      hub,
      [
        ['topic', 'https://example.com/ok'],
        ['topic', 'https://example.com/bad\u200b'],
      ],
      await publisherToken(hub),
    );
    assert.equal(res.status, 400);
  });

  test('§5: more topic fields than the hub accepts is 413 Content Too Large', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--max-topics', '10']);
    const fields = Array.from({ length: 11 }, (_, i): [string, string] => ['topic', `t${i}`]);
    const res = await publish(hub, fields, await publisherToken(hub));
    assert.equal(res.status, 413);
    assert.match(res.body, /most accepted is 10/);
  });

  test('§5, §13.3: a topic in the reserved namespace is 400 for any token, alternate topics too, percent-encoded and absolute forms included', async (t) => {
    const hub = await startHub(t, ['--protocol', '08']);
    const token = await publisherToken(hub);
    for (const topic of [
      '/.well-known/mercure/subscriptions/exact/x/y',
      'https://other.example/.well-known/%6Dercure/x',
      '/.well-known/mercure/../mercure/x',
      '/.well-known/mercure',
    ]) {
      const alone = await publish(hub, [['topic', topic]], token);
      assert.equal(alone.status, 400, topic);
      assert.match(alone.body, /reserved/);
      const asAlternate = await publish(
        hub,
        [
          ['topic', 'https://example.com/ok'],
          ['topic', topic],
        ],
        token,
      );
      assert.equal(asAlternate.status, 400, topic);
    }
  });

  test('§5, §4: a topic that is exactly "*" is 400, canonical or alternate', async (t) => {
    const hub = await startHub(t, ['--protocol', '08']);
    const token = await publisherToken(hub);
    assert.equal((await publish(hub, [['topic', '*']], token)).status, 400);
    const alternate = await publish(
      hub,
      [
        ['topic', 'a'],
        ['topic', '*'],
      ],
      token,
    );
    assert.equal(alternate.status, 400);
    assert.equal((await publish(hub, [['topic', '*x']], token)).status, 200, 'only exactly * is reserved');
  });

  test('§5, §13.3: type=mercure is 400 (a publisher cannot forge hub events)', async (t) => {
    const hub = await startHub(t, ['--protocol', '08']);
    const res = await publish(
      hub,
      [
        ['topic', 'a'],
        ['type', 'mercure'],
      ],
      await publisherToken(hub),
    );
    assert.equal(res.status, 400);
    assert.match(res.body, /reserved/);
  });

  test('§6.5: publishing needs a publish grant on every topic; one topic outside the grant is 403 and nothing is dispatched', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous']);
    const stream = await subscribe(t, `${hub.url}?match=*`);
    const narrow = await accessToken(hub, { publish: [{ match: 'https://example.com/a' }] });
    const refused = await publish(
      hub,
      [
        ['topic', 'https://example.com/a'],
        ['topic', 'https://example.com/b'],
        ['data', 'refused'],
      ],
      narrow,
    );
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    const both = await accessToken(hub, {
      publish: [{ match: 'https://example.com/a' }, { match: 'https://example.com/b' }],
    });
    const ok = await publish(
      hub,
      [
        ['topic', 'https://example.com/a'],
        ['topic', 'https://example.com/b'],
        ['data', 'allowed'],
      ],
      both,
    );
    assert.equal(ok.status, 200);
    assert.equal((await stream.next()).data, 'allowed', 'the refused update was never dispatched');
  });

  test("§6.6: the spec's example — a private update reaches a subscriber granted only its alternate topic", async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous']);
    const routing = q([['match_urlpattern', 'https://example.com/books/:id']]);
    const user42 = await subscribe(t, `${hub.url}?${routing}`, {
      authorization: `Bearer ${await accessToken(hub, {
        subscribe: [{ match: 'https://example.com/users/42/*', match_type: 'urlpattern' }],
      })}`,
    });
    const user43 = await subscribe(t, `${hub.url}?${routing}`, {
      authorization: `Bearer ${await accessToken(hub, {
        subscribe: [{ match: 'https://example.com/users/43/*', match_type: 'urlpattern' }],
      })}`,
    });
    const token = await publisherToken(hub);
    const res = await publish(
      hub,
      [
        ['topic', 'https://example.com/books/1'],
        ['topic', 'https://example.com/users/42/books/1'],
        ['private', 'on'],
        ['data', 'for 42'],
      ],
      token,
    );
    assert.equal(res.status, 200, res.body);
    await publish(
      hub,
      [
        ['topic', 'https://example.com/books/2'],
        ['data', 'public'],
      ],
      token,
    );
    assert.equal((await user42.next()).data, 'for 42');
    assert.equal((await user42.next()).data, 'public');
    assert.equal((await user43.next()).data, 'public', 'user 43 is granted no topic of the private update');
  });
});

describe('draft-08 §3 Subscription', () => {
  test('§3: an unsupported match* parameter (any case) is 400', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous']);
    for (const name of ['match_regex', 'MATCH', 'matchTopic', 'Match_exact', 'match_URLPattern']) {
      assert.equal((await subscribe(t, `${hub.url}?${q([[name, 'x']])}`)).status, 400, name);
    }
  });

  test('§3: control and format characters in matcher values are 400', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous']);
    for (const value of ['a\u0000', 'a\u007f', 'a\u0085', 'a\u200e', 'a\ufeff']) {
      assert.equal((await subscribe(t, `${hub.url}?${q([['match', value]])}`)).status, 400);
      assert.equal(
        (await subscribe(t, `${hub.url}?${q([['match_urlpattern', `https://x/${value}`]])}`)).status,
        400,
      );
    }
  });

  test('§3: QUERY carries the matchers in a form body, merged with the query component; the query last_event_id wins over the body one, the Last-Event-ID header over both', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous']);
    const token = await publisherToken(hub);
    for (const id of ['e1', 'e2', 'e3']) {
      await publish(
        hub,
        [
          ['topic', 'https://example.com/q'],
          ['data', id],
          ['id', id],
        ],
        token,
      );
    }
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const bodyOnly = await rawRequest(
      hub.url,
      'QUERY',
      form,
      q([
        ['match', 'https://example.com/q'],
        ['last_event_id', 'e1'],
      ]),
    );
    t.after(() => bodyOnly.close());
    assert.equal(bodyOnly.status, 200);
    assert.equal(
      await bodyOnly.firstData(),
      'e2',
      "the body's last_event_id applies when the query has none",
    );
    const both = await rawRequest(
      `${hub.url}?last_event_id=e2`,
      'QUERY',
      form,
      q([
        ['match', 'https://example.com/q'],
        ['last_event_id', 'e1'],
      ]),
    );
    t.after(() => both.close());
    assert.equal(await both.firstData(), 'e3', "the query's last_event_id wins over the body's");
    const header = await rawRequest(
      `${hub.url}?last_event_id=e2`,
      'QUERY',
      { ...form, 'last-event-id': 'e1' },
      q([
        ['match', 'https://example.com/q'],
        ['last_event_id', 'e2'],
      ]),
    );
    t.after(() => header.close());
    assert.equal(await header.firstData(), 'e2', 'the Last-Event-ID header wins over both');
    const union = await rawRequest(
      `${hub.url}?${q([['match', 'https://example.com/from-query']])}`,
      'QUERY',
      form,
      q([['match', 'https://example.com/from-body']]),
    );
    t.after(() => union.close());
    await publish(
      hub,
      [
        ['topic', 'https://example.com/from-query'],
        ['data', 'query'],
      ],
      token,
    );
    assert.equal(await union.firstData(), 'query');
    const bad = await rawRequest(hub.url, 'QUERY', form, q([['match_nope', 'x']]));
    assert.equal(bad.status, 400, 'the body-decoded names follow the reserved-namespace rule');
  });
});

describe('draft-08 §6 Authorization details (f774f38)', () => {
  test('§6.4: only the https://mercure.rocks/authorization-detail type grants rights; a detail of type "mercure" grants nothing', async (t) => {
    const hub = await startHub(t, ['--protocol', '08']);
    const old = await rawToken(hub, [{ type: 'mercure', actions: ['publish'], topics: [{ match: '*' }] }]);
    const refused = await publish(hub, [['topic', 'x']], old);
    assert.equal(refused.status, 403);
    const current = await rawToken(hub, [{ type: DETAIL, actions: ['publish'], topics: [{ match: '*' }] }]);
    assert.equal((await publish(hub, [['topic', 'x']], current)).status, 200);
  });

  test('§6.4: an unknown action is ignored (the others still grant); a non-string action rejects the token with 401 invalid_token', async (t) => {
    const hub = await startHub(t, ['--protocol', '08']);
    const archive = await rawToken(hub, [
      { type: DETAIL, actions: ['publish', 'archive'], topics: [{ match: '*' }] },
    ]);
    assert.equal((await publish(hub, [['topic', 'x']], archive)).status, 200);
    const onlyUnknown = await rawToken(hub, [
      { type: DETAIL, actions: ['archive'], topics: [{ match: '*' }] },
    ]);
    assert.equal((await publish(hub, [['topic', 'x']], onlyUnknown)).status, 403, 'grants nothing');
    const nonString = await rawToken(hub, [
      { type: DETAIL, actions: ['publish', 7], topics: [{ match: '*' }] },
    ]);
    const res = await publish(hub, [['topic', 'x']], nonString);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('§6.4, §6.7: a malformed Mercure detail rejects the whole token (no partial acceptance); match_type is case-sensitive', async (t) => {
    const hub = await startHub(t, ['--protocol', '08']);
    const good = { type: DETAIL, actions: ['publish'], topics: [{ match: '*' }] };
    for (const bad of [
      { type: DETAIL, actions: [], topics: [{ match: 'x' }] },
      { type: DETAIL, actions: ['publish'], topics: ['x'] },
      { type: DETAIL, actions: ['publish'], topics: [{ match: 'x', match_type: 'Exact' }] },
      { type: DETAIL, actions: ['publish'], topics: [{ match: 'https://x/:a', match_type: 'URLPattern' }] },
      { type: DETAIL, actions: ['publish'], topics: [{ match: 'x', match_type: 'regex' }] },
      { type: DETAIL, actions: ['subscribe'], topics: [{ match: 'x' }], payload: 'not an object' },
    ]) {
      const res = await publish(hub, [['topic', 'x']], await rawToken(hub, [good, bad]));
      assert.equal(res.status, 401, JSON.stringify(bad));
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });

  test('§9.2: the protected resource metadata names the detail type, the cookie (mercure_cookie) and, with --subscriptions, mercure_subscriptions', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--subscriptions', '--cookie-name', 'hub_token']);
    const res = await fetch(new URL('/.well-known/oauth-protected-resource/.well-known/mercure', hub.url));
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.resource, hub.url);
    assert.deepEqual(doc.authorization_details_types_supported, [DETAIL]);
    assert.deepEqual(doc.bearer_methods_supported, ['header']);
    assert.equal(doc.mercure_cookie, 'hub_token');
    assert.equal(doc.mercure_subscriptions, true);
    const plain = await startHub(t, ['--protocol', '08']);
    const other = (await (
      await fetch(new URL('/.well-known/oauth-protected-resource/.well-known/mercure', plain.url))
    ).json()) as Record<string, unknown>;
    assert.equal(other.mercure_subscriptions, undefined, 'omitted when the hub does not implement it');
    assert.equal(other.mercure_cookie, 'mercure_access_token');
  });

  test('§6.1.2: the cookie named by --cookie-name carries the token', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--cookie-name', 'hub_token']);
    const token = await accessToken(hub, { subscribe: [{ match: '*' }] });
    assert.equal((await subscribe(t, `${hub.url}?match=x`, { cookie: `hub_token=${token}` })).status, 200);
    assert.equal(
      (await subscribe(t, `${hub.url}?match=x`, { cookie: `mercure_access_token=${token}` })).status,
      401,
    );
  });
});

describe('draft-08 §8 Active subscriptions (0deb240, a17467a, de9cd58)', () => {
  const tracker = (hub: MercureServer) =>
    accessToken(hub, {
      subscribe: [{ match: '/.well-known/mercure/subscriptions{/*}?', match_type: 'urlpattern' }],
    });

  test("§8.1: subscription events are SSE type mercure, plain JSON {id, type: subscription, match_type, match, subscriber, active}, on a topic that encodes !'()* in {match}", async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous', '--subscriptions']);
    const events = await subscribe(
      t,
      `${hub.url}?${q([['match_urlpattern', '/.well-known/mercure/subscriptions/*']])}`,
      { authorization: `Bearer ${await tracker(hub)}` },
    );
    const match = "https://example.com/it's(a)*!";
    const sub = await subscribe(t, `${hub.url}?${q([['match', match]])}`);
    const own = await events.next(); // the tracker's own subscription comes first
    assert.equal(JSON.parse(own.data).match_type, 'urlpattern');
    const event = await events.next();
    assert.equal(event.type, 'mercure');
    const doc = JSON.parse(event.data) as Record<string, unknown>;
    assert.equal(doc['@context'], undefined);
    assert.equal(doc.type, 'subscription');
    assert.equal(doc.match_type, 'exact');
    assert.equal(doc.match, match);
    assert.equal(doc.active, true);
    assert.match(String(doc.subscriber), /^urn:uuid:[0-9a-f-]{36}$/);
    const encoded = `https%3A%2F%2Fexample.com%2Fit%27s%28a%29%2A%21`;
    assert.equal(
      doc.id,
      `/.well-known/mercure/subscriptions/exact/${encoded}/${encodeURIComponent(String(doc.subscriber))}`,
    );
    assert.equal(event.lastEventId !== '', true);
    sub.close();
    const ended = JSON.parse((await events.next()).data) as Record<string, unknown>;
    assert.equal(ended.active, false);
  });

  test('§8.1, §13.5: one token on two connections gets two distinct random subscriber IDs; one connection with two matchers reuses its ID', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--subscriptions']);
    const token = await accessToken(hub, { subscribe: [{ match: '*' }] });
    const auth = { authorization: `Bearer ${token}` };
    await subscribe(
      t,
      `${hub.url}?${q([
        ['match', 'a'],
        ['match', 'b'],
      ])}`,
      auth,
    );
    await subscribe(t, `${hub.url}?${q([['match', 'a']])}`, auth);
    const res = await fetch(`${hub.url}/subscriptions`, { headers: auth });
    const body = (await res.json()) as { subscriptions: Array<{ match: string; subscriber: string }> };
    const ids = body.subscriptions.map((s) => s.subscriber);
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 2, 'two connections, two identifiers');
    const onA = body.subscriptions.filter((s) => s.match === 'a').map((s) => s.subscriber);
    assert.notEqual(onA[0], onA[1]);
    assert.ok(
      ids.every((id) => id !== 'user-1' && !id.includes('user-1')),
      'not derived from sub',
    );
  });

  test('§8.2: the subscriptions API answers application/json, carries the cursor as last-event-id on the rel="mercure" Link header with type and content-type, and exposes Link to other origins', async (t) => {
    const hub = await startHub(t, [
      '--protocol',
      '08',
      '--subscriptions',
      '--cors-origins',
      'https://app.example',
    ]);
    const token = await accessToken(hub, { subscribe: [{ match: '*' }], publish: [{ match: '*' }] });
    await publish(
      hub,
      [
        ['topic', 'https://example.com/x'],
        ['id', 'cursor "1"'],
      ],
      token,
    );
    await subscribe(t, `${hub.url}?${q([['match', 'https://example.com/a']])}`, {
      authorization: `Bearer ${token}`,
    });
    const headers = { authorization: `Bearer ${token}`, origin: 'https://app.example' };
    const all = await fetch(`${hub.url}/subscriptions`, { headers });
    assert.equal(all.status, 200);
    assert.match(all.headers.get('content-type') ?? '', /^application\/json/);
    const link = all.headers.get('link') ?? '';
    assert.ok(link.startsWith(`<${hub.url}>; rel="mercure"`), link);
    assert.match(link, /; type="mercure"/);
    assert.match(link, /; content-type="application\/json"/);
    assert.match(
      link,
      /; last-event-id="urn:uuid:[0-9a-f-]{36}"/,
      'the newest event: the subscription event',
    );
    assert.match(all.headers.get('access-control-expose-headers') ?? '', /\blink\b/);
    const doc = (await all.json()) as Record<string, unknown>;
    assert.equal(doc.id, '/.well-known/mercure/subscriptions');
    assert.equal(doc.type, 'subscriptions');
    assert.equal(doc.last_event_id, undefined, 'the cursor is no longer in the body');
    const [first] = doc.subscriptions as Array<{ id: string }>;
    const single = await fetch(new URL(first!.id, hub.url), { headers });
    const one = (await single.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(one).sort(), ['active', 'id', 'match', 'match_type', 'subscriber', 'type']);
    assert.equal(one.id, first!.id);
  });
});

describe('draft-08 §4.2 URL Pattern', () => {
  test('§4.2: a URL pattern with a regular-expression group matches as the standard says, in linear time', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous']);
    const stream = await subscribe(
      t,
      `${hub.url}?${q([['match_urlpattern', 'https://example.com/books/:id(\\d+)']])}`,
    );
    assert.equal(stream.status, 200, stream.body);
    const token = await publisherToken(hub);
    await publish(
      hub,
      [
        ['topic', 'https://example.com/books/abc'],
        ['data', 'letters'],
      ],
      token,
    );
    await publish(
      hub,
      [
        ['topic', 'https://example.com/books/42'],
        ['data', 'digits'],
      ],
      token,
    );
    assert.equal((await stream.next()).data, 'digits');
  });
});

describe('draft-08 §3, §6.2, §7 (rules that did not change, checked again in 1.0 mode)', () => {
  test('§3: more matchers than the hub accepts is 400', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous', '--max-topics', '2']);
    const res = await subscribe(
      t,
      `${hub.url}?${q([
        ['match', 'a'],
        ['match', 'b'],
        ['match_urlpattern', 'https://x/:y'],
      ])}`,
    );
    assert.equal(res.status, 400);
  });

  test('§6.2: a missing token is 401 with a Bearer challenge carrying resource_metadata and no error code', async (t) => {
    const hub = await startHub(t, ['--protocol', '08']);
    const res = await subscribe(t, `${hub.url}?match=x`);
    assert.equal(res.status, 401);
    const challenge = String(res.headers['www-authenticate']);
    assert.match(challenge, /^Bearer /);
    assert.match(
      challenge,
      /resource_metadata="[^"]*\/\.well-known\/oauth-protected-resource\/\.well-known\/mercure"/,
    );
    assert.doesNotMatch(challenge, /error=/);
  });

  test('§7: with a Last-Event-ID the response carries Mercure-Last-Event-ID, the requested ID when history holds it, earliest when not', async (t) => {
    const hub = await startHub(t, ['--protocol', '08', '--anonymous']);
    await publish(
      hub,
      [
        ['topic', 'r'],
        ['id', 'e1'],
      ],
      await publisherToken(hub),
    );
    const found = await subscribe(t, `${hub.url}?match=r`, { 'last-event-id': 'e1' });
    assert.equal(found.headers['mercure-last-event-id'], 'e1');
    const lost = await subscribe(t, `${hub.url}?match=r&last_event_id=never`);
    assert.equal(lost.headers['mercure-last-event-id'], 'earliest');
  });
});

describe('--protocol auto: 0.x and 1.0 requests on one hub', () => {
  test('each request is read in its own version: topic= subscribers and match= subscribers both get an update with alternate topics; a reserved topic is 403 from a 0.x publisher and 400 from a 1.0 one', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const legacy = await subscribe(t, `${hub.url}?${q([['topic', 'https://example.com/books/{id}']])}`);
    const current = await subscribe(t, `${hub.url}?${q([['match', 'https://example.com/alt/1']])}`);
    const v1 = await publisherToken(hub);
    const res = await publish(
      hub,
      [
        ['topic', 'https://example.com/books/1'],
        ['topic', 'https://example.com/alt/1'],
        ['data', 'both'],
      ],
      v1,
    );
    assert.equal(res.status, 200);
    assert.equal((await legacy.next()).data, 'both');
    assert.equal((await current.next()).data, 'both');
    const reserved = [['topic', '/.well-known/mercure/subscriptions/x']] as Array<[string, string]>;
    assert.equal((await publish(hub, reserved, await legacyToken({ publish: ['*'] }))).status, 403);
    assert.equal((await publish(hub, reserved, v1)).status, 400);
  });
});
