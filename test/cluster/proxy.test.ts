/**
 * `crier cluster` as an operator drives it: nginx sized to the open-files limit, its alerts on stderr, its
 * death reported, publishes answered within a bound, and 10,000 subscribers through it on one machine.
 * Real nginx, real `crier serve` nodes over a private redis-server.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LocalCluster, openFilesHardLimit, reachable } from '../../src/cli/cluster.js';
import { mintPublisherToken } from '../../src/mercure/publisher.js';
import { freePort } from '../../src/testing/ports.test-helpers.js';
import { waitUntilStopped } from '../../src/testing/process.test-helpers.js';
import { until } from '../../src/testing/wait.test-helpers.js';
import { JWT_KEY, NODE_ARGS, servicesPresent, startStore } from './harness.js';

const CRIER = fileURLToPath(new URL('../../src/cli/crier.ts', import.meta.url));
const SUBSCRIBERS = fileURLToPath(new URL('./crowd.ts', import.meta.url));

/** `crier cluster …` as a child process, with what it prints collected. */
class ClusterCommand {
  stdout = '';
  stderr = '';
  readonly exit: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    t: TestContext,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await this.exit;
      }
    });
  }

  static start(t: TestContext, args: string[], prefix: string[] = []): ClusterCommand {
    const [command, ...rest] = [...prefix, process.execPath, '--import', 'tsx', CRIER, 'cluster', ...args];
    return new ClusterCommand(spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'] }), t);
  }

  /** Resolves once the cluster says it is up; fails if the command exits first. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stdout.includes('Ctrl-C')) {
      if (this.child.exitCode !== null) throw new Error(`crier cluster exited: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`crier cluster not up in ${timeoutMs} ms: ${this.stderr}`);
      await sleep(50);
    }
  }

  get nginxConf(): string {
    return /nginx configuration: (\S+nginx\.conf)/.exec(this.stdout)![1]!;
  }

  get nodePorts(): number[] {
    return [...this.stdout.matchAll(/ node http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  }
}

/** Whether something accepts connections on the port. */
const listening = (port: number): Promise<boolean> =>
  reachable('127.0.0.1', port).then(
    () => true,
    () => false,
  );

describe('crier cluster in front of real nodes', () => {
  test('with the open-files hard limit lowered (prlimit), asking for more connections than it holds exits 1 with the numbers and the fix, starting nothing', async (t) => {
    if (!servicesPresent(t)) return;
    const { store } = await startStore(t, 'redis');
    const port = await freePort();
    const run = ClusterCommand.start(
      t,
      ['--store', store, '--port', String(port), '--nginx-workers', '1', '--nginx-connections', '20000'],
      ['prlimit', '--nofile=4096:4096', '--'],
    );
    assert.equal(await run.exit, 1);
    assert.match(run.stderr, /needs 23088 open files per worker .* hard limit of 4096/);
    assert.match(run.stderr, /ulimit -Hn 23088/);
    assert.match(run.stderr, /LimitNOFILE=23088/);
    assert.doesNotMatch(run.stdout, /Crier cluster/);
    assert.equal(await listening(port), false);
  });

  test("nginx's alerts reach crier cluster's stderr as they happen, and when nginx is killed the nodes are stopped and it exits 1", async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const { store } = await startStore(t, 'redis');
    const port = await freePort();
    const run = ClusterCommand.start(t, [
      '--store',
      store,
      '--port',
      String(port),
      '--nodes',
      '2',
      '--nginx-workers',
      '1',
      '--nginx-connections',
      '64',
      '--',
      ...NODE_ARGS,
    ]);
    await run.ready();
    assert.match(run.stdout, /nginx: 1 worker\(s\) × 135 connections/);
    const nodePorts = run.nodePorts;
    assert.equal(nodePorts.length, 2);
    // More streams than worker_connections hold (each takes two: client and node), opened one after the
    // other so that none is idle: nginx has no connection to reuse and logs
    // "[alert] … worker_connections are not enough".
    const sockets: Socket[] = [];
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    for (let i = 0; i < 80 && !/\[alert\]/.test(run.stderr); i++) {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET /.well-known/mercure?topic=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      );
      socket.on('error', () => {});
      sockets.push(socket);
      await new Promise((resolve) => {
        socket.once('data', resolve);
        socket.once('close', resolve);
      });
    }
    await until(
      "nginx's worker_connections alert on crier cluster's stderr",
      () => /crier cluster: nginx: .*\[alert\] .*worker_connections are not enough/.test(run.stderr),
      10_000,
    );
    for (const s of sockets) s.destroy();

    const pid = Number(readFileSync(join(run.nginxConf, '..', 'nginx.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    assert.equal(await run.exit, 1);
    assert.match(run.stderr, /crier cluster: nginx died \(signal SIGKILL\); stopping the nodes\./);
    for (const p of nodePorts) assert.equal(await listening(p), false, `node on ${p} still listening`);
  });

  test('a publish through nginx is answered within its bound (an error, not silence) when the node cannot answer', async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const { store } = await startStore(t, 'redis');
    const cluster = await LocalCluster.start({ nodes: 1, store, nodeArgs: NODE_ARGS, nginxWorkers: 1 });
    t.after(() => cluster.stop());
    const token = await mintPublisherToken(JWT_KEY, ['*']);
    const publish = () =>
      fetch(`${cluster.url}/.well-known/mercure`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ topic: 'https://example.com/t', data: 'x' }),
        // Far above the bound (2 s connect, 8 s read): failing here means nginx kept the publisher waiting.
        signal: AbortSignal.timeout(20_000),
      });
    assert.equal((await publish()).status, 200);
    const nodePid = cluster.nodes[0]!.pid!;
    process.kill(nodePid, 'SIGSTOP');
    waitUntilStopped(nodePid);
    t.after(() => {
      try {
        process.kill(nodePid, 'SIGCONT');
      } catch {}
    });
    const started = Date.now();
    const res = await publish();
    const elapsed = Date.now() - started;
    assert.ok([502, 504].includes(res.status), `status ${res.status}`);
    assert.ok(elapsed >= 7000, `answered after ${elapsed} ms: before the read timeout?`);
    process.kill(nodePid, 'SIGCONT');
    // The hub answers again once it runs.
    await until('a 200 again once the node runs', async () => (await publish()).status === 200, 15_000, 200);
  });

  test('10,000 subscribers through crier cluster (2 nginx workers, 3 nodes, default file limits) each receive a publish', async (t) => {
    if (!servicesPresent(t, 'redis')) return;
    const hard = openFilesHardLimit();
    assert.ok(hard >= 11_000, `10,000 client sockets need an open-files hard limit of 11,000; it is ${hard}`);
    // The 10,000 client sockets live in a child (test/cluster/crowd.ts) whose soft limit prlimit raises
    // to the hard one (Node cannot raise its own).
    const { store } = await startStore(t, 'redis');
    // All 10,000 come from one address here (in life, from 10,000): lift that address's selector budget.
    const cluster = await LocalCluster.start({
      nodes: 3,
      store,
      nodeArgs: [...NODE_ARGS, '--max-selector-cost-per-ip', '256MiB'],
      nginxWorkers: 2,
    });
    t.after(() => cluster.stop());
    assert.ok(cluster.sizing.subscribers >= 10_000, `nginx holds ${cluster.sizing.subscribers}`);
    const token = await mintPublisherToken(JWT_KEY, ['*']);
    const child = spawn(
      'prlimit',
      [
        `--nofile=${Math.min(hard, 20_000)}`,
        '--',
        process.execPath,
        '--import',
        'tsx',
        SUBSCRIBERS,
        String(cluster.port),
        '10000',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    await until('10,000 streams open through nginx', () => out.includes('open 10000'), 120_000, 100);
    const res = await fetch(`${cluster.url}/.well-known/mercure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ topic: 'https://example.com/crowd', data: 'goal-10000' }),
    });
    assert.equal(res.status, 200);
    await until('the publish at all 10,000 subscribers', () => out.includes('received 10000'), 60_000, 100);
  });
});
