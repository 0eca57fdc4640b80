/**
 * The hub's fast accept path (issue 17): a plain subscribe request is read from the raw socket and
 * answered without node:http. On a 10,000-subscriber connect storm, node:http's per-connection parser,
 * `IncomingMessage` and `ServerResponse` cost more CPU than everything the hub does; a subscriber needs
 * none of them (it sends one head and then only reads).
 *
 * A new connection's first chunk is looked at once. When it is exactly one complete, well-formed
 * HTTP/1.1 `GET` head for the hub path, with no body and nothing after it (`parseSubscribeHead`, strict),
 * the hub's own request handler runs with a `FastRequest` and a `FastResponse`: the same routing, auth,
 * CORS, limits, refusals and stream as through node:http, and the same response bytes but for
 * `Connection: close` on a refusal (the fast path never reuses a connection; node:http would keep it
 * alive). Anything else — another method or path, HTTP/1.0, a head split over packets, pipelined bytes,
 * a body, `Upgrade`, `Expect`, obs-fold, a byte the parser does not like — is handed to node:http with
 * the bytes already read, and node:http answers it as it always did.
 */
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { httpDate } from '../server/adapters/node-http.js';

/** The largest head the fast path reads; a longer one goes to node:http (whose bound is 16 KiB). */
export const MAX_FAST_HEAD = 8_192;
/** The most header lines the fast path reads; more go to node:http. */
const MAX_FIELDS = 64;

/** A subscribe request head as node:http would have read it: names in lower case, repeats combined. */
export interface SubscribeHead {
  readonly method: 'GET';
  /** The request target as sent (origin-form). */
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
}

// RFC 9110 §5.6.2 token (a field name); §5.5 field value (VCHAR, obs-text, SP and HTAB inside).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// RFC 9112 §3.2.1 origin-form, visible ASCII only, no fragment.
const ORIGIN_FORM = /^\/[\x21\x22\x24-\x7e]*$/;

