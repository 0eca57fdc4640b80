/**
 * Test support for the cross-cutting suites in test/: `crier serve` as a real child process (the way
 * operators run it), tokens, and an SSE reader over a real socket that keeps the raw bytes it received.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type IncomingHttpHeaders, request } from 'node:http';
import type { TestContext } from 'node:test';
import { mintToken } from '../../src/mercure/publisher.js';
import { EventStreamParser, type ParsedEvent } from '../../src/protocol/index.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
const ENTRY = new URL('../../src/cli/crier.ts', import.meta.url).pathname;

/** The shared HS256 secret every hub started here verifies tokens with (unless the test gives keys). */
export const SECRET = 'reliability-and-security-secret-0123456789';

export interface HubProcess {
  /** The Mercure endpoint, e.g. http://127.0.0.1:41234/.well-known/mercure */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** What the hub wrote on stderr so far (a crash leaves its stack here). */
  stderr(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM (graceful) or SIGKILL, and wait for the exit. Returns the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartHubOptions {
  /** Extra `crier serve` flags. `--port 0`, `--jwt-key SECRET` and `--log-level silent` come first. */
  args?: string[];
  /** Replace the default `--jwt-key SECRET` (e.g. to configure an RSA key). */
  keyArgs?: string[];
  env?: Record<string, string>;
  port?: number;
  /** A command that execs the hub, e.g. `['prlimit', '--nofile=2048:2048', '--']` for a lower fd limit. */
  wrapper?: string[];
}

/** Starts `crier serve` and resolves once it printed its listening line; stopped after the test. */
export async function startHub(
  t: TestContext | undefined,
  options: StartHubOptions = {},
): Promise<HubProcess> {
  const args = [
    '--import',
    'tsx',
    ENTRY,
    'serve',
    '--port',
    String(options.port ?? 0),
    ...(options.keyArgs ?? ['--jwt-key', SECRET]),
    '--log-level',
    'silent',
    ...(options.args ?? []),
  ];
  const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath];
  const child = spawn(command!, [...prefix, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', ...options.env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => {
    stderr += c;
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = once(child, 'exit').then(([code, signal]) => {
    exited = { code: code as number | null, signal: signal as NodeJS.Signals | null };
    return exited;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    const onData = (c: string) => {
      out += c;
      const m = /Mercure hub: (http\S+)\)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    exit.then(({ code, signal }) =>
      reject(new Error(`crier serve exited (${code ?? signal}) before listening:\n${stderr}${out}`)),
    );
  });
  const parsed = new URL(url);
  const hub: HubProcess = {
    url,
    origin: parsed.origin,
    port: Number(parsed.port),
    pid: child.pid!,
    child,
    stderr: () => stderr,
    alive: () => exited === undefined,
    async stop(signal = 'SIGTERM') {
      if (exited !== undefined) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
  };
  t?.after(() => hub.stop('SIGKILL'));
  return hub;
}

/** A Mercure 0.x token signed with {@link SECRET}. */
export const token = (
  claim: { publish?: string[]; subscribe?: string[] },
  options?: { expiresIn?: number; payload?: unknown },
) => mintToken(SECRET, claim, options);

export interface Answer {
  status: number;
  body: string;
  headers: Headers;
}

/** A Mercure form publish. */
export async function publishForm(
  hubUrl: string,
  fields: Array<[string, string]>,
  bearer: string | undefined,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(hubUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

export interface Stream {
  status: number;
  headers: IncomingHttpHeaders;
  /** The events received so far, in order. */
  readonly events: ParsedEvent[];
  /** Every byte of the body received so far, as text (the wire, to look for injected lines). */
  readonly raw: string;
  /** Resolves with the events once at least `n` arrived. */
  waitFor(n: number): Promise<ParsedEvent[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens an SSE subscription; resolves once the response head arrived (a non-200's body is read whole). */
export function subscribe(
  t: TestContext | undefined,
  url: string,
  headers: Record<string, string> = {},
): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: ParsedEvent[] = [];
      let raw = '';
      const waiters: Array<{ n: number; resolve: (e: ParsedEvent[]) => void }> = [];
      const wake = () => {
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (events.length >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve(events);
        }
      };
      const parser = new EventStreamParser({
        onEvent: (e) => {
          events.push(e);
          wake();
        },
      });
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      });
      const stream: Stream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        get raw() {
          return raw;
        },
        waitFor: (n) =>
          events.length >= n ? Promise.resolve(events) : new Promise((r) => waiters.push({ n, resolve: r })),
        ended,
        close: () => req.destroy(),
      };
      t?.after(() => req.destroy());
      res.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8');
        if (res.statusCode === 200) parser.push(chunk);
      });
      if (res.statusCode !== 200) res.on('end', () => resolve(stream));
      else resolve(stream);
    });
    req.end();
  });
}

/** `hubUrl?topic=a&topic=b` (draft-07 selectors). */
export function topicUrl(hubUrl: string, topics: string[], extra: Record<string, string> = {}): string {
  const u = new URL(hubUrl);
  for (const topic of topics) u.searchParams.append('topic', topic);
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.href;
}

/** The resident set size of a process in KiB, from /proc. */
export { treeRssKiB } from '../../src/bench/rss.js';

/**
 * Proves a subscription is live: publishes marker events on `topic` until the stream has one (a subscriber's
 * registration may trail its response head). Returns the marker events' count consumed.
 */
export async function awaitLive(
  hubUrl: string,
  stream: Stream,
  topic: string,
  bearer: string,
): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const before = stream.events.length;
    const answer = await publishForm(
      hubUrl,
      [
        ['topic', topic],
        ['data', 'ping'],
      ],
      bearer,
    );
    if (answer.status !== 200) throw new Error(`marker publish refused: ${answer.status} ${answer.body}`);
    const got = await Promise.race([
      stream.waitFor(before + 1).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
    ]);
    if (got) return;
  }
  throw new Error('the subscription never received a marker event');
}
