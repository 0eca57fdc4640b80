/**
 * The node:http (HTTP/1.1) adapter — the fast one. After the response head, Crier stops going through
 * `ServerResponse.write` (which costs a stream pass, a chunk header and a cork per call and saturates near
 * 34k writes/s) and writes each event's pre-framed chunk, shared by all subscribers, straight to the socket.
 * It keeps a reference to the socket only; the request and response objects are not held.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import { joinVary } from '../compression.js';
import { eventBytes, type PreparedEvent } from '../prepared.js';
import { refusalFor } from '../refusal.js';
import type { SubscribeOptions } from '../request.js';
import { Http2Transport, resetRefused } from './node-http2.js';
import { noop, SSE_HEADERS, type SubscriberHost, subscribe, type Transport } from './transport.js';

export { SSE_HEADERS } from './transport.js';

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

export class NodeHttpTransport implements Transport {
  private readonly socket: Socket;
  private res: ServerResponse | null;
  /** True when the response uses chunked transfer-encoding (HTTP/1.1); false for HTTP/1.0 (raw bytes, then close). */
  framed = true;
  private ended: () => void = noop;

  /**
   * `heartbeats`: whether the hub sends heartbeats. TCP keepalive probes only idle connections; with
   * heartbeats on, a dead peer leaves unacknowledged bytes, which keepalive ignores (the kernel's
   * retransmission timeout ends it): two syscalls saved per connect. Without heartbeats the probes are the
   * only way to notice a peer that vanished.
   */
  constructor(res: ServerResponse, heartbeats: boolean) {
    this.res = res;
    this.socket = res.socket as Socket;
    if (!heartbeats) this.socket.setKeepAlive(true, 30_000);
  }

  onEnd(ended: () => void): void {
    this.ended = ended;
    // The stream's one close listener: it stays when node:http's are taken off (detachFromHttpServer).
    this.socket.on('close', ended);
  }

  open(given: Record<string, string>, first: readonly PreparedEvent[]): void {
    const res = this.res!;
    this.res = null; // hold the socket only
    const headers = joinVary(given, res.getHeader('vary'));
    const socket = this.socket;
    if (socket.destroyed) {
      this.ended();
      return;
    }
    socket.setNoDelay(true);
    socket.setTimeout(0);
    // `Connection: close`: the socket is ours from here and is closed when the stream ends, never reused.
    // Said up front, a keep-alive client (undici's pool, nginx's upstream keepalive) does not pick the
    // socket for its next request in the moment between the stream's last chunk and the close.
    if (first.length !== 1 || !writeSseHeadWith(res, headers, first[0]!)) {
      // Head and first bytes in one packet: cork, write the head through node:http, then our chunk.
      socket.cork();
      writeSseHead(res, headers);
      this.framed = res.chunkedEncoding;
      if (first.length > 0) socket.write(eventBytes(first, this.framed));
      socket.uncork();
    }
    // else the usual connect: head and `retry:` went out in one buffer, one write (framed, see below).
    // Deferred: we may be inside the HTTP parser's own callback here, and it must not be freed under itself.
    if (this.framed) setImmediate(detachFromHttpServer, socket);
  }

  get buffered(): number {
    return this.socket.writableLength;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  writeThen(parts: readonly Uint8Array[], drained: () => void): void {
    // The callback runs once the bytes are handed to the kernel: a client that does not read never gets
    // the next slice. Several parts go out as one writev (shared payloads, no copy).
    const done = (error?: Error | null) => {
      if (error == null) drained();
    };
    const socket = this.socket;
    if (parts.length === 1) {
      socket.write(parts[0]!, done);
      return;
    }
    socket.cork();
    for (let i = 0; i < parts.length - 1; i++) socket.write(parts[i]!);
    socket.write(parts.at(-1)!, done);
    socket.uncork();
  }

  terminate(graceful: boolean): void {
    if (graceful && !this.socket.destroyed) {
      if (this.framed) this.socket.end(LAST_CHUNK);
      else this.socket.end();
    } else this.socket.destroy();
  }
}

/**
 * Writes the SSE response head of an HTTP/1.x response and sends it now: status 200, `SSE_HEADERS`,
 * `Connection: close` (the socket is never reused after a stream), then `headers`.
 */
export function writeSseHead(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, { ...SSE_HEADERS, connection: 'close', ...headers });
  sendHead(res);
}

