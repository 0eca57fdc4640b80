#!/usr/bin/env node
// Checks every code block in README.md and docs/*.md:
// - ts, tsx, js: type-checked together against the source (`crier-sse/<entry>` resolves to src/<entry>),
//   each block its own module; a block marked `run` is also executed (tsx, 30 s at most).
// - sh: each command checked as far as it can be without running it: `npm run X` names a script, `npm test
//   -- PATH` and `node PATH` name files that exist, `crier`/`npx crier-sse` commands and their flags are in
//   that command's `--help`.
// - json: parses (`//` comment lines allowed, several values in one block allowed).
// - a block without a language is output or a diagram, not code: not checked.
//
// Markers, in an HTML comment right before a block (invisible on GitHub and npm):
//   <!-- docs-check: skip REASON -->        not checked, and why (the reason is required)
//   <!-- docs-check: given DECLARATIONS --> TypeScript put before the block, for the names a fragment uses
//                                            (`declare const req: IncomingMessage;`); may span lines
//   <!-- docs-check: run -->                 also execute the block
//
// `node scripts/check-docs.mjs` prints one line per failure and exits 1 when there is one; `--list` prints
// every block and what was done with it. test/docs/docs.test.ts runs it in `npm test`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** The Markdown files checked: README.md and docs/*.md. */
export function docFiles() {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

/**
 * The fenced code blocks of a Markdown file: `{ file, line, lang, code, heading, skip, given, run }`, where
 * `line` is the line of the opening fence (1-based), `heading` the text of the nearest heading above it and
 * the rest comes from a `docs-check:` marker right before it.
 */
export function extractBlocks(file) {
  const lines = readFileSync(resolve(root, file), 'utf8').split('\n');
  const blocks = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const headingMatch = /^#{1,6}\s+(.*)$/.exec(line);
    if (headingMatch) heading = headingMatch[1].trim();
    const fence = /^(\s*)(```+|~~~+)\s*([\w+-]*)/.exec(line);
    if (!fence) continue;
    const [, indent, marker, lang] = fence;
    const body = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(marker)) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
      j++;
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: a code block is not closed`);
    blocks.push({
      file,
      line: i + 1,
      lang: lang.toLowerCase(),
      code: body.join('\n'),
      heading,
      ...markerBefore(lines, i),
    });
    i = j;
  }
  return blocks;
}

/** The `<!-- docs-check: … -->` comment that ends on the line before `index` (blank lines between allowed). */
function markerBefore(lines, index) {
  let end = index - 1;
  while (end >= 0 && lines[end].trim() === '') end--;
  if (end < 0 || !lines[end].trimEnd().endsWith('-->')) return {};
  let start = end;
  while (start >= 0 && !lines[start].includes('<!--')) start--;
  if (start < 0) return {};
  const text = lines
    .slice(start, end + 1)
    .join('\n')
    .replace(/^\s*<!--/, '')
    .replace(/-->\s*$/, '');
  const match = /^\s*docs-check:\s*(skip|given|run)\b([\s\S]*)$/.exec(text);
  if (!match) return {};
  const [, kind, rest] = match;
  if (kind === 'skip') return { skip: rest.trim() };
  if (kind === 'given') return { given: rest.trim() };
  return { run: true };
}

const TS_LANGS = new Set(['ts', 'typescript', 'tsx', 'js', 'javascript', 'mjs']);
const SH_LANGS = new Set(['sh', 'bash', 'shell', 'console']);
const JSON_LANGS = new Set(['json', 'jsonc']);
const TEXT_LANGS = new Set(['', 'text', 'txt', 'http', 'nginx', 'yaml', 'ini']);

