// Peer: Crier as the hub, `crier serve`, spoken to over the Mercure protocol: subscribe with
// GET /.well-known/mercure?topic=X, publish with a form POST there and a publisher JWT (HS256).
// Runs only once `crier serve --help` documents the Mercure endpoint and the key option this file uses.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { repoRoot } from './support.mjs';

/** The publisher key the hub runs with (bench/cluster.mjs uses it too). */
export const KEY = 'crier-bench-secret-key-of-at-least-32-bytes!';
const bin = `${repoRoot}bin/crier.js`;

function help() {
  const r = spawnSync(process.execPath, [bin, 'serve', '--help'], { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout}${r.stderr}`;
}

/** A publisher JWT (HS256) for KEY that may publish to every topic. */
export async function publisherToken() {
  const { SignJWT } = await import('jose');
  return new SignJWT({ mercure: { publish: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(KEY));
}

let token = '';

export default {
  name: 'crier-hub',
  label: 'Crier (hub)',
  version: () => `crier ${JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')).version}`,
  check: async () => {
    if (!existsSync(`${repoRoot}dist/cli/crier.js`)) return 'dist/cli/crier.js is not built';
    const text = help();
    if (!text.includes('/.well-known/mercure'))
      return '`crier serve` has no Mercure endpoint yet (the hub is not built)';
    if (!text.includes('--publisher-jwt-key'))
      return '`crier serve --help` lists no --publisher-jwt-key option';
    token = await publisherToken();
    return null;
  },
  command: ({ port }) => ({
    cmd: process.execPath,
    args: [bin, 'serve', '--port', String(port), '--publisher-jwt-key', KEY, '--anonymous'],
    env: {},
  }),
  subscribeUrl: (port) => `http://127.0.0.1:${port}/.well-known/mercure?topic=t%I`,
  publishUrl: (port) => `http://127.0.0.1:${port}/.well-known/mercure`,
  publishBody: 'topic=t%I&data={"t":%T}',
  publishHeaders: () => [`Authorization: Bearer ${token}`],
  replay: true,
};
