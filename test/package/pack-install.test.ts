/**
 * The package as a user gets it: `npm pack` (its prepack builds a clean dist/ in a copy of the working
 * tree, so the tests running beside this one keep their dist/), installed with production dependencies
 * only in a temporary folder, and there:
 * - no EBADENGINE warning, and none of the optional peers (ioredis, NATS, better-sqlite3) installed;
 * - the library quick starts of docs/library.md (node:http, Express 5, Fastify 5), taken from the doc's
 *   own code blocks, serve a subscriber the update they publish;
 * - `crier-sse serve` (node_modules/.bin) takes a publish and delivers it to a subscriber, on the memory
 *   store, and names the package to install for a store whose driver is missing;
 * - `crier-sse cluster --help`, and a one-node cluster behind nginx once ioredis is installed (deploy/ is
 *   found inside the installed package);
 * - a TypeScript consumer type-checks against the shipped .d.ts (no skipLibCheck).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
// @ts-expect-error: a plain .mjs script without type declarations
import { extractBlocks } from '../../scripts/check-docs.mjs';
import { freePort } from '../../src/testing/ports.test-helpers.js';
import { requireService } from '../../src/testing/services.test-helpers.js';
import { until } from '../../src/testing/wait.test-helpers.js';

const repo = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'crier-pack-'));
const app = join(work, 'app');
const bin = join(app, 'node_modules', '.bin');
/** The README's token for `--dev` (signed with the Mercure hub's well-known development key). */
const DEV_TOKEN =
  /^TOKEN=(\S+)$/m.exec(readFileSync(join(repo, 'README.md'), 'utf8'))?.[1] ?? 'not in the README';
const children: ChildProcess[] = [];
let installOutput = '';

function npm(args: string[], cwd: string): string {
  const result = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=warn'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, `npm ${args.join(' ')} failed:\n${output}`);
  return output;
}

