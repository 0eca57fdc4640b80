/**
 * Issue 14, item 2: expensive selectors. A subscription of 480 URI templates held ~7.3 MB of hub memory;
 * 300 of them took the hub to 1.98 GB RSS and other subscribers' p99 from 4 ms to 1.8 s, and 700 from one
 * address reached the V8 heap limit. Each subscription now has a cost (src/topics/cost.ts), capped per
 * connection (`--max-selector-cost`, 400 past it) and per client address (`--max-selector-cost-per-ip`,
 * 429 past it). The attack runs here from 127.0.0.x source addresses against a real hub process.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  type HubProcess,
  publishForm,
  startHub,
  subscribe,
  token,
  topicUrl,
  treeRssKiB,
} from '../support/hub-process.js';

const GOOD_TOPIC = 'https://example.com/good';

/** 480-odd distinct URI templates, short enough that a subscription's query stays under 16 KiB. */
function templates(count: number, salt: string): string[] {
  return Array.from({ length: count }, (_, i) => `e/{a}${salt}${i}{b}`);
}

interface Held {
  status: number;
  body: string;
  close(): void;
}

/** Subscribes from a given local address; resolves with the status once the head (or a refusal) arrived. */
function subscribeFrom(url: string, localAddress: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, localAddress });
    req.on('error', reject);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status === 200) {
        res.resume();
        resolve({ status, body: '', close: () => req.destroy() });
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status, body, close: () => req.destroy() }));
    });
    req.end();
  });
}

describe('selector cost limits', () => {
  let hub: HubProcess;
  let publisher: string;
  const held: Held[] = [];
  before(async () => {
    hub = await startHub(undefined, { args: ['--anonymous'] });
    publisher = await token({ publish: ['*'] });
  });
  after(async () => {
    for (const h of held) h.close();
    await hub.stop('SIGKILL');
  });

  test('a subscription of 480 URI templates is refused with 400 and a message naming --max-selector-cost', async () => {
    const answer = await subscribeFrom(topicUrl(hub.url, templates(480, 'x')), '127.0.0.2');
    assert.equal(answer.status, 400, answer.body);
    assert.match(answer.body, /--max-selector-cost/);
    assert.match(answer.body, /KiB/);
    // Exact topics are cheap: --max-topics of them still fit in one subscription.
    const exact = await subscribeFrom(
      topicUrl(
        hub.url,
        Array.from({ length: 1000 }, (_, i) => `t${i}`),
      ),
      '127.0.0.2',
    );
    assert.equal(exact.status, 200, exact.body);
    exact.close();
  });

  test('connections of templates from one address are refused with 429 past --max-selector-cost-per-ip, from several addresses each is capped, memory stays bounded and a well-behaved subscriber gets its events', async (t) => {
    const good = await subscribe(t, topicUrl(hub.url, [GOOD_TOPIC]));
    assert.equal(good.status, 200);
    const rssBefore = treeRssKiB(hub.pid)!;
    const addresses = ['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8'];
    let accepted = 0;
    for (const address of addresses) {
      const statuses: number[] = [];
      // 120 templates a connection (under the 1 MiB per-connection default): the address's 2 MiB runs out
      // after a few connections, and every attempt after that is a 429.
      for (let i = 0; i < 20; i++) {
        const answer = await subscribeFrom(topicUrl(hub.url, templates(120, `${address}-${i}-`)), address);
        statuses.push(answer.status);
        if (answer.status === 200) held.push(answer);
        else {
          assert.equal(answer.status, 429, answer.body);
          assert.match(answer.body, /--max-selector-cost-per-ip/);
        }
      }
      const ok = statuses.filter((s) => s === 200).length;
      assert.ok(ok >= 1 && ok <= 3, `${address}: ${ok} of 20 connections accepted (${statuses.join(',')})`);
      assert.deepEqual(
        statuses.slice(ok),
        Array(20 - ok).fill(429),
        'refused from the first one past the cap',
      );
      accepted += ok;
    }
    // Publish to topics that every attacking template matches (their automata run) and to the good topic.
    for (let i = 0; i < 20; i++) {
      const answer = await publishForm(
        hub.url,
        [
          ['topic', `e/z${i}q`],
          ['topic', GOOD_TOPIC],
          ['data', `event ${i}`],
        ],
        publisher,
      );
      assert.equal(answer.status, 200, answer.body);
    }
    const events = await good.waitFor(20);
    assert.deepEqual(
      events.slice(0, 20).map((e) => e.data),
      Array.from({ length: 20 }, (_, i) => `event ${i}`),
    );
    // Each address holds at most 2 MiB of estimated selector memory; the bound for these addresses is
    // 6 x 2 MiB, plus room for the hub's own buffers and the allocator.
    const grewKiB = treeRssKiB(hub.pid)! - rssBefore;
    assert.ok(
      grewKiB < addresses.length * 2 * 1024 + 40 * 1024,
      `RSS grew ${grewKiB} KiB with ${accepted} template connections`,
    );
    // Closing the connections gives the address its allowance back.
    for (const h of held.splice(0)) h.close();
    let again: Held | undefined;
    for (let i = 0; i < 50 && again?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await subscribeFrom(topicUrl(hub.url, templates(120, 'again')), addresses[0]!);
    }
    assert.equal(again?.status, 200, 'after the connections closed the address may subscribe again');
    again!.close();
  });
});