/** Runs every check; returns `{ failures: string[], report: string[] }`. */
export function checkDocs({ files = docFiles() } = {}) {
  const failures = [];
  const report = [];
  const blocks = files.flatMap(extractBlocks);
  const tsBlocks = [];
  for (const block of blocks) {
    const where = `${block.file}:${block.line}`;
    if (block.skip !== undefined) {
      if (block.skip === '') failures.push(`${where}: a docs-check skip marker needs a reason`);
      report.push(`${where} [${block.lang || 'text'}] skipped: ${block.skip}`);
    } else if (TS_LANGS.has(block.lang)) {
      tsBlocks.push(block);
    } else if (SH_LANGS.has(block.lang)) {
      const problems = checkShell(block);
      failures.push(...problems.map((p) => `${where}: ${p}`));
      report.push(`${where} [${block.lang}] commands checked${problems.length ? ' (FAILED)' : ''}`);
    } else if (JSON_LANGS.has(block.lang)) {
      const problem = checkJson(block.code);
      if (problem) failures.push(`${where}: invalid JSON: ${problem}`);
      report.push(`${where} [json] parsed${problem ? ' (FAILED)' : ''}`);
    } else if (TEXT_LANGS.has(block.lang)) {
      report.push(`${where} [${block.lang || 'text'}] output or text, not checked`);
    } else {
      failures.push(
        `${where}: unknown code block language '${block.lang}' (add it to scripts/check-docs.mjs)`,
      );
    }
  }
  if (tsBlocks.length > 0) {
    const problems = checkTypeScript(tsBlocks);
    failures.push(...problems);
    for (const block of tsBlocks) {
      report.push(`${block.file}:${block.line} [${block.lang}] type-checked${block.run ? ' and run' : ''}`);
    }
  }
  return { failures, report };
}

// --- TypeScript --------------------------------------------------------------------------------------

