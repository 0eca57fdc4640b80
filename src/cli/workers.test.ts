/**
 * `crier serve --workers N`, through the command line with real sockets: the guarantees of one process
 * (one order per topic, replay on any worker, private updates, limits, metrics, the subscriptions API)
 * and the faults (a worker SIGKILLed under load, the primary SIGKILLed with a SQLite store, bad counts).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisServerInstalled, TestRedisServer } from '../engines/redis/redis-server.test-helpers.js';
import { mintPublisherToken, mintSubscriberToken } from '../mercure/publisher.js';
import { requireService } from '../testing/services.test-helpers.js';

const entry = new URL('./crier.ts', import.meta.url).pathname;
const KEY = 'a-key-for-the-workers-tests-of-crier-0123456789';

interface RunningHub {
  readonly child: ChildProcess;
  readonly url: string;
  readonly origin: string;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

async function startHub(args: string[]): Promise<RunningHub> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, 'serve', '--port', '0', '--log-level', 'warn', '--jwt-key', KEY, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (c) => {
    err += c;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk;
    if (/listening on .*\n/.test(out)) break;
  }
  child.stdout!.resume();
  const match = /listening on (\S+)\s+\(Mercure hub: (\S+)\)/.exec(out);
  assert.ok(match, `the hub did not start: ${out}${err}`);
  return { child, origin: match[1]!, url: match[2]!, exited, stderr: () => err };
}

/** SIGTERM to the primary (unless it is already gone), and its exit awaited. */
async function stopHub(hub: RunningHub): Promise<number | null> {
  if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGTERM');
  return hub.exited;
}

/** The process that answered a response: the hub's request IDs start with its PID in base 36. */
function pidOf(headers: Record<string, unknown>): number {
  return Number.parseInt(String(headers['x-request-id']).split('-')[0]!, 36);
}

/**
 * Node's round-robin scheduler keeps the one connection it was handing to a worker at the instant the worker
 * died, unanswered (docs/hub.md, "All the cores"): a client gives up on a request with no answer after
 * 3 s and retries, as real clients do after their connect timeout.
 */
function giveUpWithoutAnswer(req: ReturnType<typeof request>): void {
  const timer = setTimeout(
    () => req.destroy(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })),
    3_000,
  );
  req.once('response', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
}

/** Publishes over a new connection (so node:cluster deals it to the next worker); resolves with status and body. */
function publish(
  hub: RunningHub,
  token: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const body = new URLSearchParams(fields).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      hub.url,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    giveUpWithoutAnswer(req);
    req.end(body);
  });
}

/** Publishes, retrying a connection that failed before any answer (a worker killed under it) with the same ID. */
async function publishSure(hub: RunningHub, token: string, fields: Record<string, string>): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { status, body } = await publish(hub, token, fields);
      assert.equal(status, 200, body);
      return body;
    } catch (error) {
      if (attempt >= 5 || (error as { code?: string }).code === undefined) throw error;
      await sleep(20);
    }
  }
}

/**
 * A subscriber that resumes like an EventSource: on every end of its stream it reconnects at once with
 * the last ID it saw, over a new connection. Records every event, and the worker of every connection.
 */
class Subscriber {
  readonly events: { id: string; data: string }[] = [];
  readonly pids: number[] = [];
  readonly replays: string[] = [];
  status = 0;
  private stopped = false;
  private lastId: string | undefined;
  private current: ReturnType<typeof request> | undefined;

  constructor(
    private readonly hub: RunningHub,
    private readonly token: string,
    private readonly topics: string[],
    private readonly resume = true,
    /** The ID to resume from on the first connect. */
    from?: string,
  ) {
    this.lastId = from;
  }

