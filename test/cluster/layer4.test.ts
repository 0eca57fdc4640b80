/**
 * `crier cluster --proxy haproxy` and `--proxy nginx-stream`: real HAProxy (mode tcp) or nginx (stream)
 * in front of real `crier serve` nodes over a private redis-server, the PROXY protocol from the balancer
 * (127.0.0.2) to the nodes, which trust that address alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  haproxyInstalled,
  LocalCluster,
  nginxInstalled,
  nginxStreamModule,
  type ProxyKind,
  reachable,
} from '../../src/cli/cluster.js';
import { redisServerInstalled } from '../../src/engines/redis/redis-server.test-helpers.js';
import { proxyV1 } from '../../src/mercure/proxy-protocol.test-helpers.js';
import { freePort } from '../../src/testing/ports.test-helpers.js';
import { requireService } from '../../src/testing/services.test-helpers.js';
import { until } from '../../src/testing/wait.test-helpers.js';
import {
  expectExactDelivery,
  NODE_ARGS,
  SteadyPublisher,
  type Subscriber,
  startStore,
  subscribe,
} from './harness.js';

/** The balancer and redis-server are installed (else the test skips, loudly; in CI it fails). */
function present(t: TestContext, proxy: ProxyKind): boolean {
  const ok =
    proxy === 'haproxy'
      ? requireService(t, 'haproxy', haproxyInstalled(), 'apt-get install haproxy (/usr/sbin/haproxy)')
      : requireService(
          t,
          'nginx with the stream module',
          nginxInstalled() && nginxStreamModule() !== undefined,
          'apt-get install nginx-light libnginx-mod-stream',
        );
  return ok && requireService(t, 'redis-server', redisServerInstalled, 'apt-get install redis-server');
}

async function startCluster(t: TestContext, proxy: ProxyKind, nodes: number, nodeArgs: string[] = []) {
  const { store } = await startStore(t, 'redis');
  const cluster = await LocalCluster.start({
    proxy,
    nodes,
    store,
    nginxWorkers: 1,
    nginxConnections: 2000,
    nodeArgs: [...NODE_ARGS, ...nodeArgs],
  });
  t.after(() => cluster.stop(2000));
  return cluster;
}

/**
 * Opens a subscription to `base` from `localAddress` and resolves with its status once the head arrives;
 * the stream stays open until `t` ends.
 */
