/**
 * The operator's routes on the hub's own port: `/healthz` (the process answers), `/readyz` (the store is
 * reachable and the hub is not shutting down), `/metrics` (Prometheus), the OAuth protected-resource
 * metadata (draft-08 §9.2) and the landing page at `/`. Where they are served, and who may see `/metrics`,
 * is src/mercure/admin.ts's decision, taken before routing.
 */
import { type Res, sendJson, sendText } from '../http.js';
import type { RouteContext } from './context.js';

/** Answers `path` when it is an operations route (true), else leaves the request alone (false). */
export async function operations(
  ctx: RouteContext,
  res: Res,
  path: string,
  method: string,
): Promise<boolean> {
  const metadataUrl = ctx.auth.protectedResourceMetadataUrl;
  if (metadataUrl !== undefined && path === new URL(metadataUrl).pathname && method === 'GET') {
    sendJson(res, 200, ctx.auth.protectedResourceMetadata());
    return true;
  }
  if (path === '/healthz') {
    sendText(res, 200, 'ok');
    return true;
  }
  if (path === '/readyz') {
    const health = await ctx.engine.health();
    sendText(
      res,
      health.ready && !ctx.closing ? 200 : 503,
      health.ready ? (health.detail ?? 'ready') : `not ready: ${health.detail ?? 'engine'}`,
    );
    return true;
  }
  if (path === '/metrics') {
    const body = await ctx.metrics.render();
    res.writeHead(200, { 'content-type': ctx.metrics.contentType });
    res.end(body);
    return true;
  }
  return false;
}

/** The landing page at `/`: where the Mercure endpoint is, and the operations routes. */
export function landing(ctx: RouteContext, res: Res): void {
  const hubUrl = ctx.hubUrl.href;
  res.setHeader('link', `<${hubUrl}>; rel="mercure"`);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Crier hub</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:44rem;color:#1d2330}code{background:#f3f4f7;padding:0 .2em}</style>
<h1>Crier hub</h1>
<p>The Mercure hub is at <code>${hubUrl}</code>. Subscribe with <code>new EventSource('${hubUrl}?topic=…')</code>,
publish with a form POST carrying a publisher JWT. See docs/hub.md.</p>
<p>Operations: <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a>.</p></html>`);
}