/** Fields whose presence means the request is not a plain subscribe (a body, a protocol switch). */
const NOT_PLAIN = new Set(['transfer-encoding', 'content-length', 'upgrade', 'expect', 'http2-settings']);
/** Fields node:http keeps the first of (a repeat is dropped); see node's `matchKnownFields`. */
const FIRST_ONLY = new Set([
  'age',
  'authorization',
  'content-type',
  'etag',
  'expires',
  'from',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * Reads `chunk` as a plain subscribe request for `hubPath`, or returns null when it is anything else or
 * anything doubtful (node:http then reads it). Strict, per RFC 9112: `GET <origin-form> HTTP/1.1`, CRLF
 * line ends only, token field names with no space before the colon, no obs-fold, no control bytes, one
 * `Host`, the blank line ending the head as the chunk's last bytes. Field values lose their leading and
 * trailing spaces and tabs; repeated fields are combined as node:http combines them (`, `; `; ` for
 * `Cookie`; `Set-Cookie` as a list; the first kept for the fields node:http keeps the first of).
 */
export function parseSubscribeHead(chunk: Buffer, hubPath: string): SubscribeHead | null {
  const length = chunk.length;
  if (length > MAX_FAST_HEAD || length < 18) return null;
  // The head is the whole chunk: a split head or bytes pipelined after it go to node:http.
  if (
    chunk[length - 4] !== 13 ||
    chunk[length - 3] !== 10 ||
    chunk[length - 2] !== 13 ||
    chunk[length - 1] !== 10
  )
    return null;
  if (chunk[0] !== 0x47 || chunk[1] !== 0x45 || chunk[2] !== 0x54 || chunk[3] !== 0x20) return null; // `GET `
  // Latin-1: one character per byte, so a byte a field value may not hold is seen as such.
  const text = chunk.toString('latin1', 0, length - 2);
  let end = text.indexOf('\r\n');
  if (end < 13 || text.charCodeAt(end - 9) !== 0x20 || !text.startsWith('HTTP/1.1', end - 8)) return null;
  const url = text.slice(4, end - 9);
  if (!url.startsWith(hubPath) || (url.length > hubPath.length && url.charCodeAt(hubPath.length) !== 0x3f))
    return null;
  if (!ORIGIN_FORM.test(url)) return null;
  const headers: Record<string, string | string[]> = {};
  let hosts = 0;
  let fields = 0;
  for (let start = end + 2; start < text.length; start = end + 2) {
    end = text.indexOf('\r\n', start);
    const colon = text.indexOf(':', start);
    // An empty line before the last (a body or a second request), a line with no colon, an obs-fold
    // (a line starting with a space: not a token) all end here.
    if (colon <= start || colon > end || ++fields > MAX_FIELDS) return null;
    const name = text.slice(start, colon);
    if (!TOKEN.test(name)) return null;
    let from = colon + 1;
    let to = end;
    while (from < to && (text.charCodeAt(from) === 0x20 || text.charCodeAt(from) === 0x09)) from++;
    while (to > from && (text.charCodeAt(to - 1) === 0x20 || text.charCodeAt(to - 1) === 0x09)) to--;
    const value = text.slice(from, to);
    if (!FIELD_VALUE.test(value)) return null;
    const field = name.toLowerCase();
    if (NOT_PLAIN.has(field) || field === '__proto__') return null;
    if (field === 'host' && ++hosts > 1) return null;
    const held = headers[field];
    if (held === undefined) headers[field] = field === 'set-cookie' ? [value] : value;
    else if (field === 'set-cookie') (held as string[]).push(value);
    else if (!FIRST_ONLY.has(field)) headers[field] = `${held}${field === 'cookie' ? '; ' : ', '}${value}`;
  }
  if (hosts !== 1) return null;
  return { method: 'GET', url, headers };
}

/**
 * The request of the fast path: what the hub's handler reads of an `IncomingMessage` (method, target,
 * headers, socket, version). It has no body and is not a stream.
 */
class FastRequest {
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly complete = true;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
  readonly socket: Socket;

  constructor(head: SubscribeHead, socket: Socket) {
    this.method = head.method;
    this.url = head.url;
    this.headers = head.headers;
    this.socket = socket;
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * The response of the fast path: what the hub's handler, its routes and the node:http transport use of a
 * `ServerResponse` — headers kept as node:http keeps them (set order, names as set, validated), `writeHead`,
 * `end`, `destroy`, `finish` — and node:http's fields `NodeHttpTransport` reads to write the SSE head
 * itself (`_header`, `_hasBody`, `useChunkedEncodingByDefault`, `sendDate`, `chunkedEncoding`). A head
 * written through `writeHead` + `end` is node:http's for a connection that is not kept alive, and the
 * socket is closed once it is out.
 */
class FastResponse {
  statusCode = 200;
  statusMessage: string | undefined = undefined;
  readonly socket: Socket;
  // node:http's own fields, as writeSseHeadWith (src/server/adapters/node-http.ts) reads and sets them.
  _header: string | null = null;
  _headerSent = false;
  _last = true;
  readonly _hasBody = true;
  readonly useChunkedEncodingByDefault = true;
  readonly sendDate = true;
  chunkedEncoding = false;
  finished = false;
  private readonly fields = new Map<string, [name: string, value: string | string[]]>();
  private onFinish: (() => void) | undefined = undefined;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  get headersSent(): boolean {
    return this._header !== null;
  }

  get writableEnded(): boolean {
    return this.finished;
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    if (this._header !== null) throw new Error(`Cannot set header ${name} after the head was sent.`);
    if (!TOKEN.test(name)) throw new TypeError(`Invalid header name: ${name}`);
    const stored = Array.isArray(value) ? value.map(String) : String(value);
    for (const v of typeof stored === 'string' ? [stored] : stored)
      if (!FIELD_VALUE.test(v)) throw new TypeError(`Invalid character in header ${name}`);
    this.fields.set(name.toLowerCase(), [name, stored]);
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    return this.fields.get(name.toLowerCase())?.[1];
  }

  hasHeader(name: string): boolean {
    return this.fields.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.fields.delete(name.toLowerCase());
  }

  getHeaderNames(): string[] {
    return [...this.fields.keys()];
  }

  getRawHeaderNames(): string[] {
    const names: string[] = [];
    for (const [name] of this.fields.values()) names.push(name);
    return names;
  }

  getHeaders(): Record<string, string | string[]> {
    const headers: Record<string, string | string[]> = {};
    for (const [key, [, value]] of this.fields) headers[key] = value;
    return headers;
  }

  /** Like node:http's: the head is built now (framed chunked, the body's length is not known yet). */
  writeHead(status: number, headers?: Readonly<Record<string, string | number | readonly string[]>>): this {
    this.statusCode = status;
    if (headers !== undefined) for (const name in headers) this.setHeader(name, headers[name]!);
    this._header = this.head(null);
    return this;
  }

  /** node:http's way to send the head with (or without) bytes; `writeSseHead` uses it. */
  _send(data: string, encoding: BufferEncoding): boolean {
    this._header ??= this.head(null);
    if (this._headerSent) return this.socket.write(data, encoding);
    this._headerSent = true;
    return this.socket.write(this._header + data, encoding);
  }

  flushHeaders(): void {
    this._send('', 'latin1');
  }

  write(data: string | Uint8Array): boolean {
    this._header ??= this.head(null);
    return this.socket.write(this.bytesOf(data, false));
  }

  end(body?: string | Uint8Array): this {
    if (this.finished) return this;
    this.finished = true;
    const bytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    // Without a head yet, the body's length is known (node:http's implicit head).
    this._header ??= this.head(bytes?.length ?? 0);
    this.socket.write(this.bytesOf(bytes, true));
    // Not kept alive: closed once the bytes are out, as node:http closes a `Connection: close` response.
    this.socket.destroySoon();
    const finish = this.onFinish;
    this.onFinish = undefined;
    if (finish !== undefined) process.nextTick(finish);
    return this;
  }

  /** The head if not sent yet, then `data` (chunk-framed when the head said chunked), then the last chunk. */
  private bytesOf(data: string | Uint8Array | undefined, last: boolean): Buffer {
    const parts: Buffer[] = [];
    if (!this._headerSent) {
      this._headerSent = true;
      parts.push(Buffer.from(this._header!, 'latin1'));
    }
    const bytes = data === undefined ? undefined : typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes !== undefined && bytes.length > 0) {
      if (this.chunkedEncoding) parts.push(Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'));
      parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      if (this.chunkedEncoding) parts.push(CRLF);
    }
    if (last && this.chunkedEncoding) parts.push(LAST_CHUNK);
    return Buffer.concat(parts);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** `finish` is the one event the hub listens for on a response (its request log). */
  once(event: string, listener: () => void): this {
    if (event === 'finish') this.onFinish = listener;
    return this;
  }

  on(event: string, listener: () => void): this {
    return this.once(event, listener);
  }

  /**
   * The head node:http writes for this response on a connection it does not keep alive: the headers in
   * the order set, names as set, then `Date`, `Connection: close` (unless set), and `Content-Length`
   * (`length`, when known and no framing was set) or `Transfer-Encoding: chunked`.
   */
  private head(length: number | null): string {
    const status = this.statusCode;
    let head = `HTTP/1.1 ${status} ${this.statusMessage ?? STATUS_CODES[status] ?? 'unknown'}\r\n`;
    for (const [name, value] of this.fields.values()) {
      if (Array.isArray(value)) for (const v of value) head += `${name}: ${v}\r\n`;
      else head += `${name}: ${value}\r\n`;
    }
    if (!this.fields.has('date')) head += `Date: ${httpDate()}\r\n`;
    if (!this.fields.has('connection')) head += 'Connection: close\r\n';
    const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
    if (!noBody && !this.fields.has('content-length') && !this.fields.has('transfer-encoding')) {
      if (length !== null) head += `Content-Length: ${length}\r\n`;
      else {
        head += 'Transfer-Encoding: chunked\r\n';
        this.chunkedEncoding = true;
      }
    } else if (this.fields.get('transfer-encoding')?.[1] === 'chunked') this.chunkedEncoding = true;
    return `${head}\r\n`;
  }
}

/** What `acceptFast` needs of the hub. */
export interface FastAcceptOptions {
  /** The hub's path (`/.well-known/mercure`), read per connection: it may change once listening. */
  hubPath: () => string;
  /** The hub's request handler, the one node:http calls. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Puts the fast accept path in front of `server`'s own connection handling: node:http's connection
 * listener is taken off and called only for the connections the fast path hands over. Everything
 * `server` does besides (listening, `close`, the `connection` listeners the hub adds, the timeouts of
 * the connections node:http serves) stays as it is.
 */
export function acceptFast(server: Server, options: FastAcceptOptions): void {
  const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  const nodeHttp = listeners.find((f) => f.name === 'connectionListener');
  if (nodeHttp === undefined) throw new Error('acceptFast: not a node:http server (no connectionListener).');
  server.removeListener('connection', nodeHttp);
  const handOver = (socket: Socket, chunk: Buffer | null) => {
    socket.removeListener('data', firstChunk);
    socket.removeListener('error', destroySelf);
    socket.removeListener('end', destroySelf);
    nodeHttp.call(server, socket);
    // node:http reads the socket's handle from here on; the bytes already read are given to it as node
    // itself gives it a socket's data (its `data` listener runs its parser).
    if (chunk !== null) socket.emit('data', chunk);
  };
  // One function for every socket: `this` is the socket.
  const firstChunk = function (this: Socket, chunk: Buffer): void {
    const head = parseSubscribeHead(chunk, options.hubPath());
    if (head === null) {
      handOver(this, chunk);
      return;
    }
    // A subscriber sends nothing after its head: what it sends is dropped; its end or an error closes
    // the socket (the listeners put on at accept stay).
    this.removeListener('data', firstChunk);
    this.on('data', discard);
    const res = new FastResponse(this);
    options.handle(
      new FastRequest(head, this) as unknown as IncomingMessage,
      res as unknown as ServerResponse,
    );
  };
  server.on('connection', (socket: Socket) => {
    if (socket.destroyed) return;
    socket.on('data', firstChunk);
    socket.on('error', destroySelf);
    // A connection that ends before sending its head is closed.
    socket.on('end', destroySelf);
  });
}

function destroySelf(this: Socket): void {
  this.destroy();
}

function discard(): void {}
