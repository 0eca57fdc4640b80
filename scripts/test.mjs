#!/usr/bin/env node
// Runs every *.test.ts file with node's test runner (TypeScript through tsx).
// `npm test` runs them all; `npm test -- src/protocol` runs those under the paths given.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SKIP = new Set(['node_modules', 'dist', '.git', 'coverage']);

function collect(path, out) {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (/\.test\.ts$/.test(path)) out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) {
    if (!SKIP.has(name)) collect(join(path, name), out);
  }
  return out;
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const roots = args.filter((a) => !a.startsWith('--'));
const files = (roots.length > 0 ? roots : ['src', 'apps', 'bench', 'deploy'])
  .map((p) => join(root, p))
  .filter((p) => {
    try {
      statSync(p);
      return true;
    } catch {
      return false;
    }
  })
  .flatMap((p) => collect(p, []))
  .map((p) => relative(root, p));

if (files.length === 0) {
  console.error('No test files found under', roots.join(' ') || 'the default folders');
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    '--test-timeout=300000',
    ...flags,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } },
);
process.exit(result.status ?? 1);