/** Type-checks the blocks in one program (each its own module) and runs those marked `run`. */
function checkTypeScript(blocks) {
  const failures = [];
  const dir = mkdtempSync(join(root, '.docs-check-'));
  try {
    const sources = new Map();
    for (const block of blocks) {
      const ext = block.lang === 'tsx' ? 'tsx' : 'ts';
      const name = `${block.file.replace(/[/.]/g, '_')}_${block.line}.${ext}`;
      const prelude = block.given ? `${block.given}\n` : '';
      // `export {}` makes every block a module: its names stay its own, and top-level await works.
      writeFileSync(join(dir, name), `${prelude}${block.code}\nexport {};\n`);
      sources.set(name, { block, offset: prelude === '' ? 0 : prelude.split('\n').length - 1 });
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../tsconfig.json',
        compilerOptions: {
          noEmit: true,
          rootDir: '..',
          jsx: 'react-jsx',
          // Blocks show how a user writes it: unused names are fine, `!` on env variables too.
          noUnusedLocals: false,
          noUnusedParameters: false,
          paths: { 'crier-sse': ['../src/index.ts'], 'crier-sse/*': ['../src/*/index.ts'] },
        },
        include: ['./*.ts', './*.tsx'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
    const output = `${result.stdout}${result.stderr}`;
    for (const line of output.split('\n')) {
      const m = /^(.*?)\((\d+),(\d+)\): (error .*)$/.exec(line);
      if (!m) continue;
      const file = relative(dir, join(root, m[1]));
      const source = sources.get(file) ?? sources.get(m[1].split('/').pop());
      if (!source) {
        failures.push(`${relative(root, join(root, m[1]))}:${m[2]}: ${m[4]} (reached from a docs block)`);
        continue;
      }
      const mdLine = source.block.line + Number(m[2]) - source.offset;
      failures.push(`${source.block.file}:${mdLine}: ${m[4]}`);
    }
    if (result.status !== 0 && failures.length === 0) failures.push(`tsc failed:\n${output}`);
    for (const [name, { block }] of sources) {
      if (!block.run) continue;
      const run = spawnSync(process.execPath, ['--import', 'tsx', join(dir, name)], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, TSX_TSCONFIG_PATH: join(dir, 'tsconfig.json') },
      });
      if (run.status !== 0) {
        failures.push(
          `${block.file}:${block.line}: the block did not run (exit ${run.status ?? run.signal}):\n${run.stderr.trim()}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return failures;
}

// --- shell -------------------------------------------------------------------------------------------

const helpCache = new Map();

/** `crier <command…> --help`, from the source. */
function helpOf(words) {
  const key = words.join(' ');
  if (!helpCache.has(key)) {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src', 'cli', 'crier.ts'), ...words, '--help'],
      { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } },
    );
    helpCache.set(key, { status: result.status, text: `${result.stdout}${result.stderr}` });
  }
  return helpCache.get(key);
}

/** The commands of a shell block: continuation lines joined, comments dropped, split at `&&`, `;`, `|`, `&`. */
export function shellCommands(code) {
  // Continuation lines joined; a command substitution `$(…)` stands for one word.
  const joined = code.replace(/\\\n/g, ' ').replace(/\$\([^)]*\)/g, 'SUBSTITUTED');
  const commands = [];
  for (const rawLine of joined.split('\n')) {
    const line = stripComment(rawLine).trim();
    if (line === '') continue;
    for (const part of line.replace(/^\$\s+/, '').split(/\s*(?:&&|\|\||;|\||&)\s*/)) {
      const words = splitWords(part);
      while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) words.shift(); // VAR=value prefixes
      if (words.length > 0) commands.push(words);
    }
  }
  return commands;
}

function stripComment(line) {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function splitWords(text) {
  const words = [];
  const re = /'([^']*)'|"((?:\\.|[^"])*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;

/** A repository path a command names: relative, with a slash or an extension, not a URL or an option. */
function repoPath(word) {
  if (/^(-|\/|\.\.|[a-z]+:\/\/|\$)/.test(word) || word.includes('=')) return undefined;
  if (!/\//.test(word) && !/\.(m?js|ts|json|md|sh|conf)$/.test(word)) return undefined;
  return word.replace(/<[^>]*>.*$/, '');
}

function checkShell(block) {
  const problems = [];
  for (const words of shellCommands(block.code)) {
    const [cmd, ...args] = words;
    if (cmd === 'npm') {
      const [sub, ...rest] = args;
      if (sub === 'run' && !(rest[0] in scripts))
        problems.push(`npm run ${rest[0]}: no such script in package.json`);
      if ((sub === 'start' || sub === 'test') && !(sub in scripts))
        problems.push(`npm ${sub}: no such script`);
      const dash = rest.indexOf('--');
      if (sub === 'test' && dash >= 0) {
        for (const p of rest.slice(dash + 1)) {
          if (!p.startsWith('-') && !existsSync(join(root, p)))
            problems.push(`npm test -- ${p}: no such path`);
        }
      }
      continue;
    }
    let cli;
    if (cmd === 'crier' || cmd === 'crier-sse') cli = args;
    else if (cmd === 'npx' && (args[0] === 'crier-sse' || args[0] === 'crier')) {
      if (args[0] === 'crier') problems.push("npx crier: the package is crier-sse ('npx crier-sse …')");
      cli = args.slice(1);
    } else if (cmd === 'node' && args[0] === 'bin/crier.js') cli = args.slice(1);
    if (cli) {
      problems.push(...checkCrier(cli));
      continue;
    }
    if (cmd === 'node' || cmd === 'bash' || cmd === 'npx' || cmd === 'tsx') {
      for (const word of args) {
        const path = repoPath(word);
        if (path && path !== '' && !existsSync(join(root, path)) && !/^(dist|\/tmp)\//.test(path)) {
          problems.push(`${cmd} … ${word}: no such file in the repository`);
        }
      }
    }
  }
  return problems;
}

/** `crier <command> [subcommand] --flags…`: the command exists and every flag is in its --help. */
function checkCrier(args) {
  const command = [];
  for (const word of args) {
    if (word.startsWith('-')) break;
    command.push(word);
    if (command.length === (command[0] === 'bench' ? 2 : 1)) break;
  }
  if (command.length === 0) return [];
  const help = helpOf(command[0] === 'bench' ? command.slice(0, 1) : command);
  if (help.status !== 0)
    return [
      `crier ${command.join(' ')} --help failed (exit ${help.status}): ${help.text.trim().slice(0, 200)}`,
    ];
  const problems = [];
  const dash = args.indexOf('--');
  for (const word of dash >= 0 ? args.slice(0, dash) : args) {
    const flag = /^(--?[A-Za-z][\w-]*)/.exec(word)?.[1];
    if (!flag || word === '--') continue;
    const pattern = new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=]|$)`, 'm');
    if (!pattern.test(help.text))
      problems.push(`crier ${command.join(' ')} ${flag}: not an option in its --help`);
  }
  return problems;
}

// --- JSON --------------------------------------------------------------------------------------------

function checkJson(code) {
  const text = code
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n');
  try {
    JSON.parse(text);
    return undefined;
  } catch (first) {
    try {
      // Several values in one block (a JWT's header and payload): each top-level `{…}` on its own.
      JSON.parse(`[${text.replace(/}\s*\n\s*{/g, '},{')}]`);
      return undefined;
    } catch {
      return first.message;
    }
  }
}

// --- command line ------------------------------------------------------------------------------------

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const { failures, report } = checkDocs();
  if (process.argv.includes('--list')) console.log(report.join('\n'));
  for (const failure of failures) console.error(failure);
  console.log(`${report.length} code blocks in ${docFiles().length} files; ${failures.length} problem(s).`);
  process.exit(failures.length > 0 ? 1 : 0);
}
