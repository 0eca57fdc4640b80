/**
 * Layers point one way: no module in src/ may reach itself through its imports (type-only imports count:
 * they tie the layers together just the same). The test reads every non-test `.ts` file under src/, takes
 * the relative `import`/`export ... from` specifiers, and reports each strongly connected component of
 * the graph. Cycles that must be tolerated for a while would be listed in KNOWN_CYCLES (none today); any
 * other fails.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));

/**
 * Cycles allowed for now, each a set of modules (paths relative to src/). A component is allowed when
 * all its modules are in one of these sets; shrink them as the cycles are broken, never grow them.
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (
      entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.d.ts')
    ) {
      out.push(path);
    }
  }
  return out;
}

// `import ... from '...'`, `export ... from '...'`, `import '...'` and `import('...')`, over several lines.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Module graph of src/: each file (relative to src/) to the files it imports. */
export function importGraph(root: string = SRC): Map<string, string[]> {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = new Set<string>();
    for (const match of text.matchAll(SPECIFIER)) {
      const target = resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts'));
      if (known.has(target)) targets.add(relative(root, target));
    }
    graph.set(relative(root, file), [...targets].sort());
  }
  return graph;
}

/** Strongly connected components with a cycle (two or more modules, or one importing itself); Tarjan. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

test('the cycle finder reports a loop through three modules and nothing for a chain', () => {
  const loop = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  assert.deepEqual(cycles(loop), [['a.ts', 'b.ts', 'c.ts']]);
  assert.deepEqual(
    cycles(
      new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', []],
      ]),
    ),
    [],
  );
});

test('src/ has no import cycle beyond the known ones (issue 18 item 1)', () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, `expected to read src/, read ${graph.size} files`);
  const unexpected = cycles(graph).filter(
    (component) => !KNOWN_CYCLES.some((allowed) => component.every((m) => allowed.includes(m))),
  );
  assert.deepEqual(
    unexpected,
    [],
    `new import cycle(s) in src/:\n${unexpected.map((c) => c.join(' → ')).join('\n')}`,
  );
});