function openStream(t: TestContext, base: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/.well-known/mercure?topic=${encodeURIComponent('https://example.com/news')}`,
      { localAddress, agent: false },
      (res) => {
        resolve(res.statusCode!);
        res.resume();
      },
    );
    req.on('error', reject);
    req.end();
    t.after(() => req.destroy());
  });
}

/** Writes `bytes` to host:port and resolves with all that came back before the connection closed. */
function rawExchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('close', () => resolve(received));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(received) : reject(error),
    );
    socket.on('connect', () => socket.write(bytes));
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

const HEALTHZ = Buffer.from('GET /healthz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n');
const SPOOF = proxyV1({
  source: { address: '198.51.100.66', port: 4242 },
  destination: { address: '127.0.0.1', port: 80 },
});

for (const proxy of ['haproxy', 'nginx-stream'] as const) {
  describe(`crier cluster --proxy ${proxy}`, { timeout: 120_000 }, () => {
    test(`a SIGKILLed node's subscribers resume through ${proxy} with exactly the acknowledged updates`, async (t) => {
      if (!present(t, proxy)) return;
      const cluster = await startCluster(t, proxy, 3);
      let subscribers: Subscriber[] = [];
      t.after(() => {
        for (const s of subscribers) s.close();
      });
      subscribers = await subscribe(cluster, 90);
      const publisher = new SteadyPublisher(cluster, 40);
      t.after(() => publisher.stop());
      await sleep(1500);
      await cluster.nodes[0]!.stop('SIGKILL');
      await sleep(3000);
      await publisher.stop();
      await expectExactDelivery(subscribers, publisher);
      assert.ok(
        subscribers.some((s) => s.opens > 1),
        'the killed node’s subscribers reconnected',
      );
    });

    test('the node counts the per-address limit against the client the PROXY header names, not the balancer', async (t) => {
      if (!present(t, proxy)) return;
      const cluster = await startCluster(t, proxy, 1, ['--max-connections-per-ip', '2']);
      // Two clients on their own loopback addresses, through the balancer (which connects from 127.0.0.2).
      assert.equal(await openStream(t, cluster.url, '127.0.0.3'), 200);
      assert.equal(await openStream(t, cluster.url, '127.0.0.3'), 200);
      assert.equal(await openStream(t, cluster.url, '127.0.0.3'), 429);
      assert.equal(await openStream(t, cluster.url, '127.0.0.4'), 200);
      assert.equal(await openStream(t, cluster.url, '127.0.0.4'), 200);
    });

    test('a PROXY header straight to a node from an untrusted address is refused, and one sent through the balancer spoofs nothing', async (t) => {
      if (!present(t, proxy)) return;
      const cluster = await startCluster(t, proxy, 1);
      const node = cluster.nodes[0]!;
      // 127.0.0.1 is not the balancer's address: its header is refused without an answer…
      assert.equal(await rawExchange(node.port, Buffer.concat([SPOOF, HEALTHZ])), '');
      // …and its plain requests are served.
      assert.match(await rawExchange(node.port, HEALTHZ), /^HTTP\/1.1 200/);
      // Through the balancer, the client's own header comes after the balancer's: it is the request line
      // of a request node:http cannot parse.
      assert.match(await rawExchange(cluster.port, Buffer.concat([SPOOF, HEALTHZ])), /^HTTP\/1.1 400/);
      const metrics = await fetch(`${node.url}/metrics`).then((r) => r.text());
      assert.match(metrics, /crier_proxy_protocol_refused_total\{reason="untrusted"\} 1/);
    });
  });
}

const CRIER = fileURLToPath(new URL('../../src/cli/crier.ts', import.meta.url));

/** Process ids whose command line names `needle`. */
function pidsWith(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('crier cluster --proxy haproxy, as an operator runs it', { timeout: 60_000 }, () => {
  test('a node going down is reported on stderr as HAProxy sees it, and when HAProxy is killed the nodes are stopped and it exits 1', async (t) => {
    if (!present(t, 'haproxy')) return;
    const { store } = await startStore(t, 'redis');
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CRIER,
        'cluster',
        '--proxy',
        'haproxy',
        '--nginx-workers',
        '1',
        '--nginx-connections',
        '200',
        '--nodes',
        '2',
        '--store',
        store,
        '--port',
        String(port),
        '--',
        ...NODE_ARGS,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exit;
      }
    });
    await until('crier cluster up', () => stdout.includes('Ctrl-C'), 30_000);
    assert.match(stdout, /behind haproxy at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(stdout, /haproxy: 1 process\(es\) × maxconn \d+/);
    assert.match(stdout, /PROXY protocol from 127\.0\.0\.2/);
    const nodePorts = [...stdout.matchAll(/ node http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    const config = /haproxy configuration: (\S+haproxy\.cfg)/.exec(stdout)![1]!;
    // A SIGKILLed node fails HAProxy's /readyz checks and is marked down.
    const node = pidsWith(`--port\0${nodePorts[0]}\0`)[0]!;
    process.kill(node, 'SIGKILL');
    await until(
      "HAProxy's DOWN warning on crier cluster's stderr",
      () => /crier cluster: haproxy: .*\[WARNING\].*node1 is DOWN/.test(stderr),
      15_000,
    );
    const [haproxy] = pidsWith(config);
    assert.ok(haproxy !== undefined, 'haproxy runs');
    process.kill(haproxy, 'SIGKILL');
    assert.equal(await exit, 1);
    assert.match(stderr, /crier cluster: haproxy died \(signal SIGKILL\); stopping the nodes\./);
    for (const p of nodePorts)
      await assert.rejects(reachable('127.0.0.1', p), `node on ${p} still listening`);
  });
});
