/**
 * Fuzzing the publish endpoints of a running hub: arbitrary form and JSON bodies, content types and headers.
 * Every answer is a 2xx or a 4xx — never a 5xx, never a dropped connection — and the hub keeps serving.
 */
import assert from 'node:assert/strict';
import { request, validateHeaderName, validateHeaderValue } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type HubProcess,
  publishForm,
  startHub,
  subscribe,
  token,
  topicUrl,
} from '../support/hub-process.js';

/** A POST over a fresh connection; resolves with the status, or rejects if the connection breaks. */
function post(url: string, headers: Record<string, string>, body: Uint8Array | string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    // A hub that never answers is a finding, not a hang: fail with the request that caused it.
    req.setTimeout(10_000, () =>
      req.destroy(
        new Error(`no answer in 10 s to ${JSON.stringify({ headers, body: String(body) }).slice(0, 400)}`),
      ),
    );
    req.end(body);
  });
}

const nasty = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    '',
    '\r\n',
    '\0',
    '#x',
    'earliest',
    '%',
    '%zz',
    '%C3',
    '%E2%82',
    '\ud800',
    '*',
    '{',
    '{x',
    '{+a}',
  ),
  fc.webUrl(),
  fc.constantFrom('/.well-known/mercure/subscriptions/x', 'https://example.com/.well-known/mercure'),
);
const fieldName = fc.constantFrom(
  'topic',
  'data',
  'id',
  'type',
  'retry',
  'private',
  'unknown',
  '',
  'topic[]',
);

/** A form body: encoded fields, or raw bytes with broken escapes. */
const formBody = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.oneof(fc.webUrl(), nasty), fc.array(fc.tuple(fieldName, nasty), { maxLength: 6 }))
      .map(([topic, fields]) => {
        const p = new URLSearchParams({ topic });
        for (const [k, v] of fields) p.append(k, v);
        return p.toString();
      }),
  },
  fc.array(fc.tuple(fieldName, nasty), { maxLength: 8 }).map((fields) => {
    const p = new URLSearchParams();
    for (const [k, v] of fields) p.append(k, v);
    return p.toString();
  }),
  fc
    .array(fc.oneof(nasty, fc.constantFrom('&', '=', '+', 'topic=', 'data=', '%', '%%')), { maxLength: 12 })
    .map((s) => s.join('')),
  fc.uint8Array({ maxLength: 200 }),
);

const jsonBody = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record(
        {
          topics: fc.array(fc.oneof(fc.webUrl(), nasty), { minLength: 1, maxLength: 3 }),
          data: nasty,
          id: nasty,
          type: nasty,
        },
        { requiredKeys: ['topics'] },
      )
      .map((o) => JSON.stringify(o)),
  },
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        topics: fc.oneof(fc.array(nasty, { maxLength: 4 }), nasty, fc.jsonValue({ maxDepth: 1 })),
        topic: nasty,
        data: fc.oneof(nasty, fc.jsonValue({ maxDepth: 1 })),
        id: fc.oneof(nasty, fc.integer()),
        type: fc.oneof(nasty, fc.boolean()),
        retry: fc.oneof(fc.integer(), fc.double(), nasty),
        private: fc.oneof(fc.boolean(), nasty),
      },
      { requiredKeys: [] },
    )
    .chain((o) => fc.oneof(fc.constant(JSON.stringify(o)), fc.constant(JSON.stringify([o, o])))),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '[]', '{', 'null', '[null]', '{"topics":[]}', '"\\ud800"'),
);

const contentType = fc.oneof(
  { arbitrary: fc.constant('application/x-www-form-urlencoded'), weight: 4 },
  { arbitrary: fc.constant('application/json'), weight: 4 },
  fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'APPLICATION/X-WWW-FORM-URLENCODED',
    'application/json',
    'application/json; charset=latin1',
    'text/plain',
    'multipart/form-data; boundary=x',
    '',
    ';;;',
  ),
  fc.string({ maxLength: 20 }),
);