  /** Connects; resolves once the stream is open (or refused: `status` says which). */
  open(): Promise<void> {
    const url = new URL(this.hub.url);
    for (const t of this.topics) url.searchParams.append('topic', t);
    return new Promise((resolve) => {
      const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
      if (this.lastId !== undefined) headers['last-event-id'] = this.lastId;
      const req = request(url, { agent: false, headers }, (res) => {
        this.status = res.statusCode!;
        this.pids.push(pidOf(res.headers));
        const replay = res.headers['crier-replay'];
        if (replay !== undefined) this.replays.push(String(replay));
        resolve();
        if (res.statusCode !== 200) {
          res.resume();
          return;
        }
        let buffer = '';
        let id: string | undefined;
        let data: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl = buffer.indexOf('\n');
          while (nl !== -1) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line === '') {
              if (data.length > 0) {
                this.events.push({ id: id ?? '', data: data.join('\n') });
                if (id !== undefined) this.lastId = id;
              }
              id = undefined;
              data = [];
            } else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
            nl = buffer.indexOf('\n');
          }
        });
        res.on('close', () => this.again());
      });
      req.on('error', () => {
        resolve();
        this.again();
      });
      giveUpWithoutAnswer(req);
      req.end();
      this.current = req;
    });
  }

  private again(): void {
    if (this.stopped || !this.resume) return;
    setTimeout(() => {
      if (!this.stopped) void this.open();
    }, 20);
  }

  async waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline)
        assert.fail(`a subscriber got ${this.events.length} of ${count} events (workers ${this.pids})`);
      await sleep(10);
    }
  }

  close(): void {
    this.stopped = true;
    this.current?.destroy();
  }
}

