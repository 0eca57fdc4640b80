/**
 * The failover harness: subscribers through nginx (the project's CrierEventSource, which reconnects with
 * Last-Event-ID), a publisher at a steady rate that POSTs to random nodes directly and through nginx and
 * records what was acknowledged, and the check that each subscriber got exactly the acknowledged sequence
 * for its topics.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LocalCluster, nginxInstalled } from '../../src/cli/cluster.js';
import { CrierEventSource } from '../../src/client/index.js';
import { natsServerInstalled, TestNatsServer } from '../../src/engines/nats/nats-server.test-helpers.js';
import { redisServerInstalled, TestRedisServer } from '../../src/engines/redis/redis-server.test-helpers.js';
import { mintPublisherToken } from '../../src/mercure/publisher.js';
import { requireService } from '../../src/testing/services.test-helpers.js';

export const JWT_KEY = 'cluster-failover-test-key-0123456789abcdef';
export const TOPICS = [
  'https://example.com/scores/1',
  'https://example.com/scores/2',
  'https://example.com/prices',
  'https://example.com/news',
];

/** `crier serve` flags every test node gets. */
export const NODE_ARGS = [
  '--jwt-key',
  JWT_KEY,
  '--anonymous',
  '--log-level',
  'warn',
  '--retry',
  '300ms',
  '--heartbeat',
  '5s',
];

interface Published {
  n: number;
  topic: string;
  /** When the publisher got its 200 (Date.now()). */
  at?: number;
}

export class Subscriber {
  readonly received: number[] = [];
  gaps = 0;
  /** When the last gap was reported (Date.now()), 0 for never. */
  lastGapAt = 0;
  opens = 0;
  /** The last error the source reported (what made it close, when it gave up). */
  lastError = '';
  readonly source: CrierEventSource;

  constructor(
    base: string,
    readonly topics: string[],
  ) {
    const url = new URL('/.well-known/mercure', base);
    for (const t of topics) url.searchParams.append('topic', t);
    this.source = new CrierEventSource(url, { retry: 300, maxRetryDelay: 1000 });
    this.source.addEventListener('open', () => this.opens++);
    this.source.addEventListener('error', (event) => {
      const error = (event as Event & { error?: { message: string } }).error;
      if (error !== undefined) this.lastError = error.message;
    });
    this.source.addClientListener('gap', () => {
      this.gaps++;
      this.lastGapAt = Date.now();
    });
    this.source.addEventListener('message', (event) => {
      this.received.push((JSON.parse((event as MessageEvent<string>).data) as Published).n);
    });
  }

  close(): void {
    this.source.close();
  }
}

/** nginx, and the store's server when one is named, are installed (else the test skips, loudly; in CI it fails). */
export function servicesPresent(t: TestContext, backend?: 'redis' | 'nats'): boolean {
  if (!requireService(t, 'nginx', nginxInstalled(), 'apt-get install nginx (/usr/sbin/nginx)')) return false;
  if (backend === 'redis')
    return requireService(t, 'redis-server', redisServerInstalled, 'apt-get install redis-server');
  if (backend === 'nats')
    return requireService(t, 'nats-server', natsServerInstalled, 'apt-get install nats-server');
  return true;
}

/** A private redis-server or nats-server for this test (stopped after it) and the `--store` URL for it. */
export async function startStore(
  t: TestContext,
  backend: 'redis' | 'nats',
): Promise<{ server: TestRedisServer | TestNatsServer; store: string }> {
  const server = backend === 'redis' ? await TestRedisServer.start() : await TestNatsServer.start();
  t.after(() => server.stop());
  return { server, store: server instanceof TestRedisServer ? server.url : `nats://${server.url}` };
}

/** `count` subscribers through nginx, each on one or two of `topics`; resolves when all are open. */
export async function subscribe(
  cluster: LocalCluster,
  count: number,
  topics: readonly string[] = TOPICS,
): Promise<Subscriber[]> {
  const subscribers: Subscriber[] = [];
  for (let i = 0; i < count; i++) {
    const first = topics[i % topics.length]!;
    const chosen = i % 3 === 0 ? [first, topics[(i + 1) % topics.length]!] : [first];
    subscribers.push(new Subscriber(cluster.url, chosen));
  }
  const deadline = Date.now() + 20_000;
  while (subscribers.some((s) => s.opens === 0)) {
    if (Date.now() > deadline)
      throw new Error(`${subscribers.filter((s) => s.opens === 0).length} subscribers never opened`);
    await sleep(50);
  }
  return subscribers;
}