/** node:http's fields behind `headersSent`, `chunkedEncoding` and the end of a response. */
interface OutgoingInternals {
  _header: string | null;
  _headerSent: boolean;
  _hasBody: boolean;
  _last: boolean;
  useChunkedEncodingByDefault: boolean;
  chunkedEncoding: boolean;
  sendDate: boolean;
  /** The header names as set (Node 15.13+; not in every @types/node). */
  getRawHeaderNames?: () => string[];
}

/** Headers whose presence changes how node:http frames a response: with any of them, node:http writes the head. */
const FRAMING_HEADERS = ['content-length', 'transfer-encoding', 'date', 'trailer'] as const;

/**
 * The accept path's head: the same bytes `writeSseHead` makes node:http send (the response's headers in
 * their order, then `SSE_HEADERS`, `Connection: close`, `headers`, `Date` and `Transfer-Encoding:
 * chunked`), built as one string and written with the first event in ONE `socket.write`. Through
 * `writeHead`, a connect costs a header object, a validation of each header, `_storeHeader` and a corked
 * `writev` of two buffers: measured on a 10,000-subscriber connect storm, a few percent of the CPU.
 * Only for an HTTP/1.1 response node:http would frame with chunked encoding and whose head is not out;
 * returns false (nothing written) otherwise, and the caller goes through node:http.
 */
function writeSseHeadWith(
  res: ServerResponse,
  headers: Record<string, string>,
  first: PreparedEvent,
): boolean {
  const out = res as unknown as OutgoingInternals;
  if (
    out._header != null ||
    !out._hasBody ||
    !out.useChunkedEncodingByDefault ||
    res.statusCode !== 200 ||
    typeof out._headerSent !== 'boolean' ||
    typeof out.getRawHeaderNames !== 'function'
  )
    return false;
  for (const name of FRAMING_HEADERS) if (res.hasHeader(name)) return false;
  // The given headers are set as node:http would (validated, and readable with `getHeader` afterwards).
  for (const name in SSE_HEADERS) res.setHeader(name, SSE_HEADERS[name]!);
  res.setHeader('connection', 'close');
  for (const name in headers) res.setHeader(name, headers[name]!);
  let head = 'HTTP/1.1 200 OK\r\n';
  // Names as they were set (`getHeaders()` lower-cases them; node:http sends them as set).
  for (const name of out.getRawHeaderNames()) {
    const value = res.getHeader(name);
    if (Array.isArray(value)) for (const v of value) head += `${name}: ${v}\r\n`;
    else head += `${name}: ${value}\r\n`;
  }
  if (out.sendDate) head += `Date: ${httpDate()}\r\n`;
  head += 'Transfer-Encoding: chunked\r\n\r\n';
  const chunk = first.chunk;
  // Header values are byte strings: the head goes out as Latin-1, as node:http sends it.
  const bytes = Buffer.allocUnsafe(head.length + chunk.length);
  bytes.write(head, 0, 'latin1');
  chunk.copy(bytes, head.length);
  out._header = head;
  out._headerSent = true;
  out._last = true;
  out.chunkedEncoding = true;
  (res.socket as Socket).write(bytes);
  return true;
}

let dateSecond = -1;
let dateText = '';

/** The `Date` header's value (IMF-fixdate), built once a second. */
export function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/**
 * Sends the response head now. Header values are byte strings (Latin-1), e.g. an ID's UTF-8 bytes in
 * `Last-Event-ID`; `flushHeaders()` would write the head as UTF-8 (it sends with no encoding), turning each
 * such byte into two. So the head goes out as Latin-1, the way node:http sends it with a body.
 */
function sendHead(res: ServerResponse): void {
  const send = (res as unknown as { _send?: (data: string, encoding: string) => boolean })._send;
  if (typeof send === 'function') send.call(res, '', 'latin1');
  else res.flushHeaders();
}

// The listeners node:http puts on a socket it serves (Node 20-24), by function name.
const HTTP_SERVER_LISTENERS = new Set([
  'bound socketOnClose',
  'onServerResponseClose',
  'socketOnError',
  'bound socketOnDrain',
  'bound socketOnData',
  'bound socketOnEnd',
  'socketOnTimeout',
  'onSocketResume',
  'onSocketPause',
]);

const SOCKET_EVENTS = ['close', 'error', 'drain', 'data', 'end', 'timeout', 'resume', 'pause'] as const;

