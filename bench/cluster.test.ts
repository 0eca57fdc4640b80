/**
 * The cluster scenario's plumbing (bench/cluster.mjs, bench/run.mjs --only, bench/report.mjs): bad input
 * gets a clear error, a missing C client is a clear "not run" (CI's quick run), and the page renders the
 * saved figures with the per-delivery costs. The measurement itself needs 10,000 subscribers and runs with
 * `npm run bench -- --only cluster --ssebench ...`, not here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs script without type declarations
import { clusterCheck, SETUPS, selectSetups } from './cluster.mjs';

const root = new URL('..', import.meta.url).pathname;
const run = (args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bench/run.mjs'), ...args], { cwd: root, encoding: 'utf8' });

test('every cluster set-up is one entry: one node, three straight, through nginx, through a layer-4 proxy', () => {
  const names = (SETUPS as { name: string }[]).map((s) => s.name);
  assert.deepEqual(names.slice(0, 4), ['one-node', 'direct-3', 'nginx-3', 'haproxy-3']);
});

test('an unknown set-up is refused with the names that exist', () => {
  assert.throws(
    () => selectSetups('one-node,nope'),
    /unknown cluster set-up nope; known: one-node, direct-3/,
  );
  assert.deepEqual(
    (selectSetups('nginx-3,one-node') as { name: string }[]).map((s) => s.name),
    ['one-node', 'nginx-3'],
  );
});

test('without the C client the scenario is not run, and says how to get it', async () => {
  const reason = await clusterCheck({ ssebench: undefined });
  assert.match(reason, /pass --ssebench .*gcc -O2 -o \/tmp\/ssebench/);
  assert.match(await clusterCheck({ ssebench: '/nonexistent/ssebench' }), /cannot be run/);
});

test('--only with anything but cluster exits 2 with one line and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crier-cluster-test-'));
  try {
    const r = run(['--only', 'peers', '--out', join(dir, 'b.md')]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), '--only: expected cluster, got peers');
    assert.equal(existsSync(join(dir, 'b.md')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the page renders the saved cluster figures with the proxy µs per delivery and Redis per node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crier-cluster-test-'));
  try {
    const json = join(dir, 'benchmarks.json');
    copyFileSync(join(root, 'docs/benchmarks.json'), json);
    const r = run(['--render', json]);
    assert.equal(r.status, 0, r.stderr);
    const page = readFileSync(join(dir, 'benchmarks.md'), 'utf8');
    assert.match(page, /## Cluster: one node, 3 nodes straight and through a proxy/);
    assert.match(page, /\| 20k \| 3 nodes through nginx \(L7, `crier cluster`\) \| 1 \| \d/);
    assert.match(page, /- \*\*nginx\*\*: [\d.]+ µs of CPU per delivery .* proxy cores per node core/);
    assert.match(page, /Each node past the first costs Redis about [\d.]+ µs of CPU/);
    assert.match(page, /\| one node \| 1 \| [\d.]+ s \(10,000\) \| [\d.]+ s \(10,000\) \|/);

    // A run without the C client keeps the section, with the reason.
    const saved = JSON.parse(readFileSync(json, 'utf8'));
    saved.cluster = { notRun: 'the cluster scenario measures with the C client: pass --ssebench' };
    writeFileSync(json, JSON.stringify(saved));
    assert.equal(run(['--render', json]).status, 0);
    assert.match(
      readFileSync(join(dir, 'benchmarks.md'), 'utf8'),
      /## Cluster: one node, 3 nodes straight and through a proxy\n\nnot run: the cluster scenario measures with the C client/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