/**
 * Publishes one update at a time (so the acknowledged order is the stored order), `rate` a second, each to
 * a random running node or to nginx. `acked` holds those answered 200; `uncertain` those whose fate the
 * publisher cannot know (the connection died after the request was sent): they may or may not have been
 * stored. A refused connection or a 503 from the hub certainly stored nothing.
 */
export class SteadyPublisher {
  readonly acked: Published[] = [];
  readonly uncertain = new Set<number>();
  failed = 0;
  private next = 1;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly cluster: LocalCluster,
    private readonly rate: number,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    const token = await mintPublisherToken(JWT_KEY, ['*']);
    const interval = 1000 / this.rate;
    let due = Date.now();
    while (this.running) {
      const n = this.next++;
      const topic = TOPICS[Math.floor(Math.random() * TOPICS.length)]!;
      const running = this.cluster.nodes.filter((node) => node.running);
      const target =
        n % 2 === 0 || running.length === 0
          ? this.cluster.url
          : running[Math.floor(Math.random() * running.length)]!.url;
      try {
        const res = await fetch(`${target}/.well-known/mercure`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ topic, data: JSON.stringify({ n, topic }) }),
          signal: AbortSignal.timeout(8000),
        });
        const body = await res.text();
        if (res.status === 200) this.acked.push({ n, topic, at: Date.now() });
        // The engine says when a lost connection leaves it unknown whether Redis stored the update.
        else if (res.status === 503 && /may have been stored/.test(body)) this.uncertain.add(n);
        else if (res.status === 503 || (res.status >= 400 && res.status < 500)) this.failed++;
        // nginx's 502/504: the node may have stored it before it died.
        else this.uncertain.add(n);
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code;
        if (code === 'ECONNREFUSED') this.failed++;
        else this.uncertain.add(n);
      }
      due += interval;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      else due = Date.now();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/**
 * Waits until every subscriber has the last acknowledged update of its topics, then checks each got
 * exactly the acknowledged sequence for its topics, in order, nothing twice; the only extra updates
 * allowed are uncertain ones (each at most once).
 */
export async function expectExactDelivery(
  subscribers: Subscriber[],
  publisher: SteadyPublisher,
  options: { allowGaps?: boolean } = {},
): Promise<void> {
  const expectedFor = (s: Subscriber) =>
    publisher.acked.filter((p) => s.topics.includes(p.topic)).map((p) => p.n);
  const deadline = Date.now() + 25_000;
  for (;;) {
    const behind = subscribers.filter((s) => {
      const expected = expectedFor(s);
      const last = expected[expected.length - 1];
      return last !== undefined && !s.received.includes(last);
    });
    if (behind.length === 0) break;
    if (Date.now() > deadline) {
      const s = behind[0]!;
      assert.fail(
        `${behind.length} subscribers never got their last update; one has ${s.received.length} of ` +
          `${expectedFor(s).length} (state ${s.source.readyState}, opens ${s.opens}, gaps ${s.gaps}, ` +
          `last ${s.received.at(-1)}, expected last ${expectedFor(s).at(-1)}, last error: ${s.lastError || 'none'}; ` +
          `missing ${expectedFor(s)
            .filter((n) => !s.received.includes(n))
            .slice(0, 20)
            .join(' ')})`,
      );
    }
    await sleep(100);
  }
  assert.ok(publisher.acked.length > 0, 'something was published');
  for (const s of subscribers) {
    const expected = expectedFor(s);
    assert.equal(
      new Set(s.received).size,
      s.received.length,
      `no update delivered twice (topics ${s.topics.join(' ')})`,
    );
    const extra = s.received.filter((n) => !expected.includes(n));
    for (const n of extra)
      assert.ok(publisher.uncertain.has(n), `update ${n} was delivered but never acknowledged`);
    const certain = s.received.filter((n) => !publisher.uncertain.has(n) || expected.includes(n));
    if (!options.allowGaps)
      assert.deepEqual(certain, expected, `exactly the acknowledged sequence for ${s.topics.join(' ')}`);
    if (!options.allowGaps) assert.equal(s.gaps, 0, 'no gap reported');
  }
}
