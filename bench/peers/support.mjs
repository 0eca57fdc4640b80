// Helpers for peer files: versions of installed packages and of system binaries.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';

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

/** Resolves true once something accepts connections on 127.0.0.1:`port`, false if `child` exits or `ms` pass. */
export async function waitListening(port, child, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
