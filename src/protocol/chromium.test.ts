/**
 * Real Chromium's EventSource reads a stream of tricky events from a node:http server exactly as Crier sent
 * them, and exactly as Crier's own parser reads the same bytes.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium } from '../testing/browser.test-helpers.js';
import { concat } from './arbitraries.test-helpers.js';
import { type EventFields, encodeEvent } from './encode.js';
import { parseEventStream } from './parse.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

const sent: EventFields[] = [
  { comment: 'a tricky stream\nof two comment lines', retry: 2000 },
  { data: 'plain' },
  { data: 'line1\nline2\r\nline3\rline4', event: 'multi' },
  { data: '', id: 'empty-data' },
  { data: 'é€😀 ünïcødé 中文', id: 'unicode-中文-😀' },
  { data: ' leading and trailing space ', event: 'spaced' },
  { data: '\n\nblank lines around\n\n' },
  { data: 'id reset', id: '' },
  { data: 'colon: in: data', event: 'with:colon', id: 'a:b' },
  { data: '\ufeffBOM inside' },
  { data: 'x'.repeat(100_000), event: 'big' },
];
const types = ['message', 'multi', 'spaced', 'with:colon', 'big', 'raw', 'done'];

// Bytes that no encoder would produce but a parser must read: a leading BOM, fields without the space, a
// line with no colon, unknown fields, an id with NUL (ignored), CR, LF and CRLF endings, a retry with junk.
const rawPrefix = [
  0xef,
  0xbb,
  0xbf,
  ...utf8('data:no space\rdata\nfoo: bar\nid: with\0nul\nretry: 12x\r\n\n'),
];
const rawEnding = utf8('event: raw\ndata: crlf split\r');
const rawEndingRest = utf8('\n\r\n');

test('Chromium EventSource receives tricky events exactly as sent and as Crier parses them', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  t.after(() => browser.close());

  const body = concat([
    Uint8Array.from(rawPrefix),
    ...sent.map(encodeEvent),
    rawEnding,
    rawEndingRest,
    encodeEvent({ event: 'done', data: 'done', id: 'last' }),
  ]);
  // Cut points that split multi-byte characters, the BOM and the final CR from its LF.
  const unicodeAt = body.indexOf(0xf0); // first byte of the 4-byte 😀
  const cuts = [1, 2, unicodeAt + 1, unicodeAt + 3, body.length - rawEndingRest.length - 40];
  const crSplit =
    body.length - rawEndingRest.length - encodeEvent({ event: 'done', data: 'done', id: 'last' }).length;
  cuts.push(crSplit);
  cuts.sort((a, b) => a - b);

  const server = createServer(async (req, res) => {
    if (req.url?.startsWith('/events')) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      let at = 0;
      for (const cut of [...cuts, body.length]) {
        res.write(body.subarray(at, cut));
        at = cut;
        await sleep(15);
      }
      // Keep the stream open: the page closes it once it has the "done" event.
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><meta charset="utf-8"><script>
      window.received = [];
      const source = new EventSource('/events');
      for (const type of ${JSON.stringify(types)}) {
        source.addEventListener(type, (e) => {
          window.received.push({ type: e.type, data: e.data, lastEventId: e.lastEventId });
          if (type === 'done') { source.close(); window.done = true; }
        });
      }
    </script>`);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => server.close());
  server.on('connection', (socket) => t.after(() => socket.destroy()));
  const { port } = server.address() as AddressInfo;

  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction('window.done === true', undefined, { timeout: 20_000 });
  const received = (await page.evaluate('window.received')) as {
    type: string;
    data: string;
    lastEventId: string;
  }[];

  // Chromium reads the same bytes as Crier's parser does.
  assert.deepEqual(received, parseEventStream(body).events);

  // And the encoded events arrive as sent (CR and CRLF in data arrive as LF: the format's only change).
  const fromEncoder = received.slice(1, 1 + sent.filter((e) => e.data !== undefined).length);
  let lastEventId = '';
  const expected = sent.flatMap((e) => {
    if (e.id !== undefined) lastEventId = e.id;
    return e.data === undefined
      ? []
      : [{ type: e.event ?? 'message', data: e.data.replace(/\r\n|\r/g, '\n'), lastEventId }];
  });
  assert.deepEqual(fromEncoder, expected);
  assert.deepEqual(received[0], { type: 'message', data: 'no space\n', lastEventId: '' });
  assert.deepEqual(received.at(-2), { type: 'raw', data: 'crlf split', lastEventId: 'a:b' });
});
