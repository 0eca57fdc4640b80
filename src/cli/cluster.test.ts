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
  DEFAULT_HAPROXY,
  DEFAULT_NGINX,
  haproxyInstalled,
  LogFollower,
  NginxSizingError,
  nginxInstalled,
  nginxStreamModule,
  openFilesHardLimit,
  renderHaproxyConf,
  renderNginxConf,
  renderNginxStreamConf,
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

  test('the generated haproxy.cfg and stream nginx.conf send the PROXY protocol to every node from the trusted source, sized per process, and the binaries accept them', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-cluster-conf-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const sizing = sizeNginx({ workers: 2, connections: 20_000, hardLimit: 20_000 });
    const nodes = ['127.0.0.1:3001', '127.0.0.1:3002'];
    const haproxy = renderHaproxyConf({ nodes, listen: '127.0.0.1:8089', sizing, source: '127.0.0.2' });
    assert.match(haproxy, /^\s*maxconn 5532$/m);
    assert.match(haproxy, /^\s*ulimit-n 12088$/m);
    assert.match(haproxy, /^\s*nbthread 1$/m);
    assert.match(haproxy, /^\s*bind 127\.0\.0\.1:8089$/m);
    assert.match(haproxy, /^\s*server node2 127\.0\.0\.1:3002 source 127\.0\.0\.2$/m);
    assert.doesNotMatch(haproxy, /:3003/);
    assert.match(haproxy, /default-server .*send-proxy-v2 check-send-proxy/);
    assert.match(haproxy, /timeout tunnel 1h/);
    const module = '/usr/lib/nginx/modules/ngx_stream_module.so';
    const stream = renderNginxStreamConf({
      dir,
      nodes,
      listen: '127.0.0.1:8089',
      sizing,
      source: '127.0.0.2',
      module,
    });
    assert.match(stream, /^load_module \/usr\/lib\/nginx\/modules\/ngx_stream_module\.so;$/m);
    assert.match(stream, /^\s*worker_connections 11064;$/m);
    assert.match(stream, /^\s*listen 127\.0\.0\.1:8089 reuseport;\n\s*proxy_bind 127\.0\.0\.2;$/m);
    assert.match(stream, /^\s*proxy_protocol on;$/m);
    assert.match(stream, /server 127\.0\.0\.1:3002 max_fails=0;/);
    if (requireService(t, 'haproxy', haproxyInstalled(), 'apt-get install haproxy')) {
      writeFileSync(join(dir, 'haproxy.cfg'), haproxy);
      const check = spawnSync(DEFAULT_HAPROXY, ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr + check.stdout);
    }
    // An nginx built without it, and no dynamic module to load: none.
    assert.equal(nginxStreamModule('/bin/true', '/nonexistent/ngx_stream_module.so'), undefined);
    const found = nginxStreamModule();
    if (!requireService(t, 'nginx stream module', found !== undefined, 'apt-get install libnginx-mod-stream'))
      return;
    writeFileSync(
      join(dir, 'nginx.conf'),
      renderNginxStreamConf({
        dir,
        nodes,
        listen: '127.0.0.1:8089',
        sizing,
        source: '127.0.0.2',
        module: found!,
      }),
    );
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
      [['--proxy', 'traefik'], /--proxy: expected nginx, haproxy or nginx-stream, got "traefik"/],
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

  test('a port in use, a missing nginx or haproxy, an unreachable store or connections above the file limit exit 1 with one line, starting nothing', async (t) => {
    const before = children();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    t.after(() => busy.close());
    const busyPort = (busy.address() as { port: number }).port;
    const closed = await freePort();
    const cases: [string[], RegExp][] = [
      [['--nginx', '/nonexistent/nginx'], /nginx not found at \/nonexistent\/nginx/],
      [
        ['--proxy', 'haproxy', '--haproxy', '/nonexistent/haproxy'],
        /haproxy not found at \/nonexistent\/haproxy \(apt-get install haproxy/,
      ],
      [
        ['--proxy', 'nginx-stream', '--nginx', '/nonexistent/nginx'],
        /nginx not found at \/nonexistent\/nginx/,
      ],
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
