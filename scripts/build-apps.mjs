#!/usr/bin/env node
// Builds the demo apps: each app's browser entry (apps/<app>/app.ts) bundled by esbuild into
// dist/apps/<app>/app.js with its index.html and style.css copied, the shared stylesheet and icon into
// dist/apps/shared/, and the server side (apps/index.ts: simulators, demo backends, request handler) into
// dist/apps/server.js (Node, ESM, npm packages left external).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const apps = join(root, 'apps');
const out = join(root, 'dist', 'apps');
const PAGES = ['home', 'sports', 'ticker', 'notifications', 'dashboard'];
const watch = process.argv.includes('--watch');
const NAV = [
  ['sports', 'Scores'],
  ['ticker', 'Markets'],
  ['notifications', 'Social'],
  ['dashboard', 'Hub dashboard'],
];

/**
 * Expands the markers every page shares: `<!-- crier:head title="…" -->` (charset, viewport, title, icon,
 * the shared and the page's stylesheet, the page's script) and `<!-- crier:nav -->` (brand and top
 * navigation, the current page marked).
 */
function renderPage(page, html) {
  const head = (title) =>
    [
      '<meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>${title}</title>`,
      '<link rel="icon" href="/shared/favicon.svg">',
      '<link rel="stylesheet" href="/shared/base.css">',
      `<link rel="stylesheet" href="/${page}/style.css">`,
      ...(existsSync(join(apps, page, 'app.ts'))
        ? [`<script type="module" src="/${page}/app.js"></script>`]
        : []),
    ].join('\n  ');
  const nav = [
    '<a class="brand" href="/"><span class="brand-mark"></span>Crier <small>live demos</small></a>',
    '<nav class="topnav">',
    ...NAV.map(
      ([id, label]) => `  <a href="/${id}/"${id === page ? ' aria-current="page"' : ''}>${label}</a>`,
    ),
    '</nav>',
  ].join('\n    ');
  const out = html
    .replace(/<!-- crier:head title="([^"]*)" -->/, (_, title) => head(title))
    .replace('<!-- crier:nav -->', nav);
  if (out.includes('<!-- crier:')) throw new Error(`apps/${page}/index.html: unknown crier: marker`);
  return out;
}

mkdirSync(join(out, 'shared'), { recursive: true });
for (const file of readdirSync(join(apps, 'shared'))) {
  if (/\.(css|svg|png)$/.test(file)) copyFileSync(join(apps, 'shared', file), join(out, 'shared', file));
}

const entryPoints = {};
for (const page of PAGES) {
  mkdirSync(join(out, page), { recursive: true });
  writeFileSync(
    join(out, page, 'index.html'),
    renderPage(page, readFileSync(join(apps, page, 'index.html'), 'utf8')),
  );
  if (existsSync(join(apps, page, 'style.css')))
    copyFileSync(join(apps, page, 'style.css'), join(out, page, 'style.css'));
  if (existsSync(join(apps, page, 'app.ts'))) entryPoints[`${page}/app`] = join(apps, page, 'app.ts');
}

const started = Date.now();
await Promise.all([
  build({
    entryPoints,
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: !watch,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  }),
  build({
    entryPoints: { server: join(apps, 'index.ts') },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  }),
]);
console.log(`apps built into dist/apps in ${Date.now() - started} ms`);
