import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../testing/ports.test-helpers.js';
import { requireService } from '../testing/services.test-helpers.js';
import {
  clusterCommand,
  DEFAULT_NGINX,
  LogFollower,
  NginxSizingError,
  nginxInstalled,
  openFilesHardLimit,
  renderNginxConf,
  sizeNginx,
} from './cluster.js';

/** Runs clusterCommand with console.error captured; returns the exit status and what it printed. */
async function runCluster(argv: string[]): Promise<{ status: number; errors: string[] }> {
  const errors: string[] = [];
  const original = console.error;
  console.error = (message: string) => errors.push(message);
  try {
    return { status: await clusterCommand(argv), errors };
  } finally {
    console.error = original;
  }
}

/** This process's child processes (from /proc), to show a failed start left none behind. */
function children(): string[] {
  try {
    return readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return [];
  }
}

describe('crier cluster', () => {
  test('the generated nginx.conf sizes worker_connections and the file limit as asked, and nginx -t accepts it', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-cluster-conf-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const conf = renderNginxConf({
      dir,
      nodes: ['127.0.0.1:3001', '127.0.0.1:3002'],
      listen: '127.0.0.1:8089',
      sizing: sizeNginx({ workers: 2, connections: 20_000, hardLimit: 20_000 }),
    });
    // 20,000 connections over 2 workers: 10,000 each, +10 % +64 of headroom for the kernel's spread.
    assert.match(conf, /^\s*worker_connections 11064;$/m);
    assert.match(conf, /^worker_rlimit_nofile 12088;$/m);
    assert.match(conf, /^worker_processes 2;$/m);
    assert.match(conf, /listen 127\.0\.0\.1:8089 reuseport;/);
    assert.match(conf, /server 127\.0\.0\.1:3002 max_fails=0;/);
    assert.match(
      renderNginxConf({ dir, nodes: ['127.0.0.1:1'], listen: '127.0.0.1:2' }),
      /worker_connections 8192;/,
    );
    if (!requireService(t, 'nginx', nginxInstalled(), 'apt-get install nginx-light')) return;
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'nginx.conf'), conf);
    const check = spawnSync(
      DEFAULT_NGINX,
      ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
      { encoding: 'utf8' },
    );
    assert.equal(check.status, 0, check.stderr);
  });

  test('a bad --nodes, --port, --nginx-workers, --nginx-connections or --store exits 2 naming the option, before starting anything', async () => {
    const cases: [string[], RegExp][] = [
      [['--nodes', '0'], /--nodes: expected an integer from 1 to 64/],
      [['--port', '70000'], /--port: expected a port/],
      [['--nginx-workers', '0'], /--nginx-workers: expected an integer from 1 to 256/],
      [['--nginx-workers', '257'], /--nginx-workers: expected an integer from 1 to 256/],
      [['--nginx-connections', 'lots'], /--nginx-connections: expected an integer/],
      [['--store', 'postgres://x'], /--store: expected redis/],
      [['--frobnicate'], /unknown option --frobnicate/],
    ];
    for (const [argv, message] of cases) {
      const { status, errors } = await runCluster(argv);
      assert.equal(status, 2, argv.join(' '));
      assert.equal(errors.length, 1, argv.join(' '));
      assert.match(errors[0]!, message);
    }
  });

  test('nginx is sized per worker: 10,000 subscribers on 2 workers fit under a hard limit of 20,000, and too many for the limit is refused with the numbers and the fix', () => {
    const fits = sizeNginx({ workers: 2, connections: 20_000, hardLimit: 20_000 });
    assert.equal(fits.workerConnections, 11_064);
    assert.equal(fits.rlimitNofile, 12_088);
    assert.ok(fits.subscribers >= 10_000, String(fits.subscribers));
    // By default each worker takes what the hard limit allows.
    const auto = sizeNginx({ workers: 2, hardLimit: 20_000 });
    assert.equal(auto.rlimitNofile, 20_000);
    assert.ok(auto.subscribers >= 10_000, String(auto.subscribers));
    // What one worker cannot hold: the error names the files needed, the limit, what fits and the fix.
    assert.throws(
      () => sizeNginx({ workers: 1, connections: 30_000, hardLimit: 20_000 }),
      (error: Error) =>
        error instanceof NginxSizingError &&
        /needs 34088 open files per worker/.test(error.message) &&
        /hard limit of 20000/.test(error.message) &&
        /ulimit -Hn 34088/.test(error.message) &&
        /LimitNOFILE=34088/.test(error.message),
    );
    assert.equal(openFilesHardLimit('/nonexistent'), Number.POSITIVE_INFINITY);
  });

  test('a port in use, a missing nginx, an unreachable store or connections above the file limit exit 1 with one line, starting nothing', async (t) => {
    const before = children();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    t.after(() => busy.close());
    const busyPort = (busy.address() as { port: number }).port;
    const closed = await freePort();
    const cases: [string[], RegExp][] = [
      [['--nginx', '/nonexistent/nginx'], /nginx not found at \/nonexistent\/nginx/],
      [['--nginx-workers', '1', '--nginx-connections', '4000000'], /hard limit/],
    ];
    if (nginxInstalled()) {
      cases.push(
        [['--port', String(busyPort)], new RegExp(`port ${busyPort} cannot be used \\(EADDRINUSE\\)`)],
        [
          ['--store', `redis://127.0.0.1:${closed}`, '--port', String(await freePort())],
          /store redis:\/\/127\.0\.0\.1:\d+ cannot be reached .*start Redis/,
        ],
        [
          ['--store', `nats://127.0.0.1:${closed}`, '--port', String(await freePort())],
          /cannot be reached .*start NATS/,
        ],
      );
    }
    for (const [argv, message] of cases) {
      const { status, errors } = await runCluster(argv);
      assert.equal(status, 1, argv.join(' '));
      assert.equal(errors.length, 1, `${argv.join(' ')}: ${errors.join(' | ')}`);
      assert.match(errors[0]!, message);
    }
    assert.deepEqual(children(), before);
  });

  test('the log follower passes on each alert, emerg and crit line appended to the log, and nothing else', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-follow-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, 'error.log');
    const seen: string[] = [];
    const follower = new LogFollower(log, (line) => seen.push(line), undefined, 60_000);
    follower.poll(); // no file yet: nothing
    writeFileSync(log, '2026/12/03 [warn] 1#1: an upstream response is buffered\n');
    writeFileSync(
      log,
      '2026/12/03 [warn] 1#1: x\n2026/12/03 [alert] 7#7: 135 worker_connections are not enough\n2026/12/03 [cr',
      { flag: 'a' },
    );
    follower.poll();
    writeFileSync(log, 'it] 7#7: accept4() failed (24: Too many open files)\n', { flag: 'a' });
    follower.stop();
    assert.deepEqual(seen, [
      '2026/12/03 [alert] 7#7: 135 worker_connections are not enough',
      '2026/12/03 [crit] 7#7: accept4() failed (24: Too many open files)',
    ]);
  });
});
