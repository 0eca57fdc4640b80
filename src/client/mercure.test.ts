import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { ClientError } from './errors.js';
import { discoverMercureHub, mercureUrl, parseLinkHeader, subscribeMercure } from './mercure.js';
import { startServer, streamHeaders } from './test-server.js';

describe('mercureUrl', () => {
  test('draft-08: match per exact topic, match_urlpattern, last_event_id and access_token', () => {
    const url = mercureUrl('https://hub.example/.well-known/mercure', {
      topics: ['https://example.com/books/1', 'a&b=c'],
      urlPatterns: ['https://example.com/books/:id'],
      lastEventId: 'urn:uuid:1',
      token: 'jwt',
    });
    assert.deepEqual(
      [...url.searchParams],
      [
        ['match', 'https://example.com/books/1'],
        ['match', 'a&b=c'],
        ['match_urlpattern', 'https://example.com/books/:id'],
        ['last_event_id', 'urn:uuid:1'],
        ['access_token', 'jwt'],
      ],
    );
    assert.match(url.search, /match=a%26b%3Dc/);
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