/** Extra headers a client might send (only ones Node lets a client write). */
const extraHeaders = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'last-event-id',
          'origin',
          'referer',
          'cookie',
          'x-request-id',
          'content-encoding',
          'expect',
        ),
        fc.string({ minLength: 1, maxLength: 10 }),
      ),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom('gzip', 'null', 'mercureAuthorization=x.y.z', '100-continue'),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => {
    const out: Record<string, string> = {};
    for (const [k, v] of pairs) {
      try {
        validateHeaderName(k);
        validateHeaderValue(k, v);
      } catch {
        continue;
      }
      if (
        ['host', 'content-length', 'transfer-encoding', 'connection', 'authorization'].includes(
          k.toLowerCase(),
        )
      )
        continue;
      if (k.toLowerCase() === 'expect' && v !== '100-continue') continue;
      out[k] = v;
    }
    return out;
  });

/** Mostly the token that may publish anything, so bodies reach validation and the store. */
const bearerIndex = fc.oneof({ arbitrary: fc.constant(0), weight: 5 }, fc.nat(3));

describe('fuzzing the publish endpoints', () => {
  let hub: HubProcess;
  let bearers: string[];
  before(async () => {
    hub = await startHub(undefined, { args: ['--anonymous'] });
    bearers = [
      await token({ publish: ['*'] }),
      await token({ publish: ['https://example.com/{x}'] }),
      'x.y.z',
      '',
    ];
  });
  after(() => hub.stop('SIGKILL'));

  /** Statuses seen, to show the fuzzing reached both the store (200) and validation (400). */
  const seen = new Map<number, number>();
  const check = (status: number, what: unknown) => {
    seen.set(status, (seen.get(status) ?? 0) + 1);
    assert.ok(status >= 200 && status < 500, `status ${status} for ${JSON.stringify(what).slice(0, 400)}`);
  };

  test('arbitrary form bodies, content types and headers get 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(formBody, contentType, extraHeaders, bearerIndex, async (body, type, headers, b) => {
        const h: Record<string, string> = { ...headers };
        if (type !== '') h['content-type'] = type;
        if (bearers[b] !== '') h.authorization = `Bearer ${bearers[b]}`;
        check(await post(hub.url, h, body), { body: String(body), type, headers, b });
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary JSON bodies on /v1/publish get 2xx or 4xx', async () => {
    const url = new URL('/v1/publish', hub.origin).href;
    await fc.assert(
      fc.asyncProperty(jsonBody, contentType, extraHeaders, bearerIndex, async (body, type, headers, b) => {
        const h: Record<string, string> = { 'content-type': 'application/json', ...headers };
        if (type !== '' && type.includes('json')) h['content-type'] = type;
        if (bearers[b] !== '') h.authorization = `Bearer ${bearers[b]}`;
        check(await post(url, h, body), { body, type, headers, b });
      }),
      { numRuns: 300 },
    );
  });

  test('after the fuzzing the hub is alive and delivers', async (t) => {
    assert.ok(hub.alive(), hub.stderr());
    assert.ok((seen.get(200) ?? 0) > 0 && (seen.get(400) ?? 0) > 0, JSON.stringify([...seen]));
    assert.equal((await within('GET /healthz', fetch(new URL('/healthz', hub.origin)))).status, 200);
    const topic = 'https://example.com/after-fuzz';
    const stream = await within('subscribing', subscribe(t, topicUrl(hub.url, [topic])));
    const published = await within(
      'publishing',
      publishForm(
        hub.url,
        [
          ['topic', topic],
          ['data', 'ok'],
        ],
        bearers[0],
      ),
    );
    assert.equal(published.status, 200, published.body);
    const [event] = await within(
      `the update to reach the subscriber (raw: ${JSON.stringify(stream.raw)})`,
      stream.waitFor(1),
    );
    assert.equal(event!.data, 'ok');
    assert.doesNotMatch(hub.stderr(), /Error|unexpected/);
  });
});

/** Awaits `promise`, or fails naming what it waited for after 15 s: a hang is a finding, not a CI timeout. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no progress in 15 s waiting for ${what}`)), 15_000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