interface NodeHttpParser {
  _consumed?: boolean;
  unconsume(): void;
  finish(): void;
  remove(): void;
  close(): void;
}

/**
 * Memory: once the response head is out, an SSE stream needs only its socket. node:http would keep its
 * HTTP parser, the request, the response and their listeners for the life of the connection (~10 KiB
 * each). This takes the socket back from node:http the way node itself does for an `upgrade`: unhook the
 * parser from the socket handle, drop node:http's listeners, free the parser, and own `error`, `end` and
 * the incoming bytes (discarded: a client sends nothing after its request). If node's internals ever
 * differ from what is expected, the socket is left as it was — correct, only heavier.
 */
function detachFromHttpServer(socket: Socket): void {
  if (socket.destroyed) return;
  const parser = (socket as unknown as { parser?: NodeHttpParser | null }).parser;
  if (parser == null || typeof parser.unconsume !== 'function' || typeof parser.remove !== 'function') return;
  // Runs once per connect: plain loops, no intermediate arrays.
  const theirs: { event: string; f: (...args: unknown[]) => void }[] = [];
  for (const event of SOCKET_EVENTS) {
    for (const f of socket.listeners(event)) {
      if (HTTP_SERVER_LISTENERS.has(f.name)) theirs.push({ event, f: f as (...args: unknown[]) => void });
    }
  }
  if (theirs.length < 5) return; // not the node:http we know
  if (parser._consumed) parser.unconsume();
  parser._consumed = false;
  for (const { event, f } of theirs) socket.removeListener(event, f);
  parser.remove();
  const own = socket as unknown as Record<string, unknown>;
  own.parser = null;
  own._httpMessage = null;
  // node:http wraps these per socket (to unconsume the parser when someone listens for data): the
  // prototype's are right again now that there is no parser. Assigned, not deleted: a delete would turn
  // the socket into a dictionary-mode object, bigger than the wrappers.
  const proto = Object.getPrototypeOf(socket) as Record<string, unknown>;
  for (const method of WRAPPED_METHODS) if (Object.hasOwn(own, method)) own[method] = proto[method];
  // Module-level listeners, no closure: one here would keep this call's scope (the parser, and through it
  // the request and node:http's bound listeners, ~1.5 KiB) alive for the life of the stream.
  setImmediate(closeParser, parser);
  socket.on('error', destroySelf);
  socket.on('end', destroySelf);
  socket.on('data', discard);
}

const WRAPPED_METHODS = ['on', 'addListener', 'prependListener', 'setEncoding'] as const;

function closeParser(parser: NodeHttpParser): void {
  parser.close();
}

function destroySelf(this: Socket): void {
  this.destroy();
}

function discard(): void {}

/**
 * Serves one SSE request on node:http (or the node:http2 compatibility API): reads the subscription from
 * the URL and `Last-Event-ID`, answers 400 with a message for bad input, else streams. Resolves once the
 * stream is open (or refused). Express, Fastify (`reply.raw` after `reply.hijack()`) and plain node:http
 * all call this (through `Hub.handle`).
 */
export async function handleNodeRequest(
  hub: SubscriberHost,
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  options: SubscribeOptions = {},
): Promise<void> {
  const url = req.url ?? '/';
  try {
    await subscribe(
      hub,
      url,
      req.headers['last-event-id'],
      req.headers['accept-encoding'],
      options,
      () =>
        'stream' in res && req.httpVersionMajor === 2
          ? new Http2Transport((res as Http2ServerResponse).stream)
          : new NodeHttpTransport(res as ServerResponse, hub.options.heartbeatMs > 0),
      () => ({ url, headers: req.headers }),
    );
  } catch (error) {
    refuse(res, error);
  }
}

function refuse(res: ServerResponse | Http2ServerResponse, error: unknown): void {
  // One policy for every transport (refusal.ts): a newcomer during shutdown gets no answer at all, which an
  // EventSource retries; a bad request gets its 4xx, on which it stops.
  const refusal = refusalFor(error);
  if (refusal.kind === 'reconnect' || res.headersSent) {
    if (res instanceof Http2ServerResponse) resetRefused(res.stream);
    else res.destroy();
    return;
  }
  (res as ServerResponse).writeHead(refusal.status, refusal.headers);
  res.end(refusal.body);
}
