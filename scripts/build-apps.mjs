#!/usr/bin/env node
// Builds the demo apps: each app's browser entry (apps/<app>/app.ts) bundled by esbuild into
// dist/apps/<app>/app.js with its index.html and style.css copied, the shared stylesheet and icon into
// dist/apps/shared/, and the server side (apps/index.ts: simulators, demo backends, request handler) into
// dist/apps/server.js (Node, ESM, npm packages left external).
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const apps = join(root, 'apps');
const out = join(root, 'dist', 'apps');
const PAGES = ['home', 'sports', 'ticker', 'notifications', 'dashboard'];
const watch = process.argv.includes('--watch');

mkdirSync(join(out, 'shared'), { recursive: true });
for (const file of readdirSync(join(apps, 'shared'))) {
  if (/\.(css|svg|png)$/.test(file)) copyFileSync(join(apps, 'shared', file), join(out, 'shared', file));
}

const entryPoints = {};
for (const page of PAGES) {
  mkdirSync(join(out, page), { recursive: true });
  for (const file of ['index.html', 'style.css']) {
    if (existsSync(join(apps, page, file))) copyFileSync(join(apps, page, file), join(out, page, file));
  }
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
