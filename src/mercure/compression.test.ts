/** The Mercure hub compresses its streams by default (`--compression`), for clients that ask. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectCompressed } from '../server/compression.test-helpers.js';
import { loadConfig } from './config.js';
import { legacyToken, publish, startHub } from './hub.test-helpers.js';

describe('crier serve --compression', () => {
  test('on by default: gzip for a client that accepts it, each update decodable as soon as it is published', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const topic = 'https://example.com/books/1';
    const c = await connectCompressed(`${hub.url}?topic=${encodeURIComponent(topic)}`, {
      'accept-encoding': 'gzip, deflate, br',
    });
    t.after(() => c.close());
    assert.equal(c.status, 200, c.text);
    assert.equal(c.headers['content-encoding'], 'gzip');
    assert.equal(c.headers.vary, 'accept-encoding');
    const token = await legacyToken({ publish: ['*'] });
    for (const title of ['Dune', 'Solaris']) {
      assert.equal(
        (
          await publish(
            hub,
            [
              ['topic', topic],
              ['data', title],
            ],
            token,
          )
        ).status,
        200,
      );
      await c.until((x) => x.events.at(-1)?.data === title);
    }
    const plain = await connectCompressed(`${hub.url}?topic=${encodeURIComponent(topic)}`);
    t.after(() => plain.close());
    assert.equal(plain.headers['content-encoding'], undefined);
  });

  test('Vary names both Origin and Accept-Encoding for a CORS subscriber, with and without the fast accept path, GET and HEAD', async (t) => {
    for (const fast of ['true', 'false']) {
      const hub = await startHub(t, [
        '--anonymous',
        '--cors-origins',
        'https://app.example',
        '--fast-accept',
        fast,
      ]);
      const url = `${hub.url}?topic=${encodeURIComponent('https://example.com/books/1')}`;
      const headers = { origin: 'https://app.example', 'accept-encoding': 'gzip' };
      const get = await connectCompressed(url, headers);
      t.after(() => get.close());
      assert.equal(get.headers['access-control-allow-origin'], 'https://app.example', fast);
      assert.equal(get.headers['content-encoding'], 'gzip', fast);
      const vary = (v: unknown) =>
        String(v)
          .toLowerCase()
          .split(/\s*,\s*/)
          .sort();
      assert.deepEqual(vary(get.headers.vary), ['accept-encoding', 'origin'], fast);
      const head = await fetch(url, { method: 'HEAD', headers });
      assert.deepEqual(vary(head.headers.get('vary')), ['accept-encoding', 'origin'], `HEAD ${fast}`);
    }
  });

  test('HEAD answers the head a GET gets: the same Content-Encoding and Vary; refusals are never encoded', async (t) => {
    const hub = await startHub(t, ['--anonymous']);
    const url = `${hub.url}?topic=${encodeURIComponent('https://example.com/books/1')}`;
    for (const accept of ['gzip', 'deflate;q=1, gzip;q=0.5', 'br', '']) {
      const head = await fetch(url, { method: 'HEAD', headers: { 'accept-encoding': accept } });
      const get = await connectCompressed(url, { 'accept-encoding': accept });
      t.after(() => get.close());
      assert.equal(head.status, 200);
      assert.equal(
        head.headers.get('content-encoding') ?? undefined,
        get.headers['content-encoding'],
        accept,
      );
      assert.equal(head.headers.get('vary'), 'accept-encoding');
    }
    const refused = await connectCompressed(hub.url, { 'accept-encoding': 'gzip' }); // no topic: 400
    assert.equal(refused.status, 400);
    assert.equal(refused.headers['content-encoding'], undefined);
    await refused.ended;
    assert.match(refused.text, /topic/);
  });

  test('off, or limited to the codings named', async (t) => {
    const off = await startHub(t, ['--anonymous', '--compression', 'off']);
    const a = await connectCompressed(`${off.url}?topic=x`, { 'accept-encoding': 'gzip' });
    t.after(() => a.close());
    assert.equal(a.headers['content-encoding'], undefined);
    assert.equal(a.headers.vary, undefined);
    const deflateOnly = await startHub(t, ['--anonymous', '--compression', 'deflate']);
    const b = await connectCompressed(`${deflateOnly.url}?topic=x`, { 'accept-encoding': 'gzip, deflate' });
    t.after(() => b.close());
    assert.equal(b.headers['content-encoding'], 'deflate');
  });

  test('reads on, off and lists; names the flag and the problem for anything else', () => {
    assert.deepEqual(loadConfig().config.compression, ['gzip', 'deflate']);
    assert.deepEqual(loadConfig({ argv: ['--compression', 'off'] }).config.compression, []);
    assert.deepEqual(loadConfig({ argv: ['--compression=on'] }).config.compression, ['gzip', 'deflate']);
    assert.deepEqual(loadConfig({ argv: ['--compression', 'deflate,gzip'] }).config.compression, [
      'deflate',
      'gzip',
    ]);
    assert.deepEqual(loadConfig({ env: { CRIER_COMPRESSION: 'gzip' } }).config.compression, ['gzip']);
    assert.throws(
      () => loadConfig({ argv: ['--compression', 'br'] }),
      /--compression: expected off, on, or a list of gzip and deflate/,
    );
  });
});
