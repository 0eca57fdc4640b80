/**
 * Docs that run: every code block in README.md and docs/*.md passes scripts/check-docs.mjs (TypeScript
 * type-checked, `run` blocks executed, shell commands and `crier` flags checked, JSON parsed), and the
 * checker itself catches what it is there to catch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain .mjs script without type declarations
import { checkDocs, extractBlocks } from '../../scripts/check-docs.mjs';

type Result = { failures: string[]; report: string[] };
const check = checkDocs as (options?: { files?: string[] }) => Result;

const root = new URL('../..', import.meta.url).pathname;

/** Checks one Markdown text written to a temporary file inside the repository. */
function checkText(markdown: string): Result {
  const dir = mkdtempSync(join(root, '.docs-check-fixture-'));
  try {
    const file = join(dir, 'fixture.md');
    writeFileSync(file, markdown);
    return check({ files: [file] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fence = '```';

describe('docs check (scripts/check-docs.mjs)', () => {
  test('every code block in README.md and docs/ type-checks, runs or is a valid command', () => {
    const { failures, report } = check();
    assert.deepEqual(failures, [], failures.join('\n'));
    assert.ok(report.length > 30, `only ${report.length} blocks found`);
  });

  test('a TypeScript block that does not type-check fails, at its line in the Markdown file', () => {
    const { failures } = checkText(
      `# T\n\n${fence}ts\nimport { Hub } from 'crier-sse/server';\nnew Hub().publish(42);\n${fence}\n`,
    );
    assert.equal(failures.length, 1, failures.join('\n'));
    assert.match(failures[0]!, /fixture\.md:5: error TS2554: Expected 2-3 arguments/);
  });

  test('a run block that throws fails; a given marker declares what a fragment uses', () => {
    const { failures } = checkText(
      [
        '<!-- docs-check: given declare const n: number; -->',
        `${fence}ts`,
        'console.log(n.toFixed(1));',
        fence,
        '',
        '<!-- docs-check: run -->',
        `${fence}ts`,
        "throw new Error('boom');",
        fence,
      ].join('\n'),
    );
    assert.equal(failures.length, 1, failures.join('\n'));
    assert.match(failures[0]!, /fixture\.md:7: the block did not run/);
  });

  test('shell blocks: an unknown crier flag, an unknown npm script, npx crier (not the package) and a missing file fail', () => {
    const { failures } = checkText(
      [
        `${fence}sh`,
        'npx crier-sse serve --port 8080 --no-such-flag   # a comment',
        'npm run no-such-script',
        'npx crier serve',
        'node scripts/no-such-file.mjs',
        'npm test -- src/protocol && crier cluster --nodes 3',
        fence,
      ].join('\n'),
    );
    assert.equal(failures.length, 4, failures.join('\n'));
    assert.match(failures.join('\n'), /--no-such-flag: not an option/);
    assert.match(failures.join('\n'), /npm run no-such-script: no such script/);
    assert.match(failures.join('\n'), /npx crier: the package is crier-sse/);
    assert.match(failures.join('\n'), /no-such-file\.mjs: no such file/);
  });

  test('a skip marker needs a reason; invalid JSON fails; an unknown language fails', () => {
    const { failures } = checkText(
      [
        '<!-- docs-check: skip -->',
        `${fence}ts`,
        'nonsense(',
        fence,
        `${fence}json`,
        '{ "a": 1, }',
        fence,
        `${fence}cobol`,
        'DISPLAY "HI".',
        fence,
      ].join('\n'),
    );
    assert.equal(failures.length, 3, failures.join('\n'));
    assert.match(failures.join('\n'), /skip marker needs a reason/);
    assert.match(failures.join('\n'), /invalid JSON/);
    assert.match(failures.join('\n'), /unknown code block language 'cobol'/);
  });

  test('blocks carry their heading, so the package test can take the quick starts from docs/library.md', () => {
    const blocks = (extractBlocks as (file: string) => { heading: string; lang: string }[])(
      'docs/library.md',
    );
    for (const heading of ['Plain node:http', 'Express 5', 'Fastify 5']) {
      assert.ok(
        blocks.some((b) => b.heading === heading && b.lang === 'ts'),
        `no ts block under '### ${heading}'`,
      );
    }
  });
});
