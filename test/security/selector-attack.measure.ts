/**
 * The selector-cost attack at scale, measured (not a test: it prints figures for docs/security.md):
 * `node --import tsx test/security/selector-attack.measure.ts [addresses] [connectionsPerAddress] [hub flags…]`.
 *
 * A hub with default limits; a well-behaved subscriber; then from each of `addresses` source addresses
 * (127.0.0.2, 127.0.0.3, …) `connectionsPerAddress` subscriptions of 120 distinct URI templates and one of
 * 480. Prints how many were accepted and refused, the hub's RSS before and after, and the well-behaved
 * subscriber's delivery latency (p50, p99) before and during the attack while updates hit every template.
 */
import { request } from 'node:http';
import { publishForm, startHub, subscribe, token, topicUrl, treeRssKiB } from '../support/hub-process.js';

const addresses = Number(process.argv[2] ?? 100);
const perAddress = Number(process.argv[3] ?? 5);
const GOOD = 'https://example.com/good';

function subscribeFrom(url: string, localAddress: string): Promise<{ status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, localAddress });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, close: () => req.destroy() });
    });
    req.end();
  });
}

const hub = await startHub(undefined, { args: ['--anonymous', ...process.argv.slice(4)] });
const publisher = await token({ publish: ['*'] });
const good = await subscribe(undefined, topicUrl(hub.url, [GOOD]));

async function latencies(rounds: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = good.events.length;
    const sent = performance.now();
    await publishForm(
      hub.url,
      [
        ['topic', `e/z${i}q`],
        ['topic', GOOD],
        ['data', String(i)],
      ],
      publisher,
    );
    await good.waitFor(before + 1);
    times.push(performance.now() - sent);
    await new Promise((r) => setTimeout(r, 10));
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(rounds / 2)]!, p99: times[Math.floor(rounds * 0.99)]! };
}

const rssStart = treeRssKiB(hub.pid)!;
const quiet = await latencies(200);
const counts: Record<number, number> = {};
const open: { close(): void }[] = [];
for (let a = 0; a < addresses; a++) {
  const address = `127.0.${2 + Math.floor(a / 250)}.${2 + (a % 250)}`;
  const tries = [...Array.from({ length: perAddress }, () => 120), 480];
  for (const [k, n] of tries.entries()) {
    const topics = Array.from({ length: n }, (_, i) => `e/{a}${a}-${k}-${i}{b}`);
    const answer = await subscribeFrom(topicUrl(hub.url, topics), address);
    counts[answer.status] = (counts[answer.status] ?? 0) + 1;
    if (answer.status === 200) open.push(answer);
    else answer.close();
  }
}
const rssAttack = treeRssKiB(hub.pid)!;
const attacked = await latencies(200);
const rssAfter = treeRssKiB(hub.pid)!;
console.log(
  JSON.stringify(
    {
      addresses,
      perAddress,
      answers: counts,
      openAttackConnections: open.length,
      rssMiB: { start: rssStart >> 10, underAttack: rssAttack >> 10, afterPublishes: rssAfter >> 10 },
      goodSubscriberMs: {
        quiet: { p50: +quiet.p50.toFixed(1), p99: +quiet.p99.toFixed(1) },
        underAttack: { p50: +attacked.p50.toFixed(1), p99: +attacked.p99.toFixed(1) },
      },
    },
    null,
    2,
  ),
);
for (const c of open) c.close();
good.close();
await hub.stop('SIGKILL');
