/**
 * The operator's surface of a hub: `/metrics` and the live dashboard (`/dashboard/`), and where they are
 * served. With `--admin-addr` they move to a listener of their own (bind it to a private address); the
 * public port then answers 404 for them. With `--admin-token` they take `Authorization: Bearer TOKEN`
 * (Prometheus' `authorization` setting), or for a browser a cookie set by opening `/dashboard/?token=TOKEN`
 * once. The admin listener also answers `/healthz`, `/readyz`, the dashboard's assets and the hub's
 * subscribe endpoint (the dashboard page subscribes to its stats topic on the origin it was served from).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { bearerCredentials, cookieValues } from './auth/extract.js';
import { AuthError } from './auth/index.js';
import type { HubConfig } from './config.js';
import { HubError } from './errors.js';
import type { Req, Res } from './http.js';

/** Which listener a request came in on. */
export type Listener = 'public' | 'admin';

const COOKIE = 'crier_admin';

/** `/metrics` and the dashboard's pages and APIs: the routes the admin token and listener guard. */
export function isAdminRoute(path: string): boolean {
  return path === '/metrics' || path === '/dashboard' || path.startsWith('/dashboard/');
}

/** `9090` → 127.0.0.1:9090; `0.0.0.0:9090`, `[::1]:9090` as given. */
export function parseAdminAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  const host = colon === -1 ? '127.0.0.1' : addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(addr.slice(colon + 1)) };
}

export class AdminGuard {
  private readonly tokenHash: Buffer | undefined;

  constructor(private readonly config: Pick<HubConfig, 'adminAddr' | 'adminToken'>) {
    this.tokenHash = config.adminToken === undefined ? undefined : sha256(config.adminToken);
  }

  /**
   * Decides a request's fate before routing: throws a 404 for what this listener does not serve, a 401 for
   * an admin route without the token; answers (returns true) the `?token=` sign-in redirect itself.
   */
  check(req: Req, res: Res, url: URL, listener: Listener, hubPath: string): boolean {
    const path = url.pathname;
    const admin = isAdminRoute(path);
    if (listener === 'admin') {
      const served =
        admin ||
        path === '/healthz' ||
        path === '/readyz' ||
        path.startsWith('/shared/') ||
        path === '/favicon.ico' ||
        (path === hubPath && (req.method === 'GET' || req.method === 'HEAD'));
      if (!served) throw new HubError('NOT_FOUND', `The admin listener does not serve ${path}.`);
    } else if (admin && this.config.adminAddr !== undefined) {
      throw new HubError('NOT_FOUND', `${path} is served on the admin listener (--admin-addr), not here.`);
    }
    if (!admin || this.tokenHash === undefined) return false;
    const given = url.searchParams.get('token');
    if (given !== null && path.startsWith('/dashboard') && this.matches(given)) {
      // A browser signs in once: the token moves to an HttpOnly cookie and out of the address bar.
      res.writeHead(303, {
        location: path,
        'set-cookie': `${COOKIE}=${encodeURIComponent(given)}; Path=/dashboard; HttpOnly; SameSite=Strict`,
        'cache-control': 'no-store',
      });
      res.end();
      return true;
    }
    const headers = req.headers as Record<string, string>;
    const bearer = bearerCredentials(headers);
    const cookie = cookieValues(headers, COOKIE)[0];
    if ((bearer !== undefined && this.matches(bearer)) || (cookie !== undefined && this.matches(cookie)))
      return false;
    throw new AuthError(
      bearer === undefined && cookie === undefined ? 'TOKEN_MISSING' : 'INVALID_TOKEN',
      `${path} needs the admin token (--admin-token): send Authorization: Bearer TOKEN${path.startsWith('/dashboard') ? ', or open /dashboard/?token=TOKEN once' : ''}.`,
      { description: `${path} needs the admin token (--admin-token).` },
    );
  }

  private matches(token: string): boolean {
    return this.tokenHash !== undefined && timingSafeEqual(sha256(token), this.tokenHash);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
