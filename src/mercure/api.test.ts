import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accessToken, legacyToken, publish, type Stream, startHub, subscribe } from './hub.test-helpers.js';
import { Publisher } from './publisher.js';

/** The next subscription event about the given topic or matcher (a watcher also sees its own). */
async function nextAbout(
  stream: Stream,
  key: 'topic' | 'match',
  value: string,
): Promise<Record<string, unknown>> {
  for (;;) {
    const doc = JSON.parse((await stream.next()).data) as Record<string, unknown>;
    if (doc[key] === value) return doc;
  }
}

describe('subscription events and the subscriptions API', () => {
  test('draft-07: connecting and disconnecting publish private Subscription updates with the payload', async (t) => {
    const hub = await startHub(t, ['--subscriptions']);
    const watcher = await subscribe(
      t,
      `${hub.url}?topic=${encodeURIComponent('/.well-known/mercure/subscriptions{/topic}{/subscriber}')}`,
      {
        authorization: `Bearer ${await legacyToken({ subscribe: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'] })}`,
      },
    );
    const token = await legacyToken({ subscribe: ['https://example.com/a'] }, { payload: { user: 42 } });
    const client = await subscribe(t, `${hub.url}?topic=${encodeURIComponent('https://example.com/a')}`, {
      authorization: `Bearer ${token}`,
    });
    const on = await nextAbout(watcher, 'topic', 'https://example.com/a');
    assert.equal(on['@context'], 'https://mercure.rocks/');
    assert.equal(on.type, 'Subscription');
    assert.equal(on.topic, 'https://example.com/a');
    assert.equal(on.active, true);
    assert.deepEqual(on.payload, { user: 42 });
    assert.match(String(on.subscriber), /^urn:uuid:/);
    assert.equal(
      on.id,
      `/.well-known/mercure/subscriptions/${encodeURIComponent('https://example.com/a')}/${encodeURIComponent(String(on.subscriber))}`,
    );
    client.close();
    const off = await nextAbout(watcher, 'topic', 'https://example.com/a');
    assert.equal(off.active, false);
    assert.equal(off.id, on.id);
  });

  test('draft-07: the API lists active subscriptions, filters by topic and subscriber, and answers 304 to a matching If-None-Match', async (t) => {
    const hub = await startHub(t, ['--subscriptions', '--anonymous']);
    await subscribe(t, `${hub.url}?topic=https%3A%2F%2Fexample.com%2Fa`);
    await subscribe(t, `${hub.url}?topic=b`);
    const auth = {
      authorization: `Bearer ${await legacyToken({ subscribe: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'] })}`,
    };
    const all = await fetch(`${hub.url}/subscriptions`, { headers: auth });
    assert.equal(all.status, 200);
    assert.match(all.headers.get('content-type') ?? '', /^application\/ld\+json/);
    const doc = (await all.json()) as {
      type: string;
      lastEventID: string;
      subscriptions: Array<{ topic: string; subscriber: string }>;
    };
    assert.equal(doc.type, 'Subscriptions');
    assert.equal(doc.subscriptions.length, 2);
    assert.notEqual(doc.lastEventID, 'earliest');
    const etag = all.headers.get('etag')!;
    const again = await fetch(`${hub.url}/subscriptions`, { headers: { ...auth, 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const one = doc.subscriptions.find((s) => s.topic === 'https://example.com/a')!;
    const byTopic = await fetch(`${hub.url}/subscriptions/${encodeURIComponent(one.topic)}`, {
      headers: auth,
    });
    assert.equal(((await byTopic.json()) as { subscriptions: unknown[] }).subscriptions.length, 1);
    const single = await fetch(
      `${hub.url}/subscriptions/${encodeURIComponent(one.topic)}/${encodeURIComponent(one.subscriber)}`,
      { headers: auth },
    );
    assert.equal(((await single.json()) as { subscriber: string }).subscriber, one.subscriber);
    const missing = await fetch(`${hub.url}/subscriptions/nope/${encodeURIComponent('urn:uuid:x')}`, {
      headers: auth,
    });
    assert.equal(missing.status, 404);
  });

  test('the API needs a token whose subscribe grants match the requested URL', async (t) => {
    const hub = await startHub(t, ['--subscriptions', '--anonymous']);
    assert.equal((await fetch(`${hub.url}/subscriptions`)).status, 401);
    const narrow = await legacyToken({ subscribe: ['https://example.com/a'] });
    const res = await fetch(`${hub.url}/subscriptions`, { headers: { authorization: `Bearer ${narrow}` } });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  });

  test('draft-08: events and documents use {match_type}/{match}/{subscriber}; the cursor is last-event-id on the Link header', async (t) => {
    const hub = await startHub(t, ['--subscriptions']);
    const grant = {
      subscribe: [
        {
          match: '/.well-known/mercure/subscriptions/:type/:match/:subscriber',
          match_type: 'urlpattern' as const,
        },
        { match: '/.well-known/mercure/subscriptions' },
      ],
    };
    const auth = { authorization: `Bearer ${await accessToken(hub, grant)}` };
    const watcher = await subscribe(t, `${hub.url}?match=*`, auth);
    await subscribe(t, `${hub.url}?match_urlpattern=${encodeURIComponent('https://example.com/:x')}`, auth);
    const on = await nextAbout(watcher, 'match', 'https://example.com/:x');
    assert.equal(on.match_type, 'urlpattern');
    assert.equal(on.match, 'https://example.com/:x');
    assert.match(
      String(on.id),
      /^\/\.well-known\/mercure\/subscriptions\/urlpattern\/https%3A%2F%2Fexample\.com%2F%3Ax\/urn%3Auuid%3A/,
    );
    const res = await fetch(`${hub.url}/subscriptions`, { headers: auth });
    assert.match(res.headers.get('link') ?? '', /; last-event-id="urn:uuid:/);
    const list = (await res.json()) as { subscriptions: unknown[] };
    assert.equal(list.subscriptions.length, 2);
  });

  test('without --subscriptions the API is 404', async (t) => {
    const hub = await startHub(t);
    assert.equal((await fetch(`${hub.url}/subscriptions`)).status, 404);
  });
});

describe('the JSON publish API and the publisher SDK', () => {
  test('POST /v1/publish stores one update or a batch and answers the IDs', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const stream = await subscribe(t, `${hub.url}?topic=*`);
    const publisher = new Publisher({ hubUrl: hub.url, token: await legacyToken({ publish: ['*'] }) });
    const ids = await publisher.batch([
      { topics: ['a'], data: '1', id: 'one' },
      { topics: ['b'], data: '2', type: 'note' },
    ]);
    assert.equal(ids.length, 2);
    assert.equal(ids[0], 'one');
    assert.equal((await stream.next()).data, '1');
    const second = await stream.next();
    assert.deepEqual([second.data, second.type, second.lastEventId], ['2', 'note', ids[1]]);
    const single = await fetch(new URL('/v1/publish', hub.url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await legacyToken({ publish: ['*'] })}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ topics: ['c'], data: '3' }),
    });
    assert.equal(single.status, 200);
    assert.match(((await single.json()) as { id: string }).id, /^urn:uuid:/);
    assert.equal((await stream.next()).data, '3');
    assert.equal(await publisher.publish({ topics: ['d'], data: '4', id: 'four' }), 'four');
  });

  test('a batch with one bad update stores nothing and names the bad one', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const stream = await subscribe(t, `${hub.url}?topic=*`);
    const token = await legacyToken({ publish: ['a', 'b'] });
    const post = (body: unknown) =>
      fetch(new URL('/v1/publish', hub.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bad = await post([
      { topics: ['a'], data: 'ok' },
      { topics: ['b'], id: 'x\ny' },
    ]);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^Update 1: /);
    const forbidden = await post([{ topics: ['a'] }, { topics: ['c'] }]);
    assert.equal(forbidden.status, 403);
    assert.equal((await post('nope')).status, 400);
    const malformed = await fetch(new URL('/v1/publish', hub.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{',
    });
    assert.equal(malformed.status, 400);
    await post([{ topics: ['a'], data: 'after' }]);
    assert.equal((await stream.next()).data, 'after', 'nothing from the refused batches was stored');
  });
});

describe('operations', () => {
  test('/healthz, /readyz and /metrics answer; metrics count connections, publishes and deliveries', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    assert.equal((await fetch(new URL('/healthz', hub.url))).status, 200);
    assert.equal((await fetch(new URL('/readyz', hub.url))).status, 200);
    const stream = await subscribe(t, `${hub.url}?topic=m`);
    await publish(
      hub,
      [
        ['topic', 'm'],
        ['data', 'x'],
      ],
      await legacyToken({ publish: ['*'] }),
    );
    await publish(hub, [['topic', 'm']], undefined);
    await stream.next();
    const replay = await subscribe(t, `${hub.url}?topic=m`, { 'last-event-id': 'never-issued' });
    assert.equal(replay.headers['crier-replay'], 'unknown');
    const text = await (await fetch(new URL('/metrics', hub.url))).text();
    assert.match(text, /^crier_replays_total\{result="unknown"\} 1$/m);
    assert.match(text, /^crier_connections 2$/m);
    assert.match(text, /^crier_publishes_total\{status="200"\} 1$/m);
    assert.match(text, /^crier_publishes_total\{status="401"\} 1$/m);
    assert.match(text, /^crier_deliveries_total 1$/m);
    assert.match(text, /^crier_writes_total 1$/m);
    assert.match(text, /^crier_publish_duration_seconds_count 1$/m);
  });

  test('publishes over --publish-rate per token get 429 with Retry-After', async (t) => {
    const hub = await startHub(t, ['--publish-rate', '2']);
    const token = await legacyToken({ publish: ['*'] });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const res = await publish(hub, [['topic', 'x']], token);
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    assert.deepEqual(statuses.slice(0, 2), [200, 200]);
    assert.ok(statuses.includes(429));
    assert.match(retryAfter ?? '', /^\d+$/);
  });

  test('subscriptions beyond --max-connections-per-ip get 429 (counted per client behind --trusted-proxies) and beyond --max-connections 503', async (t) => {
    const perIp = await startHub(t, ['--anonymous', '--max-connections-per-ip', '1']);
    assert.equal((await subscribe(t, `${perIp.url}?topic=x`)).status, 200);
    assert.equal((await subscribe(t, `${perIp.url}?topic=x`)).status, 429);
    // Behind a trusted proxy the limit counts the client named by X-Forwarded-For, not the proxy.
    const proxied = await startHub(t, [
      '--anonymous',
      '--max-connections-per-ip',
      '1',
      '--trusted-proxies',
      '127.0.0.1',
    ]);
    const via = (client: string) => subscribe(t, `${proxied.url}?topic=x`, { 'x-forwarded-for': client });
    assert.equal((await via('203.0.113.1')).status, 200);
    assert.equal((await via('203.0.113.2')).status, 200);
    assert.equal((await via('203.0.113.1')).status, 429);
    // Untrusted, the header is ignored: the peer (127.0.0.1) is already at its limit of one.
    const direct = await startHub(t, ['--anonymous', '--max-connections-per-ip', '1']);
    assert.equal(
      (await subscribe(t, `${direct.url}?topic=x`, { 'x-forwarded-for': '203.0.113.1' })).status,
      200,
    );
    assert.equal(
      (await subscribe(t, `${direct.url}?topic=x`, { 'x-forwarded-for': '203.0.113.2' })).status,
      429,
    );
    const total = await startHub(t, ['--anonymous', '--max-connections', '1']);
    assert.equal((await subscribe(t, `${total.url}?topic=x`)).status, 200);
    assert.equal((await subscribe(t, `${total.url}?topic=x`)).status, 503);
  });

  test('--store sqlite:PATH keeps history across a restart: a client resumes from its Last-Event-ID', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-hub-'));
    const store = `sqlite:${join(dir, 'crier.db')}`;
    const first = await startHub(t, ['--anonymous', '--store', store]);
    const token = await legacyToken({ publish: ['*'] });
    await publish(
      first,
      [
        ['topic', 's'],
        ['data', '1'],
        ['id', 'one'],
      ],
      token,
    );
    await publish(
      first,
      [
        ['topic', 's'],
        ['data', '2'],
        ['id', 'two'],
      ],
      token,
    );
    await first.close();
    const second = await startHub(t, ['--anonymous', '--store', store]);
    const stream = await subscribe(t, `${second.url}?topic=s`, { 'last-event-id': 'one' });
    assert.equal(stream.headers['last-event-id'], 'one', 'the resume anchor: history still holds it');
    assert.equal((await stream.next()).data, '2');
    // The newest update's ID survives the restart too (the header of a request that does not resume).
    assert.equal((await subscribe(t, `${second.url}?topic=s`)).headers['last-event-id'], 'two');
  });

  test('TLS: HTTP/1.1 and h2 on one port by ALPN', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    const hub = await startHub(t, ['--anonymous', '--tls-cert', cert, '--tls-key', key]);
    assert.match(hub.url, /^https:/);
    const session = connect(hub.origin, { ca: readFileSync(cert), checkServerIdentity: () => undefined });
    t.after(() => session.close());
    const h2 = session.request({ ':path': '/.well-known/mercure?topic=tls' });
    const [headers] = (await new Promise((resolve) => h2.once('response', (h) => resolve([h])))) as [
      Record<string, unknown>,
    ];
    assert.equal(headers[':status'], 200);
    assert.equal(headers['content-type'], 'text/event-stream; charset=utf-8');
    const got = new Promise<string>((resolve) => {
      let text = '';
      h2.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('data: over h2')) resolve(text);
      });
    });
    const { request } = await import('node:https');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        hub.url,
        {
          method: 'POST',
          ca: readFileSync(cert),
          checkServerIdentity: () => undefined,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      legacyToken({ publish: ['*'] }).then((token) => {
        req.setHeader('authorization', `Bearer ${token}`);
        req.end('topic=tls&data=over%20h2');
      }, reject);
    });
    assert.equal(status, 200, 'HTTP/1.1 publish over TLS');
    assert.match(await got, /data: over h2/);
    h2.close();
  });
});
