/**
 * The server side of the web-platform-tests `eventsource/` suite, re-created in Node for the WPT port
 * (wpt.test.ts): each route answers as the WPT resource of the same path does (wptserve Python handlers
 * and `.event_stream` templates) — the same status lines with their reason phrases, headers, body bytes
 * and delays. Written from the resources' behaviour; no code of theirs is copied.
 *
 * One difference: the WPT resources that keep state between a client's requests (reconnect-fail.py,
 * status-reconnect.py) keep it in cookies, and Node's `fetch` has no cookie jar. Here the state is kept
 * on the server under the same name the cookie has (from the `id`/`status` query parameters), which each
 * test makes unique, so the sequence of responses is the same.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WptServer {
  /** The base URL, ending in `/eventsource/` like the directory the WPT tests run in. */
  base: string;
  /** The origin, for resources outside eventsource/ (`/common/redirect.py`). */
  origin: string;
  /** Every request path with its `Last-Event-ID` header (raw bytes as latin1), in order. */
  requests: { path: string; lastEventId: string | undefined }[];
  close(): Promise<void>;
}

type Route = (url: URL, req: IncomingMessage, res: ServerResponse) => void;

function send(
  res: ServerResponse,
  status: number,
  reason: string | undefined,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const all = { ...headers, 'Content-Length': String(bytes.length) };
  if (reason === undefined) res.writeHead(status, all);
  else res.writeHead(status, reason, all);
  res.end(bytes);
}

/** A query parameter as the bytes wptserve hands a handler (percent-decoded as UTF-8 here). */
function param(url: URL, name: string): string | null {
  return url.searchParams.get(name);
}

