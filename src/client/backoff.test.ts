import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay } from './backoff.js';
import { CrierEventSource } from './event-source.js';
import { closedPort, recordingTimers, startServer, streamHeaders } from './server.test-helpers.js';

const options = { base: 1000, cap: 30_000, factor: 2, jitter: 'full' as const };

describe('backoffDelay', () => {
  test('the first attempt waits the base; later ones draw above the previous step, below a doubling ceiling', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, options, () => 0.5)),
      [1000, 1500, 3000, 6000, 12_000],
    );
    assert.equal(
      backoffDelay(3, options, () => 0),
      2000,
    );
    assert.equal(
      backoffDelay(3, options, () => 0.999999),
      4000,
    );
  });

  test('the ceiling stops at the cap, and the draw stays in its upper half', () => {
    assert.equal(
      backoffDelay(6, options, () => 0.5),
      22_500,
    );
    assert.equal(
      backoffDelay(500, options, () => 0),
      15_000,
    );
    assert.equal(
      backoffDelay(500, options, () => 0.999999),
      30_000,
    );
  });

  test("a server's retry above the cap wins over the cap", () => {
    assert.equal(
      backoffDelay(4, { ...options, base: 60_000 }, () => 0.5),
      60_000,
    );
  });

  test('jitter none and factor 1 give the spec behaviour: exactly the reconnection time', () => {
    assert.deepEqual(
      [1, 2, 9].map((attempt) => backoffDelay(attempt, { ...options, factor: 1, jitter: 'none' })),
      [1000, 1000, 1000],
    );
  });
});

describe('CrierEventSource backoff on a fake clock', () => {
  test('failed attempts in a row wait longer each time, up to the cap', async () => {
    const url = await closedPort();
    const timers = recordingTimers();
    const source = new CrierEventSource(url, {
      timers,
      random: () => 0.5,
      retry: 1000,
      maxRetryDelay: 8000,
      maxRetries: 6,
    });
    await new Promise<void>((resolve) => {
      source.addEventListener('error', (event) => !event.willReconnect && resolve());
    });
    assert.deepEqual(timers.delays, [1000, 1500, 3000, 6000, 6000, 6000]);
  });

  test("the server's retry: becomes the base and a working stream resets the backoff", async (t) => {
    const server = await startServer((_req, res, index) => {
      if (index === 0) {
        streamHeaders(res);
        res.end('retry: 200\ndata: x\n\n');
      } else if (index < 3) {
        res.destroy(); // network errors: the backoff grows
      } else if (index === 3) {
        streamHeaders(res);
        res.end('data: working again\n\n');
      } else {
        streamHeaders(res);
        res.write('data: stay\n\n');
      }
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers, random: () => 0.5 });
    t.after(() => source.close());
    await server.waitForRequests(5);
    assert.deepEqual(timers.delays, [200, 300, 600, 200]);
  });

  test('a stream that opens but never delivers anything does not reset the backoff', async (t) => {
    const server = await startServer((_req, res) => {
      streamHeaders(res);
      res.end();
    });
    t.after(() => server.close());
    const timers = recordingTimers();
    const source = new CrierEventSource(server.url, { timers, random: () => 0.5, retry: 100, maxRetries: 4 });
    await new Promise<void>((resolve) => {
      source.addEventListener('error', (event) => !event.willReconnect && resolve());
    });
    assert.deepEqual(timers.delays, [100, 150, 300, 600]);
  });
});