/** Starts a process in the app folder; its output is collected in `out`. Killed after the suite. */
function start(command: string, args: string[]): { child: ChildProcess; out: () => string } {
  let out = '';
  const child = spawn(command, args, {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  children.push(child);
  return { child, out: () => out };
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Opens an SSE request and resolves with the stream's text once `expected` is in it. */
async function readUntil(url: string, expected: string, init: RequestInit = {}): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 15_000);
  let text = '';
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    if (response.status !== 200) assert.fail(`GET ${url}: ${response.status} ${await response.text()}`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const decoder = new TextDecoder();
    const reader = response.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      text += decoder.decode(read.value, { stream: true });
      if (text.includes(expected)) return text;
    }
    assert.fail(`the stream of ${url} ended without ${expected}:\n${text}`);
  } catch (error) {
    if (controller.signal.aborted) assert.fail(`no ${expected} from ${url} within 15 s; got:\n${text}`);
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Waits until something accepts connections on the port. */
async function listening(port: number, out: () => string): Promise<void> {
  await until(
    `a server on port ${port} (output so far: ${out()})`,
    () =>
      fetch(`http://localhost:${port}/`).then(
        () => true,
        () => false,
      ),
    20_000,
    100,
  );
}

describe('the packed package, installed with production dependencies only', { timeout: 180_000 }, () => {
  before(() => {
    // npm pack in a copy of the working tree: prepack cleans and builds dist/ there, not in the repository.
    const source = join(work, 'source');
    // What the build reads and the tarball holds (package.json's files), not the tests or bench results.
    const inputs = [
      'package.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
    ];
    for (const path of [...inputs, 'bin', 'src', 'apps', 'scripts', 'deploy', 'docs']) {
      cpSync(join(repo, path), join(source, path), { recursive: true });
    }
    execFileSync('ln', ['-s', join(repo, 'node_modules'), join(source, 'node_modules')]);
    npm(['pack', '--pack-destination', work], source);
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote no tarball');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    installOutput = npm(['install', '--prefer-offline', '--omit=dev', join(work, tarball)], app);
    const devDependencies = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies;
    npm(
      [
        'install',
        '--prefer-offline',
        '--omit=dev',
        `express@${devDependencies.express}`,
        `fastify@${devDependencies.fastify}`,
      ],
      app,
    );
  });

  after(async () => {
    await Promise.all(children.map((child) => stop(child, 'SIGKILL')));
    rmSync(work, { recursive: true, force: true });
  });

  test('the tarball holds LICENSE, dist/ without tsbuildinfo or source maps, deploy/ and the docs; no optional peer is installed', () => {
    const pkg = join(app, 'node_modules', 'crier-sse');
    for (const file of [
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'deploy/nginx/crier.conf',
      'docs/hub.md',
      'docs/openapi.yaml',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/apps/server.js',
    ]) {
      assert.ok(existsSync(join(pkg, file)), `${file} is missing from the package`);
    }
    const files = (readdirSync(join(pkg, 'dist'), { recursive: true }) as string[]).map(String);
    assert.deepEqual(
      files.filter((f) => /\.tsbuildinfo$|\.map$|\.test\.|[/]testing[/]/.test(f)),
      [],
    );
    assert.doesNotMatch(installOutput, /EBADENGINE/, installOutput);
    for (const peer of ['ioredis', '@nats-io/jetstream', '@nats-io/transport-node', 'better-sqlite3']) {
      assert.ok(!existsSync(join(app, 'node_modules', peer)), `${peer} was installed`);
    }
    assert.match(readFileSync(join(pkg, 'LICENSE'), 'utf8'), /^MIT License/);
  });

  const blocks = (extractBlocks as (file: string) => { heading: string; lang: string; code: string }[])(
    'docs/library.md',
  );
  for (const heading of ['Plain node:http', 'Express 5', 'Fastify 5']) {
    test(`the ${heading} quick start of docs/library.md serves a subscriber what it publishes`, async () => {
      const block = blocks.find((b) => b.heading === heading && b.lang === 'ts');
      assert.ok(block, `no ts block under '### ${heading}' in docs/library.md`);
      const port = await freePort();
      const js = ts.transpileModule(block.code.replaceAll('3000', String(port)), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      const file = join(app, `quick-start-${port}.mjs`);
      writeFileSync(file, js);
      const { child, out } = start(process.execPath, [file]);
      try {
        await listening(port, out);
        const text = await readUntil(
          `http://localhost:${port}/events?topic=scores/42&lastEventID=earliest`,
          'event: goal',
        );
        assert.match(text, /event: goal\n(id: .*\n)?data: \{"home":1,"away":0\}\n/);
      } finally {
        await stop(child);
      }
    });
  }

  test('crier-sse serve (node_modules/.bin) on the memory store: a publish reaches a subscriber', async () => {
    const { child, out } = start(join(bin, 'crier-sse'), ['serve', '--port', '0', '--dev', '--demo=false']);
    try {
      await until(
        `the hub to listen (output: ${out()})`,
        () => /listening on (http:\/\/\S+)/.test(out()),
        20_000,
        50,
      );
      const origin = /listening on (http:\/\/\S+)/.exec(out())![1]!;
      const received = readUntil(`${origin}/.well-known/mercure?topic=hello`, 'data: world');
      // Publish until the subscriber has it (it may connect after the first publish).
      let done = false;
      void received.finally(() => (done = true)).catch(() => {});
      while (!done) {
        const response = await fetch(`${origin}/.well-known/mercure`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${DEV_TOKEN}` },
          body: new URLSearchParams({ topic: 'hello', data: 'world' }),
        });
        assert.equal(response.status, 200, await response.text());
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(await received, /data: world/);
    } finally {
      await stop(child);
    }
  });

  test('crier-sse serve with a store whose driver is not installed names the package to install', async () => {
    for (const [store, name] of [
      ['redis://127.0.0.1:6379', 'ioredis'],
      ['sqlite:./crier.db', 'better-sqlite3'],
      ['nats://127.0.0.1:4222', '@nats-io/jetstream'],
    ] as const) {
      const { child, out } = start(join(bin, 'crier-sse'), ['serve', '--port', '0', '--store', store]);
      try {
        await until(
          `crier-sse serve --store ${store} to fail (output: ${out()})`,
          () => out().includes('npm install'),
          20_000,
          50,
        );
        assert.match(out(), new RegExp(`npm install ${name.replace('/', '\\/')}`));
      } finally {
        await stop(child);
      }
    }
  });

  test('crier-sse cluster --help, and crier cluster runs from the installed package once ioredis is there', async (t) => {
    const help = spawnSync(join(bin, 'crier-sse'), ['cluster', '--help'], { cwd: app, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--nodes N/);
    const redis = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'ping'], { encoding: 'utf8' });
    if (!requireService(t, 'redis', redis.stdout?.trim() === 'PONG', 'start redis-server on 127.0.0.1:6379'))
      return;
    if (!requireService(t, 'nginx', existsSync('/usr/sbin/nginx'), 'apt-get install nginx-light')) return;
    const ioredis = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies.ioredis;
    npm(['install', '--prefer-offline', '--omit=dev', `ioredis@${ioredis}`], app);
    const port = await freePort();
    const { child, out } = start(join(bin, 'crier'), [
      'cluster',
      '--nodes',
      '1',
      '--port',
      String(port),
      '--',
      '--redis-prefix',
      `{pack-${randomUUID()}}:`,
    ]);
    try {
      await until(
        `the cluster to start (output: ${out()})`,
        () => out().includes('Mercure hub:'),
        60_000,
        100,
      );
      assert.match(out(), /nginx configuration: /);
      const hub = `http://127.0.0.1:${port}/.well-known/mercure`;
      const received = readUntil(`${hub}?topic=cluster`, 'data: through nginx');
      let done = false;
      void received.finally(() => (done = true)).catch(() => {});
      while (!done) {
        await fetch(hub, {
          method: 'POST',
          headers: { Authorization: `Bearer ${DEV_TOKEN}` },
          body: new URLSearchParams({ topic: 'cluster', data: 'through nginx' }),
        });
        await new Promise((r) => setTimeout(r, 200));
      }
      await received;
    } finally {
      await stop(child, 'SIGINT');
    }
  });

  test('a TypeScript consumer type-checks against the shipped .d.ts', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `import http from 'node:http';
import { encodeEvent, EventStreamParser } from 'crier-sse';
import { encodeEventText } from 'crier-sse/protocol';
import { Hub, type SubscribeOptions } from 'crier-sse/server';
import { compileSelectors, TopicIndex } from 'crier-sse/topics';
import { MemoryEngine, EngineError, type Engine } from 'crier-sse/engines';
import { MercureServer, Publisher, mintPublisherToken, type HubConfig } from 'crier-sse/mercure';
import { createAuthenticator } from 'crier-sse/mercure/auth';
// The former subpath and names, kept as deprecated aliases.
import { HubServer, createHubServer, type HubServerOptions } from 'crier-sse/hub';
import { createAuthenticator as createAuthenticatorBefore } from 'crier-sse/hub/auth';
import { CrierEventSource, subscribeMercure } from 'crier-sse/client';

const engine: Engine = new MemoryEngine({ history: { maxCount: 100 } });
const hub = new Hub({ engine, heartbeatMs: 15_000 });
const options: SubscribeOptions = { topics: ['a'] };
http.createServer((req, res) => void hub.handle(req, res, options));
const stored = await hub.publish('a', 'data', { event: 'x' });
const offset: number = stored.offset;
const bytes: Uint8Array = encodeEvent({ data: encodeEventText({ data: 'x' }) });
new EventStreamParser({ onEvent: (e) => e.data });
new TopicIndex<string>().add('c', compileSelectors(['*']));
const token: string = await mintPublisherToken('key');
new Publisher({ hubUrl: 'http://127.0.0.1:3000/.well-known/mercure', token });
createAuthenticator({ keys: { shared: { secret: 'k' } } });
const source = new CrierEventSource<{ score: { home: number } }>('http://x/events', { decode: (d) => JSON.parse(d) });
source.addEventListener('score', (event) => event.data.home.toFixed());
subscribeMercure('http://x/.well-known/mercure', { topics: ['t'] });
let config: HubConfig | undefined;
const renamed: typeof MercureServer = HubServer;
const options0: HubServerOptions = {};
console.log(offset, bytes, config, EngineError, renamed, options0, createHubServer, createAuthenticatorBefore);
// @ts-expect-error: publish takes topics first
await hub.publish({ data: 'x' });
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2024', 'DOM', 'DOM.Iterable'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(repo, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const result = spawnSync(
      process.execPath,
      [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app],
      {
        cwd: app,
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, `tsc:\n${result.stdout}${result.stderr}`);
  });
});
