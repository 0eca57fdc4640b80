import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const app = new URL('./express-app.test-helpers.ts', import.meta.url).pathname;

/** Opens /events over a new connection; resolves with the worker that serves it and the data it receives. */
function subscribe(port: number, topic: string): Promise<{ worker: string; data: string[]; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: `/events?topic=${encodeURIComponent(topic)}`, agent: false },
      (res) => {
        const data: string[] = [];
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.startsWith('data: ')) data.push(line.slice(6));
          }
        });
        resolve({ worker: String(res.headers['x-worker']), data, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function post(port: number, path: string, body: unknown): Promise<{ id: string; worker: number }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        let answer = '';
        res.on('data', (c) => {
          answer += c;
        });
        res.on('end', () => resolve(JSON.parse(answer)));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

test('an Express app on 2 node:cluster workers over a ClusterEngine: a publish on either reaches subscribers on both, in one order', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', app], {
    env: { ...process.env, PORT: '0', WORKERS: '2' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk;
    if (/listening \d+\n/.test(out)) break;
  }
  const port = Number(/listening (\d+)/.exec(out)![1]);
  const subscribers = [];
  while (new Set(subscribers.map((s) => s.worker)).size < 2) {
    assert.ok(subscribers.length < 8, 'connections are dealt to both workers');
    subscribers.push(await subscribe(port, 'scores/42'));
  }
  const publishers = new Set<number>();
  for (let i = 0; i < 10; i++) publishers.add((await post(port, '/scores/42', { home: i, away: 0 })).worker);
  assert.equal(publishers.size, 2, 'publishes were handled by both workers');
  const deadline = Date.now() + 10_000;
  while (subscribers.some((s) => s.data.length < 10)) {
    assert.ok(Date.now() < deadline, 'every subscriber gets the 10 updates');
    await sleep(10);
  }
  const expected = Array.from({ length: 10 }, (_, i) => JSON.stringify({ home: i, away: 0 }));
  for (const s of subscribers) assert.deepEqual(s.data, expected);
  for (const s of subscribers) s.close();
});
