// Helpers for peer files: versions of installed packages and of system binaries.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

/** The installed version of an npm package, or '' when it is not installed. */
export function packageVersion(name) {
  const file = new URL(`node_modules/${name}/package.json`, root);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : '';
}

/** The version of a Debian package, or ''. */
export function debVersion(name) {
  const r = spawnSync('dpkg-query', ['-W', `-f=\${Version}`, name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

export const repoRoot = root.pathname;
