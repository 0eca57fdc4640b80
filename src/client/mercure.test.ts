import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { accessToken, legacyToken, publish, startHub } from '../mercure/hub.test-helpers.js';
import { ClientError } from './errors.js';
import {
  detectMercureProtocol,
  discoverMercureHub,
  mercureUrl,
  parseLinkHeader,
  subscribeMercure,
} from './mercure.js';
import { startServer, streamHeaders } from './server.test-helpers.js';

describe('mercureUrl', () => {
  test('draft-08: match per exact topic, match_urlpattern and last_event_id; a token in the URL is refused (§6.1)', () => {
    const url = mercureUrl('https://hub.example/.well-known/mercure', {
      topics: ['https://example.com/books/1', 'a&b=c'],
      urlPatterns: ['https://example.com/books/:id'],
      lastEventId: 'urn:uuid:1',
    });
    assert.deepEqual(
      [...url.searchParams],
      [
        ['match', 'https://example.com/books/1'],
        ['match', 'a&b=c'],
        ['match_urlpattern', 'https://example.com/books/:id'],
        ['last_event_id', 'urn:uuid:1'],
      ],
    );
    assert.match(url.search, /match=a%26b%3Dc/);
    assert.throws(
      () => mercureUrl('https://hub.example/.well-known/mercure', { topics: ['x'], token: 'jwt' }),
      /Authorization header/,
    );
  });

  test('draft-07: repeated topic, lastEventID and the authorization parameter', () => {
    const url = mercureUrl('https://hub.example/.well-known/mercure?x=1', {
      protocol: 'draft-07',
      topics: ['https://example.com/books/{id}', 'https://example.com/users/2'],
      lastEventId: '42',
      token: 'jwt',
    });
    assert.deepEqual(
      [...url.searchParams],
      [
        ['x', '1'],
        ['topic', 'https://example.com/books/{id}'],
        ['topic', 'https://example.com/users/2'],
        ['lastEventID', '42'],
        ['authorization', 'jwt'],
      ],
    );
  });

  test('rejects an empty subscription and URL patterns with draft-07', () => {
    assert.throws(() => mercureUrl('https://hub.example/', {}), TypeError);
    assert.throws(
      () => mercureUrl('https://hub.example/', { protocol: 'draft-07', urlPatterns: ['/books/:id'] }),
      TypeError,
    );
  });
});

describe('parseLinkHeader', () => {
  test('finds rel="mercure" among several links, with quoted attributes', () => {
    const links = parseLinkHeader(
      '<https://example.com/x>; rel="self", </.well-known/mercure>; rel="mercure"; last-event-id="urn:a,b"; content-type="application/merge-patch+json", <https://other/hub>; rel="preload mercure"',
      'https://example.com/books/1',
    );
    assert.deepEqual(
      links.map((l) => [l.url, l.rel]),
      [
        ['https://example.com/x', ['self']],
        ['https://example.com/.well-known/mercure', ['mercure']],
        ['https://other/hub', ['preload', 'mercure']],
      ],
    );
    assert.deepEqual(links[1]!.params, {
      'last-event-id': 'urn:a,b',
      'content-type': 'application/merge-patch+json',
    });
  });

  test('ignores garbage without throwing', () => {
    assert.deepEqual(parseLinkHeader('garbage, <unterminated'), []);
    assert.deepEqual(parseLinkHeader('; rel=mercure'), []);
  });
});

describe('Mercure discovery and subscription', () => {
  test('discovers the hub from the Link header and subscribes with Last-Event-ID', async (t) => {
    const server = await startServer((req, res) => {
      if (req.url === '/books/1') {
        res.writeHead(200, {
          'Content-Type': 'application/json',
          Link: '</hub>; rel="mercure"; last-event-id="e-7"',
        });
        res.end('{"title":"x"}');
        return;
      }
      streamHeaders(res);
      res.write('id: e-8\ndata: {"title":"y"}\n\n');
    });
    t.after(() => server.close());
    const origin = new URL(server.url).origin;
    const discovered = await discoverMercureHub(`${origin}/books/1`);
    assert.equal(discovered.hub, `${origin}/hub`);
    assert.equal(discovered.lastEventId, 'e-7');
    const source = subscribeMercure(
      discovered.hub,
      { topics: [`${origin}/books/1`], lastEventId: discovered.lastEventId },
      { getToken: () => 'sub-jwt' },
    );
    t.after(() => source.close());
    const [event] = await once(source, 'message');
    assert.equal((event as MessageEvent).data, '{"title":"y"}');
    const request = server.requests[1]!;
    assert.equal(request.url, `/hub?match=${encodeURIComponent(`${origin}/books/1`)}`);
    assert.equal(request.headers['last-event-id'], 'e-7');
    assert.equal(request.headers.authorization, 'Bearer sub-jwt');
  });

  test('discovery without a hub link throws NO_HUB', async (t) => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { Link: '</x>; rel="self"' }).end();
    });
    t.after(() => server.close());
    await assert.rejects(
      discoverMercureHub(server.url),
      (error: unknown) => error instanceof ClientError && error.code === 'NO_HUB',
    );
  });
});

describe('against a Crier hub in each protocol mode', () => {
  test('draft-08 §9.2: the protocol is detected from the protected resource metadata — 08 and auto hubs speak draft-08, a 07 hub draft-07', async (t) => {
    const v1 = await startHub(t, ['--protocol', '08']);
    const auto = await startHub(t);
    const v0 = await startHub(t, ['--protocol', '07']);
    assert.equal(await detectMercureProtocol(v1.url), 'draft-08');
    assert.equal(await detectMercureProtocol(auto.url), 'draft-08');
    assert.equal(await detectMercureProtocol(v0.url), 'draft-07');
  });

  for (const mode of ['08', '07'] as const) {
    test(`--protocol ${mode}: subscribeMercure resumes with Last-Event-ID and reports the hub's resume anchor (draft-08 §7 Mercure-Last-Event-ID)`, async (t) => {
      const hub = await startHub(t, ['--protocol', mode, '--anonymous']);
      const protocol = await detectMercureProtocol(hub.url);
      const token =
        mode === '08'
          ? await accessToken(hub, { publish: [{ match: '*' }] })
          : await legacyToken({ publish: ['*'] });
      const topic = 'https://example.com/books/1';
      for (const id of ['e1', 'e2']) {
        await publish(
          hub,
          [
            ['topic', topic],
            ['data', id],
            ['id', id],
          ],
          token,
        );
      }
      const anchors: Array<[string, string | undefined]> = [];
      const source = subscribeMercure(
        hub.url,
        { protocol, topics: [topic], lastEventId: 'e1' },
        { onResumeAnchor: (anchor, requested) => anchors.push([anchor, requested]) },
      );
      t.after(() => source.close());
      const [event] = await once(source, 'message');
      assert.equal((event as MessageEvent).data, 'e2');
      assert.deepEqual(anchors, [['e1', 'e1']]);
    });
  }
});
