/**
 * The cases of the Mercure project's conformance suite (dunglas/mercure `conformance-tests/`, at HEAD: one
 * Playwright spec driving a real browser), re-created here against `crier serve --protocol 08`: a page on
 * the hub's origin opens an `EventSource` with `match` (exact) or `match_urlpattern` selectors, publishes
 * one update with a form POST carrying an RFC 9068 access token (`typ: at+jwt`, `aud` the hub's resource
 * identifier, `iss` a trusted issuer, `authorization_details` of type
 * `https://mercure.rocks/authorization-detail` granting publish and subscribe on `*`), and checks whether
 * the update arrives within two seconds: public updates that match do, non-matching and private ones (for
 * an anonymous subscriber) do not; an acknowledged publish answers 200 `text/plain` with the update's ID.
 * The hub is configured the way that suite expects a hub to be: its public URL is
 * https://localhost/.well-known/mercure and its issuer https://localhost.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { launchChromium } from '../../src/testing/browser.test-helpers.js';
import { freePort } from '../../src/testing/ports.test-helpers.js';
import { SECRET, startHub } from '../support/hub-process.js';

const RESOURCE = 'https://localhost/.well-known/mercure';
const ISSUER = 'https://localhost';
const DETAIL = 'https://mercure.rocks/authorization-detail';

interface Case {
  name: string;
  updateTopics: string[];
  topicSelectors: string[];
  mustBeReceived: boolean;
  private?: true;
}

const r = Array.from({ length: 6 }, () => randomBytes(20).toString('hex'));
const CASES: Case[] = [
  { name: 'raw string', mustBeReceived: true, updateTopics: [r[0]!], topicSelectors: [r[0]!] },
  {
    name: 'multiple topic selectors',
    mustBeReceived: true,
    updateTopics: [r[2]!],
    topicSelectors: ['foo', r[2]!],
  },
  {
    name: 'URI',
    mustBeReceived: true,
    updateTopics: [`https://example.net/foo/${r[3]}`],
    topicSelectors: [`https://example.net/foo/${r[3]}`],
  },
  {
    name: 'URL pattern',
    mustBeReceived: true,
    updateTopics: [`https://example.net/foo/${r[4]}`],
    topicSelectors: ['https://example.net/foo/:random'],
  },
  {
    name: 'nonmatching raw string',
    mustBeReceived: false,
    updateTopics: ['will-not-match'],
    topicSelectors: ['another-name'],
  },
  {
    name: 'nonmatching URI',
    mustBeReceived: false,
    updateTopics: ['https://example.net/foo/will-not-match'],
    topicSelectors: ['https://example.net/foo/another-name'],
  },
  {
    name: 'nonmatching URL pattern',
    mustBeReceived: false,
    updateTopics: ['https://example.net/foo/will-not-match'],
    topicSelectors: ['https://example.net/bar/:var'],
  },
  {
    name: 'private raw string',
    mustBeReceived: false,
    private: true,
    updateTopics: [r[0]!],
    topicSelectors: [r[0]!],
  },
  {
    name: 'private URI',
    mustBeReceived: false,
    private: true,
    updateTopics: [`https://example.net/foo/${r[3]}`],
    topicSelectors: [`https://example.net/foo/${r[3]}`],
  },
  {
    name: 'private URL pattern',
    mustBeReceived: false,
    private: true,
    updateTopics: [`https://example.net/foo/${r[4]}`],
    topicSelectors: ['https://example.net/foo/:random'],
  },
];

/** What the page reports: whether the update came, and the publish's answer. */
interface Outcome {
  received: boolean;
  status: number;
  contentType: string | null;
  body: string;
}

/** In the page: subscribe, publish once the stream is open, wait up to 2 s for the update. */
async function runInPage(page: Page, c: Case & { id: string; token: string }): Promise<Outcome> {
  return page.evaluate(async (c) => {
    const url = new URL('/.well-known/mercure', window.origin);
    for (const s of c.topicSelectors)
      url.searchParams.append(/\/:[A-Za-z_]/.test(s) ? 'match_urlpattern' : 'match', s);
    const form = new URLSearchParams();
    for (const t of c.updateTopics) form.append('topic', t);
    form.set('id', c.id);
    form.set('data', `data for\n\n        ${c.name}`);
    if (c.private) form.set('private', 'on');
    const source = new EventSource(url);
    await new Promise<void>((resolve, reject) => {
      source.onopen = () => resolve();
      source.onerror = () => reject(new Error(`the EventSource did not open (${url})`));
    });
    const received = new Promise<boolean>((resolve) => {
      source.onmessage = (e) => {
        if (e.lastEventId === c.id && e.data === form.get('data')) resolve(true);
      };
      setTimeout(() => resolve(false), 2000);
    });
    const response = await fetch('/.well-known/mercure', {
      method: 'POST',
      headers: { Authorization: `Bearer ${c.token}` },
      body: form,
    });
    const body = await response.text();
    const result = {
      received: await received,
      status: response.status,
      contentType: response.headers.get('Content-Type'),
      body,
    };
    source.close();
    return result;
  }, c);
}

test('the Mercure conformance suite (dunglas/mercure conformance-tests) against crier serve --protocol 08', async (t) => {
  const browser = await launchChromium(t);
  if (browser === undefined) return;
  t.after(() => browser.close());
  const port = await freePort();
  await startHub(t, {
    port,
    args: ['--protocol', '08', '--anonymous', '--public-url', RESOURCE, '--issuer', ISSUER],
  });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  const token = await new SignJWT({
    authorization_details: [
      { type: DETAIL, actions: ['publish'], topics: [{ match: '*' }] },
      { type: DETAIL, actions: ['subscribe'], topics: [{ match: '*' }] },
    ],
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setAudience(RESOURCE)
    .setIssuer(ISSUER)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

  for (const c of CASES) {
    await t.test(`${c.name}: ${c.mustBeReceived ? 'received' : 'not received'}`, async () => {
      const id = `id-${JSON.stringify(c.updateTopics)}`;
      const outcome = await runInPage(page, { ...c, id, token });
      assert.equal(outcome.received, c.mustBeReceived, JSON.stringify(outcome));
      if (c.mustBeReceived) {
        assert.match(outcome.contentType ?? '', /^text\/plain(?:$|;.*)/);
        assert.equal(outcome.status, 200);
        assert.equal(outcome.body, id, 'the acknowledged ID is the one the publisher chose');
      }
    });
  }
});
