import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { flagOf, OPTIONS } from '../mercure/config.js';
import { launchChromium } from '../testing/browser.test-helpers.js';

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

describe('crier', () => {
  test('alone prints the usage on stderr and exits with status 2', async () => {
    const { code, out, err } = await output(runCrier([]));
    assert.equal(code, 2);
    assert.equal(out, '');
    assert.match(err, /^Usage: crier <command>/);
    assert.match(err, /token +Mint a publisher or subscriber JWT/);
    assert.equal((await output(runCrier(['--help']))).code, 0);
  });
});

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

  test('a store that cannot be reached at start exits with status 1 and the reason, within --start-timeout', async () => {
    for (const store of ['redis://127.0.0.1:1', 'nats://127.0.0.1:1']) {
      const started = Date.now();
      const { code, err } = await output(
        runCrier(['serve', '--port', '0', '--store', store, '--log-level', 'silent'], {
          CRIER_START_TIMEOUT: '1s',
        }),
      );
      const took = Date.now() - started;
      assert.equal(code, 1, store);
      assert.match(
        err,
        /could not start: The store \(.+\) did not answer within 1s \(--start-timeout\): .*(refused|reachable|connect)/i,
      );
      // A bound for a hang, not a timing: spawning the CLI alone takes seconds on a loaded CI machine.
      assert.ok(took < 20_000, `${store}: exited after ${took} ms, not left hanging`);
    }
  });

  test('warns about a misspelt CRIER_* variable by name, with the option it probably meant', async (t) => {
    const child = runCrier(['serve', '--port', '0', '--log-level', 'silent'], { CRIER_HEARTBEET: '5s' });
    t.after(() => child.kill());
    let err = '';
    for await (const chunk of child.stderr!) {
      err += chunk;
      if (err.includes('\n')) break;
    }
    assert.match(
      err,
      /warning: CRIER_HEARTBEET is not a Crier setting and is ignored; did you mean CRIER_HEARTBEAT\?/,
    );
  });

  test('--dashboard without --demo serves the live dashboard on the admin listener only, with no demo apps', async (t) => {
    const child = runCrier([
      'serve',
      '--port',
      '0',
      '--dashboard',
      '--admin-addr',
      '127.0.0.1:0',
      '--log-level',
      'silent',
    ]);
    t.after(() => child.kill());
    let out = '';
    for await (const chunk of child.stdout!) {
      out += chunk;
      if (/Dashboard: /.test(out) && out.endsWith('\n')) break;
    }
    const origin = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    const admin = /Admin listener on (http:\/\/\S+)/.exec(out)![1]!;
    assert.match(out, new RegExp(`Dashboard: ${admin}/dashboard/`));
    const page = await fetch(`${admin}/dashboard/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const history = (await (await fetch(`${admin}/dashboard/api/history`)).json()) as { demo: boolean };
    assert.equal(history.demo, false);
    assert.equal((await fetch(`${admin}/metrics`)).status, 200);
    assert.equal((await fetch(`${origin}/dashboard/`)).status, 404, 'not on the public port');
    assert.equal((await fetch(`${origin}/metrics`)).status, 404, 'not on the public port');
    assert.equal((await fetch(`${origin}/sports/`)).status, 404, 'no demo apps');

    // In a browser the page streams live figures from the admin listener, and links to no demo app.
    const browser = await launchChromium(t);
    if (!browser) return;
    try {
      const page = await browser.newPage();
      await page.goto(`${admin}/dashboard/`);
      await page.waitForSelector('#status[data-status="live"]');
      await page.waitForFunction(() => Number(document.body.dataset.live) > 0);
      assert.equal(await page.isVisible('.topnav a[href="/sports/"]'), false);
      assert.equal(await page.isVisible('#apps-card'), false);
      // The selectors card shows once the first figures arrived (it is filled from them).
      await page.waitForSelector('#selectors', { state: 'visible', timeout: 10_000 });
    } finally {
      await browser.close();
    }
  });

  test('--dev does not log each publish at info: the demo’s ~2,400 publishes a second leave the log quiet', async (t) => {
    const child = runCrier(['serve', '--dev', '--port', '0'], { CRIER_DEMO_TICKER_RATE: '20' });
    t.after(() => child.kill());
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
    });
    const deadline = Date.now() + 20_000;
    while (!/Demo apps: /.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const origin = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    // Wait until the demo has published a few thousand updates, then count the log lines.
    let updates = 0;
    while (updates < 2_000 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const metrics = await (await fetch(`${origin}/metrics`)).text();
      updates = Number(/^crier_updates_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    }
    assert.ok(updates >= 2_000, `the demo published (${updates})`);
    const jsonLines = out.split('\n').filter((l) => l.startsWith('{'));
    assert.ok(jsonLines.length < 50, `${jsonLines.length} log lines for ${updates} publishes`);
  });
});
