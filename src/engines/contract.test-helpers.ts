/**
 * The engine contract suite: the behaviour every `Engine` must show, as node:test tests. An engine's test
 * file registers it with one call:
 *
 * ```ts
 * engineContract('RedisStreamsEngine', async ({ history }) => {
 *   const engine = new RedisStreamsEngine({ url, keyPrefix: `test-${randomUUID()}:`, history });
 *   return { engine, cleanup: () => deleteKeys() };
 * });
 * ```
 *
 * `make` is called once per test and must return a fresh, empty log (a new key prefix, a new file, a new
 * stream) configured with the `history` bounds it is given (each undefined bound: the engine's default).
 * The suite closes every engine it gets (and calls `cleanup` last), so tests do not share state.
 *
 * - Durable engines (SQLite, Redis, NATS) pass `{ durable: true }` and return `restart`: it closes the
 *   engine as a stopping hub would, and opens a new one on the same storage with the same bounds. For a
 *   broker-backed engine, restarting the broker itself belongs in the engine's own tests.
 * - `history.now` is a clock the suite controls. An engine that cannot take a clock (history aged by a
 *   server's time) passes `{ clock: 'real' }`: the age test then uses a real 300 ms bound and waits.
 * - Live delivery may be asynchronous (Redis, NATS): the suite waits for followers (up to
 *   `deliveryTimeoutMs`, default 5 s) and never assumes `follow` is called before `publish` resolves.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { CrierError } from '../protocol/errors.js';
import type { Engine, EngineFollower, HistoryRead, StoredUpdate, Update } from './engine.js';

/** History bounds the suite asks for; an undefined bound means the engine's default. */
export interface ContractHistory {
  readonly maxCount?: number;
  readonly maxBytes?: number;
  readonly maxAgeMs?: number;
  /** The clock to age history by (milliseconds since the Unix epoch). */
  readonly now?: () => number;
}

/** What a test asks `make` for. */
export interface ContractSetup {
  readonly history: ContractHistory;
}

/** What `make` returns: a fresh engine, and for durable engines a way to restart it on the same storage. */
export interface ContractSubject {
  readonly engine: Engine;
  /** Closes the current engine and opens a new one on the same storage. Required with `durable: true`. */
  readonly restart?: () => Promise<Engine>;
  /** Called after the engines are closed: delete the file, the keys, the stream. */
  readonly cleanup?: () => Promise<void>;
}

export interface EngineContractOptions {
  /** The engine keeps history across a restart: the restart tests run and `restart` is required. */
  readonly durable?: boolean;
  /** `injected` (default): the engine ages history by `history.now`. `real`: by wall-clock time. */
  readonly clock?: 'injected' | 'real';
  /** How long to wait for followers to see published updates. Default 5,000 ms. */
  readonly deliveryTimeoutMs?: number;
  /** Runs of the randomized join test. Default 25. */
  readonly joinRuns?: number;
  /**
   * What `readAfter` gives for an ID whose earliest update was trimmed while a later update with the same
   * ID is still kept. `expired` (default): the engine remembers the trim and tells the gap. `later-copy`:
   * it cannot tell (NATS JetStream), resolves to the earliest copy still kept, and skips that test.
   */
  readonly reusedIdAfterTrim?: 'expired' | 'later-copy';
}

/**
 * Registers the contract tests for one engine under `describe(`${name} engine contract`)`. `make` may
 * ignore the setup it is given only where the test does not depend on it (the bounds tests do).
 */
