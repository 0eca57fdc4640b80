import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { flagOf, OPTIONS } from '../hub/config.js';

const entry = new URL('./crier.ts', import.meta.url).pathname;

function runCrier(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

async function output(child: ChildProcess): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    err += c;
  });
  const [code] = (await once(child, 'exit')) as [number];
  return { code, out, err };
}

describe('crier serve', () => {
  test('starts the Mercure hub with no key configured, printing working demo tokens', async (t) => {
    const child = runCrier(['serve', '--port', '0', '--log-level', 'silent']);
    t.after(() => child.kill());
    let out = '';
    for await (const chunk of child.stdout!) {
      out += chunk;
      if (/Subscriber token/.test(out) && out.endsWith('\n\n')) break;
    }
    const hubUrl = /Mercure hub: (http:\/\/\S+)\)/.exec(out)![1]!;
    const publisher = /Publisher token \(24 h\):\s+(\S+)/.exec(out)![1]!;
    const refused = await fetch(hubUrl, { method: 'POST', body: new URLSearchParams({ topic: 'x' }) });
    assert.equal(refused.status, 401, 'anonymous publishing is refused');
    const res = await fetch(hubUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${publisher}` },
      body: new URLSearchParams({ topic: 'hello', data: 'world' }),
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^urn:uuid:/);
  });

  test('--dev serves the demo apps on the hub, with the Mercure development key', async (t) => {
    const child = runCrier(['serve', '--dev', '--port', '0', '--log-level', 'silent']);
    t.after(() => child.kill());
    let out = '';
    for await (const chunk of child.stdout!) {
      out += chunk;
      if (/Demo apps: /.test(out) && out.endsWith('\n')) break;
    }
    const origin = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    for (const path of ['/', '/sports/', '/ticker/', '/notifications/', '/dashboard/']) {
      const page = await fetch(origin + path);
      assert.equal(page.status, 200, path);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/, path);
    }
    const matches = await fetch(`${origin}/sports/api/matches`);
    assert.equal(matches.status, 200);
    // The key of the Mercure hub's dev mode publishes, as Mercure's own conformance suite expects.
    const devToken =
      'eyJhbGciOiJIUzI1NiJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdLCJzdWJzY3JpYmUiOlsiKiJdfX0.bVXdlWXwfw9ySx7-iV5OpUSHo34RkjUdVzDLBcc6l_g';
    const published = await fetch(`${origin}/.well-known/mercure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${devToken}` },
      body: new URLSearchParams({ topic: 'dev', data: 'x' }),
    });
    assert.equal(published.status, 200);
  });

  test('--help lists every option with its environment variable', async () => {
    const { code, out } = await output(runCrier(['serve', '--help']));
    assert.equal(code, 0);
    for (const name of Object.keys(OPTIONS) as Array<keyof typeof OPTIONS>) {
      assert.match(out, new RegExp(`${flagOf(name)}\\b`), name);
    }
  });

  test('docs/hub.md documents every option', () => {
    const doc = readFileSync(new URL('../../docs/hub.md', import.meta.url), 'utf8');
    for (const name of Object.keys(OPTIONS) as Array<keyof typeof OPTIONS>) {
      assert.ok(doc.includes(flagOf(name)), `${flagOf(name)} is missing from docs/hub.md`);
    }
  });

  test('exits with status 2 naming the option for an invalid value', async () => {
    const { code, err } = await output(runCrier(['serve', '--port', 'abc']));
    assert.equal(code, 2);
    assert.match(err, /--port/);
  });

  test('exits with status 2 naming an unknown option', async () => {
    const { code, err } = await output(runCrier(['serve', '--no-such-thing']));
    assert.equal(code, 2);
    assert.match(err, /Unknown option --no-such-thing/);
  });

  test('reads options from CRIER_* environment variables', async () => {
    const { code, err } = await output(runCrier(['serve'], { CRIER_MAX_TOPICS: 'many' }));
    assert.equal(code, 2);
    assert.match(err, /CRIER_MAX_TOPICS/);
  });
});
