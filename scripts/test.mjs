#!/usr/bin/env node
// Runs every *.test.ts file with node's test runner (TypeScript through tsx).
// `npm test` runs them all; `npm test -- src/protocol` runs those under the paths given.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const files = (roots.length > 0 ? roots : ['src', 'apps', 'bench', 'deploy', 'test'])
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

// The spec reporter for people; a TAP copy to count results, so that the run ends with one summary line
// and, in CI, a skipped test (a missing service) fails the run.
const tapDir = mkdtempSync(join(tmpdir(), 'crier-test-'));
const tapFile = join(tapDir, 'results.tap');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    '--test-timeout=300000',
    ...flags,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } },
);

const tap = (() => {
  try {
    return readFileSync(tapFile, 'utf8');
  } finally {
    rmSync(tapDir, { recursive: true, force: true });
  }
})();
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const passed = count('pass');
let failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
const inCI = process.env.CI === 'true' || process.env.CI === '1';
if (skipped > 0 && inCI) {
  console.log(
    `\n${skipped} test(s) skipped or todo: in CI that is a failure (.ci/run must provide every service the tests need).`,
  );
  failed += skipped;
} else if (skipped > 0) {
  console.log(`\n${skipped} test(s) skipped: see the !!! SKIPPED lines above for what is missing.`);
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(result.status !== 0 || failed > 0 ? result.status || 1 : 0);