export async function startWptServer(): Promise<WptServer> {
  // State the WPT resources keep in cookies (see the header comment).
  const state = new Map<string, string>();
  const requests: WptServer['requests'] = [];

  const routes: Record<string, Route> = {
    // message.py: `message` (default `data: data`) + `\n\n` (or nothing with newline=none) + `\n`, with
    // Content-Type `mime` (default text/event-stream), after sleeping `sleep` ms.
    '/eventsource/resources/message.py': (url, _req, res) => {
      const mime = param(url, 'mime') ?? 'text/event-stream';
      const message = param(url, 'message') ?? 'data: data';
      const newline = param(url, 'newline') === 'none' ? '' : '\n\n';
      const sleep = Number.parseInt(param(url, 'sleep') ?? '0', 10);
      const answer = () => send(res, 200, undefined, { 'Content-Type': mime }, `${message}${newline}\n`);
      if (sleep > 0) setTimeout(answer, sleep);
      else answer();
    },
    // last-event-id.py: echoes a Last-Event-ID as data; without one, sends `id: <idvalue>` (default U+2026),
    // retry 200 and `data: hello`.
    '/eventsource/resources/last-event-id.py': (url, req, res) => {
      const header = req.headers['last-event-id'];
      const headers = { 'Content-Type': 'text/event-stream' };
      if (typeof header === 'string' && header !== '') {
        // The header's bytes, as received (Node reads header values as latin1).
        send(
          res,
          200,
          undefined,
          headers,
          Buffer.concat([Buffer.from('data: '), Buffer.from(header, 'latin1'), Buffer.from('\n\n')]),
        );
      } else {
        const id = param(url, 'idvalue') ?? '\u2026';
        send(res, 200, undefined, headers, `id: ${id}\nretry: 200\ndata: hello\n\n`);
      }
    },
    // last-event-id2.py: three fixed streams by `type` (1: the ID persists, 2: it changes and persists,
    // 3: an empty id: resets it).
    '/eventsource/resources/last-event-id2.py': (url, _req, res) => {
      const type = Number.parseInt(param(url, 'type') ?? '1', 10);
      const bodies: Record<number, string> = {
        1: 'id: 1\ndata: 1\n\ndata:2\n\n',
        2: 'id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n',
        3: 'id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n',
      };
      send(
        res,
        200,
        undefined,
        { 'Content-Type': 'text/event-stream' },
        bodies[type] ?? 'data: invalid_test\n\n',
      );
    },
    // status-error.py: `status` (default 404) with reason HAHAHAHA, text/event-stream, `data: data` (no body
    // for 204 and 205).
    '/eventsource/resources/status-error.py': (url, _req, res) => {
      const status = Number.parseInt(param(url, 'status') ?? '404', 10);
      const body = status === 204 || status === 205 ? '' : 'data: data\n\n';
      send(res, status, 'HAHAHAHA', { 'Content-Type': 'text/event-stream' }, body);
    },
    // status-reconnect.py: the first request answers `status` with `retry: 2` (and `data: ok` with
    // ok_first) and remembers it; the next answers 200 `data: data` and forgets.
    '/eventsource/resources/status-reconnect.py': (url, _req, res) => {
      const status = param(url, 'status') ?? '204';
      const name = `request${param(url, 'id') ?? status}`;
      const headers = { 'Content-Type': 'text/event-stream' };
      if (state.get(name) === status) {
        state.delete(name);
        send(res, 200, undefined, headers, 'data: data\n\n');
      } else {
        state.set(name, status);
        const body = `retry: 2\n${url.searchParams.has('ok_first') ? 'data: ok\n\n' : ''}`;
        send(res, Number.parseInt(status, 10), 'TEST', headers, body);
      }
    },
    // reconnect-fail.py: 200 OPEN `retry: 2` + `data: opened`, then 200 RECONNECT `data: reconnected`, then
    // 204 NO CONTENT (CLOSE), keyed by `id`.
    '/eventsource/resources/reconnect-fail.py': (url, _req, res) => {
      const name = `recon_fail_${param(url, 'id') ?? ''}`;
      const headers = { 'Content-Type': 'text/event-stream' };
      const step = state.get(name);
      if (step === 'opened') {
        state.set(name, 'reconnected');
        send(res, 200, 'RECONNECT', headers, 'data: reconnected\n\n');
      } else if (step === 'reconnected') {
        state.delete(name);
        send(res, 204, 'NO CONTENT (CLOSE)', headers, '');
      } else {
        state.set(name, 'opened');
        send(res, 200, 'OPEN', headers, 'retry: 2\ndata: opened\n\n');
      }
    },
    // accept.event_stream and cache-control.event_stream: templates `data: {{headers[<name>]}}`.
    '/eventsource/resources/accept.event_stream': (_url, req, res) => {
      send(
        res,
        200,
        undefined,
        { 'Content-Type': 'text/event-stream' },
        `data: ${req.headers.accept ?? ''}\n\n`,
      );
    },
    '/eventsource/resources/cache-control.event_stream': (_url, req, res) => {
      send(
        res,
        200,
        undefined,
        { 'Content-Type': 'text/event-stream' },
        `data: ${req.headers['cache-control'] ?? ''}\n\n`,
      );
    },
    // /common/redirect.py: `status` (default 302) with Location `location`.
    '/common/redirect.py': (url, _req, res) => {
      const status = Number.parseInt(param(url, 'status') ?? '302', 10);
      const location = param(url, 'location') ?? '';
      send(res, status, undefined, { Location: location, 'Content-Type': 'text/plain' }, '');
    },
    // A stream that stays open, for close() and request-cancellation cases.
    '/eventsource/resources/open.event_stream': (_url, _req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: open\n\n');
    },
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://wpt.invalid');
    const header = req.headers['last-event-id'];
    requests.push({
      path: url.pathname + url.search,
      lastEventId: typeof header === 'string' ? header : undefined,
    });
    const route = routes[url.pathname];
    if (route) route(url, req, res);
    else send(res, 404, undefined, { 'Content-Type': 'text/plain' }, 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    base: `${origin}/eventsource/`,
    origin,
    requests,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