export function engineContract(
  name: string,
  make: (setup: ContractSetup) => Promise<ContractSubject>,
  options: EngineContractOptions = {},
): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 5000;
  const clock = options.clock ?? 'injected';

  /** Runs `body` with a fresh engine; closes whatever engines it produced and cleans up, pass or fail. */
  async function withEngine(
    history: ContractHistory,
    body: (engine: Engine, subject: ContractSubject & { current: () => Engine }) => Promise<void>,
  ): Promise<void> {
    const made = await make({ history });
    const engines = [made.engine];
    let current = made.engine;
    const subject = {
      ...made,
      current: () => current,
      restart:
        made.restart === undefined
          ? undefined
          : async () => {
              current = await made.restart!();
              engines.push(current);
              return current;
            },
    };
    try {
      await body(made.engine, subject);
    } finally {
      for (const e of engines) await e.close();
      await made.cleanup?.();
    }
  }

  /** A follower that records what it sees and fails the test on a reset. */
  function recorder(): EngineFollower & { seen: StoredUpdate[]; resets: string[] } {
    const seen: StoredUpdate[] = [];
    const resets: string[] = [];
    return { seen, resets, update: (u) => seen.push(u), reset: (r) => resets.push(r) };
  }

  async function until(what: string, done: () => boolean): Promise<void> {
    const deadline = Date.now() + deliveryTimeoutMs;
    while (!done()) {
      if (Date.now() > deadline) assert.fail(`timed out after ${deliveryTimeoutMs} ms waiting for ${what}`);
      await sleep(2);
    }
  }

  describe(`${name} engine contract`, () => {
    test('publish resolves with the stored update: every field kept, an ID generated when absent', async () => {
      await withEngine({}, async (engine) => {
        const full: Update = {
          topics: ['https://example.com/books/1', 'urn:alt'],
          data: 'line 1\nline 2 ✓',
          id: `publisher-${randomUUID()}`,
          event: 'book.updated',
          retry: 1500,
          private: true,
        };
        const stored = await engine.publish(full);
        const position = await engine.position();
        const expected = {
          ...full,
          id: full.id!,
          offset: stored.offset,
          epoch: position.epoch,
          time: stored.time,
        };
        assert.deepEqual(fields(stored), fields(expected));
        assert.equal(typeof stored.epoch, 'string');
        assert.ok(Number.isFinite(stored.time), 'time is a number of milliseconds');

        const a = await engine.publish({ topics: ['t'], data: '' });
        const b = await engine.publish({ topics: ['t'], data: 'b', private: false });
        assert.equal(a.id.length > 0, true);
        assert.notEqual(a.id, b.id);
        assert.notEqual(a.id, stored.id);
        for (const id of [a.id, b.id])
          assert.doesNotMatch(id, /[\r\n\0]/, 'generated IDs have no CR, LF, NUL');
        assert.equal(a.private, undefined);
        assert.equal(b.private, false);
        assert.equal(a.event, undefined);
        assert.equal(a.retry, undefined);
      });
    });

    test('offsets are consecutive and increasing in publish order, and position is the newest', async () => {
      await withEngine({}, async (engine) => {
        const before = await engine.position();
        const offsets: number[] = [];
        for (let i = 0; i < 20; i++)
          offsets.push((await engine.publish({ topics: ['t'], data: `${i}` })).offset);
        const first = offsets[0]!;
        assert.ok(first >= 1 && first > before.offset, 'offsets are positive and after the position');
        assert.deepEqual(
          offsets,
          offsets.map((_, i) => first + i),
        );
        const after = await engine.position();
        assert.deepEqual(after, { epoch: before.epoch, offset: offsets.at(-1) });
      });
    });

    test('generated IDs stay unique across a fresh log (another epoch)', async () => {
      const ids = new Set<string>();
      for (let round = 0; round < 2; round++) {
        await withEngine({}, async (engine) => {
          for (let i = 0; i < 3; i++) ids.add((await engine.publish({ topics: ['t'], data: '' })).id);
        });
      }
      assert.equal(ids.size, 6);
    });

    test('a follower sees every update exactly once, in offset order, even from concurrent publishes', async () => {
      await withEngine({}, async (engine) => {
        const follower = recorder();
        const stop = engine.follow(follower);
        const concurrent = await Promise.all(
          Array.from({ length: 50 }, (_, i) => engine.publish({ topics: [`t${i % 3}`], data: `${i}` })),
        );
        const sequential: StoredUpdate[] = [];
        for (let i = 0; i < 10; i++) sequential.push(await engine.publish({ topics: ['t'], data: `s${i}` }));
        const published = [...concurrent, ...sequential].sort((x, y) => x.offset - y.offset);
        await until('60 updates', () => follower.seen.length >= 60);
        assert.deepEqual(follower.seen.map(fields), published.map(fields));
        assert.deepEqual(follower.resets, []);

        // After stopping, nothing more arrives: a second follower proves the next update was delivered.
        stop();
        const witness = recorder();
        engine.follow(witness);
        await engine.publish({ topics: ['t'], data: 'after stop' });
        await until('the witness to see the update', () => witness.seen.length === 1);
        assert.equal(follower.seen.length, 60);
      });
    });

    test('readAfter each ID returns exactly the later updates, oldest first, and a covering position', async () => {
      await withEngine({}, async (engine) => {
        const published: StoredUpdate[] = [];
        for (let i = 0; i < 12; i++) {
          const id = i % 3 === 0 ? `given-${i}-${randomUUID()}` : undefined;
          published.push(await engine.publish({ topics: [`t${i % 2}`], data: `${i}`, id, event: `e${i}` }));
        }
        const last = published.at(-1)!;
        for (const [i, u] of published.entries()) {
          const read = await engine.readAfter(u.id);
          assert.equal(read.status, 'ok', `readAfter(${u.id})`);
          assert.deepEqual(updatesOf(read).map(fields), published.slice(i + 1).map(fields));
          assert.equal(read.position.epoch, last.epoch);
          assert.ok(read.position.offset >= last.offset);
        }
      });
    });

    test('readAll returns every update still in history, oldest first, after the count bound', async () => {
      await withEngine({ maxCount: 5 }, async (engine) => {
        const empty = await engine.readAll();
        assert.equal(empty.status, 'ok');
        assert.deepEqual(empty.updates, []);
        const published: StoredUpdate[] = [];
        for (let i = 0; i < 9; i++)
          published.push(await engine.publish({ topics: [`t${i % 2}`], data: `${i}` }));
        const all = await engine.readAll();
        assert.equal(all.status, 'ok');
        assert.deepEqual(all.updates.map(fields), published.slice(4).map(fields));
        assert.deepEqual(all.position, { epoch: published[8]!.epoch, offset: published[8]!.offset });
      });
    });

    // Mercure (spec/mercure.md §7, "Reconnection"): an ID shared by several updates resolves to the EARLIEST
    // of them, and everything after it is sent, later updates with the same ID included. Resolving to the
    // newest would let a publisher of another topic reuse an ID to make its subscribers skip updates.
    test('a reused ID resolves to the earliest update with it; replay sends all after it, later copies included', async () => {
      await withEngine({}, async (engine) => {
        await engine.publish({ topics: ['b'], data: '1', id: 'same' });
        const two = await engine.publish({ topics: ['b'], data: '2' });
        const copy = await engine.publish({ topics: ['a'], data: '3', id: 'same' });
        const four = await engine.publish({ topics: ['b'], data: '4' });
        const copy2 = await engine.publish({ topics: ['a'], data: '5', id: 'same' });
        const read = await engine.readAfter('same');
        assert.equal(read.status, 'ok');
        assert.deepEqual(updatesOf(read).map(fields), [two, copy, four, copy2].map(fields));
      });
    });

    test('a publisher reusing a generated ID does not move it: it names the update it was generated for', async () => {
      await withEngine({}, async (engine) => {
        const generated = await engine.publish({ topics: ['b'], data: '1' });
        const two = await engine.publish({ topics: ['b'], data: '2' });
        const forged = await engine.publish({ topics: ['a'], data: '3', id: generated.id });
        const four = await engine.publish({ topics: ['b'], data: '4' });
        const read = await engine.readAfter(generated.id);
        assert.equal(read.status, 'ok');
        assert.deepEqual(updatesOf(read).map(fields), [two, forged, four].map(fields));
      });
    });

    if (options.reusedIdAfterTrim !== 'later-copy') {
      test('an ID whose earliest update was trimmed reads expired, even while a later update with it is kept', async () => {
        await withEngine({ maxCount: 3 }, async (engine) => {
          await engine.publish({ topics: ['b'], data: '1', id: 'reused' });
          await engine.publish({ topics: ['b'], data: '2' });
          await engine.publish({ topics: ['a'], data: '3', id: 'reused' });
          await engine.publish({ topics: ['b'], data: '4' });
          // Kept: 2, 3 (the later copy) and 4. The subscriber holding "reused" may have meant update 1,
          // whose successors are partly gone: a gap to tell, never an `ok` from the later copy.
          assert.equal((await engine.readAfter('reused')).status, 'expired');
          // Published again after the trim: still ambiguous, still expired while the trim is remembered.
          await engine.publish({ topics: ['a'], data: '5', id: 'reused' });
          assert.equal((await engine.readAfter('reused')).status, 'expired');
        });
      });
    }

    test('readAfter an ID the engine never stored answers unknown, with the position', async () => {
      await withEngine({}, async (engine) => {
        const u = await engine.publish({ topics: ['t'], data: '1' });
        for (const id of [`never-${randomUUID()}`, 'x', '']) {
          const read = await engine.readAfter(id);
          assert.equal(read.status, 'unknown', `readAfter(${JSON.stringify(id)})`);
          assert.deepEqual(read.position, { epoch: u.epoch, offset: u.offset });
        }
      });
    });

    test('the count bound trims the oldest updates, and their IDs are expired, never ok', async () => {
      await withEngine({ maxCount: 5 }, async (engine) => {
        const published: StoredUpdate[] = [];
        for (let i = 0; i < 12; i++) {
          const id = i === 1 ? `given-${randomUUID()}` : undefined;
          published.push(await engine.publish({ topics: ['t'], data: `${i}`, id }));
        }
        // Kept: the newest five (indexes 7..11).
        for (let i = 0; i < 7; i++) {
          const read = await engine.readAfter(published[i]!.id);
          const kind = i === 1 ? 'publisher' : 'generated';
          assert.equal(read.status, 'expired', `trimmed ${kind} ID #${i}`);
        }
        const oldestKept = await engine.readAfter(published[7]!.id);
        assert.equal(oldestKept.status, 'ok');
        assert.deepEqual(updatesOf(oldestKept).map(fields), published.slice(8).map(fields));
      });
    });

    test('the byte bound trims the oldest updates and keeps at least the newest', async () => {
      const maxBytes = 8 * 1024;
      await withEngine({ maxBytes }, async (engine) => {
        const published: StoredUpdate[] = [];
        for (let i = 0; i < 30; i++) {
          published.push(await engine.publish({ topics: ['t'], data: `${i}`.padEnd(1000, '.') }));
        }
        assert.equal((await engine.readAfter(published[0]!.id)).status, 'expired');
        // What is still readable (the oldest readable ID and everything after it) fits the bound.
        let oldest = -1;
        for (const [i, u] of published.entries()) {
          if ((await engine.readAfter(u.id)).status === 'ok') {
            oldest = i;
            break;
          }
        }
        assert.ok(oldest >= 0 && oldest <= 28, 'at least the two newest are kept');
        const kept = published.slice(oldest);
        assert.ok(kept.reduce((n, u) => n + u.data.length, 0) <= maxBytes, `kept ${kept.length} updates`);
        for (const u of published.slice(oldest)) assert.equal((await engine.readAfter(u.id)).status, 'ok');
        for (const u of published.slice(0, oldest))
          assert.equal((await engine.readAfter(u.id)).status, 'expired');

        // One update larger than the bound is still kept: it is the newest.
        const big = await engine.publish({ topics: ['t'], data: 'x'.repeat(maxBytes * 2) });
        const before = await engine.readAfter(published.at(-1)!.id);
        assert.notEqual(before.status, 'unknown');
        if (before.status === 'ok') assert.deepEqual(updatesOf(before).map(fields), [fields(big)]);
        const after = await engine.readAfter(big.id);
        assert.equal(after.status, 'ok');
        assert.deepEqual(updatesOf(after), []);
      });
    });

    test('the age bound expires updates older than maxAgeMs', async () => {
      let now = Date.now();
      const injected = clock === 'injected';
      const maxAgeMs = injected ? 60_000 : 300;
      const pass = async (ms: number) => {
        if (injected) now += ms;
        else await sleep(ms);
      };
      await withEngine({ maxAgeMs, now: injected ? () => now : undefined }, async (engine) => {
        const old = await engine.publish({ topics: ['t'], data: 'old' });
        await pass(maxAgeMs * 2);
        const fresh = await engine.publish({ topics: ['t'], data: 'fresh' });
        const newest = await engine.publish({ topics: ['t'], data: 'newest' });
        assert.equal((await engine.readAfter(old.id)).status, 'expired');
        const read = await engine.readAfter(fresh.id);
        assert.equal(read.status, 'ok');
        assert.deepEqual(updatesOf(read).map(fields), [fields(newest)]);
        await pass(maxAgeMs * 2);
        assert.equal((await engine.readAfter(fresh.id)).status, 'expired');
        assert.equal((await engine.readAfter(newest.id)).status, 'expired');
      });
    });

    test('joining history to the live stream while others publish gives no gap and no duplicate', async () => {
      await withEngine({}, async (engine) => {
        await fc.assert(
          fc.asyncProperty(
            fc.record({
              before: fc.integer({ min: 1, max: 8 }),
              // How many publishes race the join, and how many event-loop turns each waits before it starts.
              racing: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 12 }),
              // Turns before the subscriber reads history, and which earlier ID it resumes from.
              readDelay: fc.integer({ min: 0, max: 6 }),
              resumeFrom: fc.nat(),
            }),
            async ({ before, racing, readDelay, resumeFrom }) => {
              const history: StoredUpdate[] = [];
              for (let i = 0; i < before; i++)
                history.push(await engine.publish({ topics: ['t'], data: `h${i}` }));
              const resumeIndex = resumeFrom % before;
              const lastEventId = history[resumeIndex]!.id;

              // The core's algorithm: follow and buffer, read history, drop buffered updates it covered.
              const buffered: StoredUpdate[] = [];
              const stop = engine.follow({
                update: (u) => buffered.push(u),
                reset: () => assert.fail('reset'),
              });
              const publishes = racing.map(async (turns, i) => {
                await turns_(turns);
                return engine.publish({ topics: ['t'], data: `r${i}` });
              });
              await turns_(readDelay);
              const read = await engine.readAfter(lastEventId);
              const racers = await Promise.all(publishes);
              const newest = Math.max(history.at(-1)!.offset, ...racers.map((u) => u.offset));
              await until(
                'the racing updates',
                () => buffered.some((u) => u.offset >= newest) || racers.length === 0,
              );
              stop();

              assert.equal(read.status, 'ok');
              const joined = [
                ...updatesOf(read),
                ...buffered.filter((u) => u.epoch !== read.position.epoch || u.offset > read.position.offset),
              ];
              const expected = [...history.slice(resumeIndex + 1), ...racers].sort(
                (x, y) => x.offset - y.offset,
              );
              assert.deepEqual(joined.map(fields), expected.map(fields));
            },
          ),
          { numRuns: options.joinRuns ?? 25 },
        );
      });
    });

    test('paging through history (readAfter or readAll with a limit, then readAll after each page) gives exactly the unpaged result, in order', async () => {
      await withEngine({}, async (engine) => {
        const published: StoredUpdate[] = [];
        for (let i = 0; i < 23; i++)
          published.push(await engine.publish({ topics: [`t${i % 3}`], data: `${i}`, event: `e${i}` }));
        const whole = await engine.readAll();
        for (const limit of [1, 2, 5, 22, 23, 24, 100]) {
          for (const start of [null, 0, 7, 21, 22]) {
            const first =
              start === null
                ? await engine.readAll({ limit })
                : await engine.readAfter(published[start]!.id, { limit });
            assert.equal(first.status, 'ok');
            const pages: StoredUpdate[][] = [[...updatesOf(first)]];
            let read = first as HistoryRead & { status: 'ok' };
            while (read.more === true) {
              assert.ok(read.updates.length === limit, `a partial page holds ${limit} updates`);
              assert.deepEqual(read.position, {
                epoch: read.updates.at(-1)!.epoch,
                offset: read.updates.at(-1)!.offset,
              });
              read = await engine.readAll({ after: read.position, limit });
              assert.ok(read.updates.length <= limit);
              pages.push([...read.updates]);
            }
            const expected = start === null ? whole.updates : published.slice(start + 1);
            assert.deepEqual(pages.flat().map(fields), expected.map(fields), `limit ${limit} from ${start}`);
            assert.deepEqual(read.position, whole.position, 'the last page covers up to the newest update');
          }
        }
      });
    });

    test('a history read with a limit that is not a positive integer rejects with a RangeError', async () => {
      await withEngine({}, async (engine) => {
        const u = await engine.publish({ topics: ['t'], data: '1' });
        for (const limit of [0, -1, 1.5, Number.NaN]) {
          await assert.rejects(engine.readAll({ limit }), RangeError);
          await assert.rejects(engine.readAfter(u.id, { limit }), RangeError);
        }
      });
    });

    test('a paged read joined with the live stream loses and repeats nothing when updates are published between pages', async () => {
      await withEngine({}, async (engine) => {
        const history: StoredUpdate[] = [];
        for (let i = 0; i < 10; i++) history.push(await engine.publish({ topics: ['t'], data: `h${i}` }));
        const buffered: StoredUpdate[] = [];
        const stop = engine.follow({ update: (u) => buffered.push(u), reset: () => assert.fail('reset') });
        const racers: StoredUpdate[] = [];
        const got: StoredUpdate[] = [];
        let read: HistoryRead & { status: 'ok' } = (await engine.readAfter(history[1]!.id, {
          limit: 3,
        })) as HistoryRead & { status: 'ok' };
        got.push(...read.updates);
        while (read.more === true) {
          racers.push(await engine.publish({ topics: ['t'], data: `r${racers.length}` }));
          read = await engine.readAll({ after: read.position, limit: 3 });
          got.push(...read.updates);
        }
        racers.push(await engine.publish({ topics: ['t'], data: 'last' }));
        const newest = racers.at(-1)!.offset;
        await until('the racing updates', () => buffered.some((u) => u.offset >= newest));
        stop();
        const joined = [
          ...got,
          ...buffered.filter((u) => u.epoch !== read.position.epoch || u.offset > read.position.offset),
        ];
        assert.deepEqual(joined.map(fields), [...history.slice(2), ...racers].map(fields));
      });
    });

    test('health is ready while open; after close, publish and readAfter reject with a CrierError', async () => {
      await withEngine({}, async (engine) => {
        const u = await engine.publish({ topics: ['t'], data: '1' });
        assert.equal((await engine.health()).ready, true);
        await engine.close();
        await engine.close(); // idempotent
        await assert.rejects(engine.publish({ topics: ['t'], data: '2' }), (error) => {
          assert.ok(error instanceof CrierError, 'a CrierError');
          assert.equal((error as CrierError).code, 'ENGINE_CLOSED');
          return true;
        });
        await assert.rejects(engine.readAfter(u.id), CrierError);
        assert.equal((await engine.health()).ready, false);
      });
    });

    test('publishing an update without topics rejects with INVALID_UPDATE and stores nothing', async () => {
      await withEngine({}, async (engine) => {
        const before = await engine.position();
        await assert.rejects(engine.publish({ topics: [], data: 'x' }), { code: 'INVALID_UPDATE' });
        assert.deepEqual(await engine.position(), before);
      });
    });

    if (options.durable) {
      test('a restart keeps history: same epoch, offsets continue, old IDs replay exactly the later updates', async () => {
        await withEngine({}, async (engine, subject) => {
          assert.ok(subject.restart, 'a durable engine must give `restart`');
          const published: StoredUpdate[] = [];
          for (let i = 0; i < 5; i++) {
            published.push(
              await engine.publish({ topics: ['t'], data: `${i}`, id: i === 2 ? 'given-2' : undefined }),
            );
          }
          const position = await engine.position();
          const reopened = await subject.restart();
          assert.deepEqual(await reopened.position(), position);
          assert.equal((await reopened.health()).ready, true);
          for (let i = 0; i < 2; i++)
            published.push(await reopened.publish({ topics: ['t'], data: `after ${i}` }));
          assert.deepEqual(
            published.map((u) => u.offset),
            published.map((_, i) => published[0]!.offset + i),
          );
          assert.ok(published.every((u) => u.epoch === position.epoch));
          for (const [i, u] of published.entries()) {
            const read = await reopened.readAfter(u.id);
            assert.equal(read.status, 'ok', `readAfter(${u.id}) after the restart`);
            assert.deepEqual(updatesOf(read).map(fields), published.slice(i + 1).map(fields));
          }
        });
      });

      test('a restart keeps the bounds: IDs trimmed before it stay expired', async () => {
        await withEngine({ maxCount: 3 }, async (engine, subject) => {
          const published: StoredUpdate[] = [];
          for (let i = 0; i < 8; i++) published.push(await engine.publish({ topics: ['t'], data: `${i}` }));
          const reopened = await subject.restart!();
          assert.equal((await reopened.readAfter(published[0]!.id)).status, 'expired');
          assert.equal((await reopened.readAfter(published[4]!.id)).status, 'expired');
          const read = await reopened.readAfter(published[5]!.id);
          assert.deepEqual(updatesOf(read).map(fields), published.slice(6).map(fields));
        });
      });
    }
  });
}

/** The fields of a stored update, with absent optional fields made explicit, for deepEqual. */
function fields(u: StoredUpdate): Record<string, unknown> {
  return {
    id: u.id,
    offset: u.offset,
    epoch: u.epoch,
    topics: [...u.topics],
    data: u.data,
    event: u.event,
    retry: u.retry,
    private: u.private,
    time: u.time,
  };
}

function updatesOf(read: HistoryRead): readonly StoredUpdate[] {
  assert.equal(read.status, 'ok', 'expected an ok read');
  return read.status === 'ok' ? read.updates : [];
}

/** Lets `n` event-loop turns pass (a mix of microtask and macrotask boundaries). */
async function turns_(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) await new Promise<void>((r) => setImmediate(r));
    else await Promise.resolve();
  }
}
