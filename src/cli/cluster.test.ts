import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { requireService } from '../testing/services.js';
import { clusterCommand, DEFAULT_NGINX, nginxInstalled, renderNginxConf } from './cluster.js';

describe('crier cluster', () => {
  test('the generated nginx.conf sizes worker_connections and the file limit as asked, and nginx -t accepts it', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-cluster-conf-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const conf = renderNginxConf({
      dir,
      nodes: ['127.0.0.1:3001', '127.0.0.1:3002'],
      listen: '127.0.0.1:8089',
      workerConnections: 11_024,
    });
    assert.match(conf, /^\s*worker_connections 11024;$/m);
    assert.match(conf, /^worker_rlimit_nofile 12048;$/m);
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

  test('a bad --nodes, --port, --nginx-connections or --store exits 2 naming the option, before starting anything', async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (message: string) => errors.push(message);
    try {
      assert.equal(await clusterCommand(['--nodes', '0']), 2);
      assert.equal(await clusterCommand(['--port', '70000']), 2);
      assert.equal(await clusterCommand(['--nginx-connections', 'lots']), 2);
      assert.equal(await clusterCommand(['--store', 'postgres://x']), 2);
      assert.equal(await clusterCommand(['--frobnicate']), 2);
    } finally {
      console.error = original;
    }
    assert.match(errors[0]!, /--nodes: expected an integer from 1 to 64/);
    assert.match(errors[1]!, /--port: expected a port/);
    assert.match(errors[2]!, /--nginx-connections: expected an integer/);
    assert.match(errors[3]!, /--store: expected redis/);
    assert.match(errors[4]!, /unknown option --frobnicate/);
  });
});
