import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { EventStreamParser, type ParsedEvent } from '../protocol/index.js';

const entry = new URL('./crier.ts', import.meta.url).pathname;

function runCrier(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function startServe(): Promise<{ child: ChildProcess; base: string }> {
  const child = runCrier(['serve', '--port', '0']);
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk;
    const match = /listening on (http:\/\/\S+)/.exec(out);
    if (match) return { child, base: match[1]! };
  }
  throw new Error(`crier serve did not start: ${out}`);
}

describe('crier serve (the small server until the hub lands)', () => {
  test('streams a published body to a subscriber as an event', async (t) => {
    const { child, base } = await startServe();
    t.after(() => child.kill());
    const events: ParsedEvent[] = [];
    const parser = new EventStreamParser({ onEvent: (e) => events.push(e) });
    const req = request(`${base}/events`);
    req.end();
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
    t.after(() => res.destroy());
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.equal(res.headers['cache-control'], 'no-cache, no-transform');
    const got = new Promise<ParsedEvent>((resolve) => {
      res.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        const hit = events.find((e) => e.type === 'publish');
        if (hit) resolve(hit);
      });
    });
    await once(res, 'data'); // the connected comment: the subscription is in place
    const publish = await fetch(`${base}/publish`, { method: 'POST', body: 'hello\nworld' });
    assert.equal(publish.status, 200);
    const event = await got;
    assert.equal(event.data, 'hello\nworld');
    assert.match(event.lastEventId, /^\d+$/);
  });

  test('refuses a body over 64 KiB with 413', async (t) => {
    const { child, base } = await startServe();
    t.after(() => child.kill());
    const res = await fetch(`${base}/publish`, { method: 'POST', body: 'x'.repeat(70_000) });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /larger than 65536 bytes/);
  });

  test('exits with status 2 and names the option for an invalid port', async () => {
    const child = runCrier(['serve', '--port', 'abc']);
    let err = '';
    child.stderr!.on('data', (c) => {
      err += c;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(err, /--port must be an integer/);
  });
});
