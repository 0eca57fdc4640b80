/**
 * The HTTP plumbing every route of the hub shares: the request and response types (node:http, or
 * node:http2's compatibility API), reading a bounded body, CORS, plain and JSON answers, and the one
 * mapping from a refusal (`AuthError`, `HubError`) or a failure to an HTTP status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Logger } from 'pino';
import { headerFromText } from '../protocol/header-text.js';
import { AuthError, headerValue } from './auth/index.js';
import { HubError } from './errors.js';

/** A request over HTTP/1.1 or HTTP/2 (the compatibility API). */
export type Req = IncomingMessage | Http2ServerRequest;
/** A response over HTTP/1.1 or HTTP/2 (the compatibility API). */
export type Res = ServerResponse | Http2ServerResponse;

/** The request's headers as a record with lowercase names (what `headerValue` reads). */
export function headersOf(req: Req): Record<string, string> {
  return req.headers as Record<string, string>;
}

/** Reads a request body up to `max` bytes; more is a 413 (the rest is not read). */
export async function readBody(req: Req, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > max) {
    throw new HubError(
      'BODY_TOO_LARGE',
      `The body is ${declared} bytes; the most accepted is ${max} (--max-body).`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max)
      throw new HubError('BODY_TOO_LARGE', `The body is larger than ${max} bytes (--max-body).`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The media type of the request body, lowercase without parameters (`''` when none is given). */
export function mediaType(req: Req): string {
  return String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}

/** A form body (or none): anything else is a 415 whose message starts with `what`. */
export function requireForm(req: Req, what: string): void {
  const type = mediaType(req);
  if (type !== '' && type !== 'application/x-www-form-urlencoded') {
    throw new HubError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${what} Content-Type application/x-www-form-urlencoded, got ${type}.`,
    );
  }
}

/**
 * CORS for an allowed `Origin` (`origins` from `--cors-origins`; `*` allows any): the origin is echoed,
 * never `*`, because credentials (the cookie) need an explicit one.
 */
export function cors(req: Req, res: Res, origins: ReadonlySet<string>): void {
  const origin = headerValue(headersOf(req), 'origin');
  if (origin === undefined || origins.size === 0) return;
  if (origins.has(origin) || origins.has('*')) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader(
      'access-control-expose-headers',
      'link, last-event-id, mercure-last-event-id, crier-replay, etag',
    );
    res.setHeader('vary', 'origin');
  }
}

/** Answers a CORS preflight (`OPTIONS`): 204, with the allowed methods and headers when `cors` allowed the origin. */
export function preflight(req: Req, res: Res): void {
  if (res.hasHeader('access-control-allow-origin')) {
    res.setHeader('access-control-allow-methods', 'GET, QUERY, POST, OPTIONS');
    res.setHeader(
      'access-control-allow-headers',
      headerValue(headersOf(req), 'access-control-request-headers') ??
        'authorization, last-event-id, content-type',
    );
    res.setHeader('access-control-max-age', '600');
  }
  res.writeHead(204);
  res.end();
}

export function sendText(res: Res, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${body}\n`);
}

export function sendJson(res: Res, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8` });
  res.end(JSON.stringify(body));
}

/** An RFC 9110 quoted-string of any ID: `"` and `\\` escaped, non-ASCII sent as UTF-8 bytes. */
export function quotedString(value: string): string {
  return `"${headerFromText(value).replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Answers a request that threw: an `AuthError` with its status, description and `WWW-Authenticate`
 * challenge; a `HubError` with its status, message and headers; anything else is a 500 (and logged). A
 * stream already under way is cut. `countPublish` is told the status of a refused publish.
 */
export function sendError(
  req: Req,
  res: Res,
  error: unknown,
  log: Logger,
  countPublish: (status: number) => void,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof AuthError || error instanceof HubError) {
    // Why a request was refused, for the operator (the client gets the description only).
    log.debug(
      {
        requestId: res.getHeader('x-request-id'),
        method: req.method,
        path: req.url?.split('?')[0],
        status: error.status,
        code: error.code,
        reason: error.message,
      },
      'refused',
    );
  }
  if (error instanceof AuthError) {
    const headers: Record<string, string> = {};
    if (error.wwwAuthenticate !== undefined) headers['www-authenticate'] = error.wwwAuthenticate;
    if (req.method === 'POST' || req.url?.startsWith('/v1/')) countPublish(error.status);
    sendText(res, error.status, error.description, headers);
    return;
  }
  if (error instanceof HubError) {
    if (req.method === 'POST' && error.code !== 'RATE_LIMITED') countPublish(error.status);
    // A refused subscriber's socket is closed too: near the descriptor limit, every one counts.
    if (error.status === 413 || error.code === 'TOO_MANY_CONNECTIONS') res.setHeader('connection', 'close');
    sendText(res, error.status, error.message, { ...error.headers });
    return;
  }
  log.error({ err: error }, 'unexpected error');
  sendText(res, 500, 'Internal error.');
}