/** Opens subscribers until they are spread over `workers` distinct processes (connections are dealt in turn). */
async function subscribersOnEveryWorker(
  hub: RunningHub,
  token: string,
  topics: string[],
  workers: number,
  perWorker = 1,
): Promise<Subscriber[]> {
  const subscribers: Subscriber[] = [];
  const count = () => {
    const n = new Map<number, number>();
    for (const s of subscribers) n.set(s.pids[0]!, (n.get(s.pids[0]!) ?? 0) + 1);
    return n;
  };
  while (count().size < workers || [...count().values()].some((c) => c < perWorker)) {
    assert.ok(subscribers.length < workers * perWorker * 4, 'connections were not spread over the workers');
    const s = new Subscriber(hub, token, topics);
    await s.open();
    assert.equal(s.status, 200);
    subscribers.push(s);
  }
  return subscribers;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function metric(hub: RunningHub, name: string): Promise<number> {
  const text = await (await fetch(`${hub.origin}/metrics`)).text();
  const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(line, `${name} is in /metrics`);
  return Number(line[1]);
}

describe('crier serve --workers', () => {
  test('--workers 0, 257 or a word exits with status 2 and says what it takes', async () => {
    for (const value of ['0', '257', 'many']) {
      const child = spawn(process.execPath, ['--import', 'tsx', entry, 'serve', '--workers', value], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (c) => {
        err += c;
      });
      const [code] = await once(child, 'exit');
      assert.equal(code, 2, value);
      assert.match(err, /--workers: expected auto or a number of worker processes from 1 to 256/, value);
    }
  });

  test('with 3 workers every subscriber gets every update once, in the one order, and private ones only when allowed', async (t) => {
    const hub = await startHub(['--workers', '3']);
    t.after(() => stopHub(hub));
    const publisher = await mintPublisherToken(KEY, ['*']);
    const allowed = await mintSubscriberToken(KEY, ['orders']);
    const publicOnly = await mintSubscriberToken(KEY, []);
    const subscribers = await subscribersOnEveryWorker(hub, allowed, ['orders'], 3);
    const outsiders = await subscribersOnEveryWorker(hub, publicOnly, ['orders'], 3);
    // Three publishers at once, each over new connections dealt to every worker in turn.
    await Promise.all(
      [0, 1, 2].map(async (p) => {
        for (let i = 0; i < 30; i++) {
          const fields: Record<string, string> = { topic: 'orders', data: `${p}.${i}` };
          if (i % 10 === 9) fields.private = 'on';
          await publishSure(hub, publisher, fields);
        }
      }),
    );
    for (const s of subscribers) await s.waitFor(90);
    for (const s of outsiders) await s.waitFor(81);
    await sleep(100); // nothing more arrives
    const order = subscribers[0]!.events.map((e) => e.data);
    assert.equal(new Set(order).size, 90);
    for (const s of subscribers)
      assert.deepEqual(
        s.events.map((e) => e.data),
        order,
      );
    for (const p of [0, 1, 2]) {
      const mine = order.filter((d) => d.startsWith(`${p}.`));
      assert.deepEqual(
        mine,
        Array.from({ length: 30 }, (_, i) => `${p}.${i}`),
        "each publisher's order kept",
      );
    }
    const publicOrder = order.filter((d) => Number(d.split('.')[1]) % 10 !== 9);
    for (const s of outsiders)
      assert.deepEqual(
        s.events.map((e) => e.data),
        publicOrder,
      );
    for (const s of [...subscribers, ...outsiders]) s.close();
  });

  test('--ids sequence and opaque: IDs issued on any worker resolve on every worker, replay without gap or duplicate', async (t) => {
    for (const form of [
      ['--ids', 'sequence'],
      ['--ids', 'opaque', '--ids-key', 'an-ids-key-for-the-workers-tests'],
    ]) {
      const hub = await startHub(['--workers', '2', ...form]);
      t.after(() => stopHub(hub));
      const publisher = await mintPublisherToken(KEY, ['*']);
      const reader = await mintSubscriberToken(KEY, []);
      const ids: string[] = [];
      for (let i = 0; i < 6; i++)
        ids.push(await publishSure(hub, publisher, { topic: 'ids', data: `u${i}` }));
      assert.equal(new Set(ids).size, 6);
      for (const id of ids)
        assert.match(id, form[1] === 'sequence' ? /^#[0-9a-z]{8}-\d+$/ : /^#[A-Za-z0-9_-]{22}$/);
      // Resumes from the second update on new connections, which node:cluster deals to both workers.
      const pids = new Set<number>();
      for (let k = 0; k < 4; k++) {
        const s = new Subscriber(hub, reader, ['ids'], false, ids[1]);
        await s.open();
        assert.equal(s.status, 200);
        await s.waitFor(4);
        await sleep(30);
        pids.add(s.pids[0]!);
        assert.deepEqual(
          s.events.map((e) => [e.id, e.data]),
          [2, 3, 4, 5].map((i) => [ids[i], `u${i}`]),
        );
        s.close();
      }
      assert.equal(pids.size, 2, 'the resumes were served by both workers');
      await stopHub(hub);
    }
  });

  test('/metrics, the subscriptions API and the limits count the whole server, not one worker', async (t) => {
    const hub = await startHub([
      '--workers',
      '2',
      '--subscriptions',
      '--max-connections-per-ip',
      '4',
      '--publish-rate',
      '5',
    ]);
    t.after(() => stopHub(hub));
    const token = await mintSubscriberToken(KEY, ['*']);
    const subscribers: Subscriber[] = [];
    for (let i = 0; i < 8; i++) {
      const s = new Subscriber(hub, token, [`room/${i}`], false);
      await s.open();
      subscribers.push(s);
    }
    const open = subscribers.filter((s) => s.status === 200);
    // Each of the 2 workers admits its share of the address's 4: never more than 4 in all.
    assert.ok(open.length <= 4 && open.length >= 2, `${open.length} subscribers admitted`);
    assert.ok(subscribers.some((s) => s.status === 429));
    assert.equal(new Set(open.map((s) => s.pids[0])).size, 2, 'the admitted subscribers are on both workers');
    assert.equal(await metric(hub, 'crier_connections'), open.length);
    assert.equal(await metric(hub, 'crier_engine_ready'), 1);
    const list = (await (
      await fetch(`${hub.url}/subscriptions`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { subscriptions: { topic: string }[] };
    assert.deepEqual(
      list.subscriptions.map((s) => s.topic).sort(),
      open.map((s) => (s as unknown as { topics: string[] }).topics[0]).sort(),
    );
    // The publish rate is one bucket for the whole server: 20 publishes at once over new connections
    // (dealt to both workers) get the burst of 5 plus what refills meanwhile, not 5 per worker.
    const publisher = await mintPublisherToken(KEY, ['*']);
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => publish(hub, publisher, { topic: 'x', data: String(i) })),
    );
    const seconds = (performance.now() - started) / 1000;
    const accepted = results.filter((r) => r.status === 200).length;
    assert.ok(accepted <= 5 + Math.ceil(seconds * 5), `${accepted} accepted in ${seconds} s`);
    assert.ok(results.some((r) => r.status === 429));
    for (const s of subscribers) s.close();
  });

  for (const workers of [2, 3]) {
    test(`with ${workers} workers, a worker SIGKILLed under load: its subscribers resume on the others with nothing lost or duplicated`, async (t) => {
      const hub = await startHub(['--workers', String(workers)]);
      t.after(() => stopHub(hub));
      const publisher = await mintPublisherToken(KEY, ['*']);
      const token = await mintSubscriberToken(KEY, ['*']);
      const subscribers = await subscribersOnEveryWorker(hub, token, ['scores'], workers, 4);
      const victim = subscribers[0]!.pids[0]!;
      const total = 400;
      for (let i = 0; i < total; i++) {
        if (i === 150) process.kill(victim, 'SIGKILL');
        await publishSure(hub, publisher, { topic: 'scores', data: String(i) });
      }
      const expected = Array.from({ length: total }, (_, i) => String(i));
      for (const s of subscribers) await s.waitFor(total);
      await sleep(100);
      for (const s of subscribers) {
        assert.deepEqual(
          s.events.map((e) => e.data),
          expected,
        );
        assert.ok(
          s.replays.every((r) => r === 'ok'),
          `every resume was served from history: ${s.replays}`,
        );
      }
      const moved = subscribers.filter((s) => s.pids[0] === victim);
      assert.ok(moved.length >= 4);
      for (const s of moved) assert.ok(s.pids.length >= 2 && s.pids.at(-1) !== victim, 'resumed elsewhere');
      assert.equal(alive(victim), false);
      // The dead worker was replaced: the server holds as many workers as asked.
      const seen = new Set<number>();
      for (let i = 0; i < workers * 4 && seen.size < workers; i++) {
        const s = new Subscriber(hub, token, ['scores'], false);
        await s.open();
        seen.add(s.pids[0]!);
        s.close();
      }
      assert.equal(seen.size, workers);
      assert.ok(!seen.has(victim));
      for (const s of subscribers) s.close();
      assert.equal(await stopHub(hub), 0, 'SIGTERM closes the workers and the primary exits 0');
    });
  }

  test('with --store redis:// each worker is a node of the Redis cluster: a publish on any worker reaches subscribers on every worker', async (t) => {
    if (!requireService(t, 'redis-server', redisServerInstalled, 'apt-get install redis-server')) return;
    const redis = await TestRedisServer.start();
    t.after(() => redis.stop());
    const hub = await startHub(['--workers', '2', '--store', redis.url]);
    t.after(() => stopHub(hub));
    const publisher = await mintPublisherToken(KEY, ['*']);
    const token = await mintSubscriberToken(KEY, ['*']);
    const subscribers = await subscribersOnEveryWorker(hub, token, ['weather'], 2);
    for (let i = 0; i < 20; i++) await publishSure(hub, publisher, { topic: 'weather', data: String(i) });
    for (const s of subscribers) await s.waitFor(20);
    await sleep(50);
    const expected = Array.from({ length: 20 }, (_, i) => String(i));
    for (const s of subscribers)
      assert.deepEqual(
        s.events.map((e) => e.data),
        expected,
      );
    // A subscriber resuming on either worker gets the rest from Redis.
    const late = new Subscriber(hub, token, ['weather'], false);
    (late as unknown as { lastId: string }).lastId = subscribers[0]!.events[14]!.id;
    await late.open();
    await late.waitFor(5);
    assert.deepEqual(
      late.events.map((e) => e.data),
      ['15', '16', '17', '18', '19'],
    );
    for (const s of [...subscribers, late]) s.close();
  });

  test('the primary SIGKILLed: the workers exit, and a restart on the SQLite store resumes from it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-workers-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const store = `sqlite:${join(dir, 'crier.db')}`;
    const publisher = await mintPublisherToken(KEY, ['*']);
    const token = await mintSubscriberToken(KEY, ['*']);
    const first = await startHub(['--workers', '2', '--store', store]);
    t.after(() => stopHub(first));
    const subscribers = await subscribersOnEveryWorker(first, token, ['news'], 2);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(await publishSure(first, publisher, { topic: 'news', data: `${i}` }));
    for (const s of subscribers) await s.waitFor(10);
    for (const s of subscribers) s.close();
    const workerPids = [...new Set(subscribers.map((s) => s.pids[0]!))];
    first.child.kill('SIGKILL');
    await first.exited;
    const deadline = Date.now() + 10_000;
    while (workerPids.some(alive)) {
      assert.ok(Date.now() < deadline, 'the workers exit when their primary is gone');
      await sleep(20);
    }
    const second = await startHub(['--workers', '2', '--store', store]);
    t.after(() => stopHub(second));
    for (let i = 10; i < 15; i++) await publishSure(second, publisher, { topic: 'news', data: `${i}` });
    // A subscriber of the first run resumes from its last ID on the restarted server, on any worker.
    const resumed = new Subscriber(second, token, ['news'], false);
    (resumed as unknown as { lastId: string }).lastId = ids[4]!;
    await resumed.open();
    await resumed.waitFor(10);
    await sleep(50);
    assert.deepEqual(
      resumed.events.map((e) => e.data),
      ['5', '6', '7', '8', '9', '10', '11', '12', '13', '14'],
    );
    assert.deepEqual(resumed.replays, ['ok']);
    resumed.close();
    assert.equal(await stopHub(second), 0);
  });
});
