/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): a layer-4 load balancer (HAProxy
 * `send-proxy`, nginx `stream` with `proxy_protocol on`) writes one header at the start of each connection
 * it opens to a node, naming the client's address, since the node only sees the balancer's.
 *
 * `parseProxyHeader` is the pure parser; `acceptProxyProtocol` reads the header on each accepted socket,
 * before node:http sees a byte, and hands the socket on with the client's address as its `remoteAddress`.
 * The header is believed only from `--trusted-proxies`: a trusted peer must send one, anyone else must not.
 */
import { isIP, type Server, type Socket } from 'node:net';

/** The 12 bytes a version 2 header starts with (section 2.2). */
export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** A version 1 line is at most 107 bytes, CRLF included (section 2.1). */
export const V1_MAX_LENGTH = 107;
/** Longest version 2 header read: 16 bytes and a length of at most 65,535 (TLVs included). */
const V2_MAX_LENGTH = 16 + 0xffff;

export interface ProxyEndpoint {
  address: string;
  port: number;
}

export type ProxyHeader =
  /** `PROXY`: the connection is relayed for `source` (the client) to `destination` (the balancer's front). */
  | { command: 'proxy'; length: number; source: ProxyEndpoint; destination: ProxyEndpoint }
  /** v2 `LOCAL` (the balancer's own health check), v1 `UNKNOWN`, or an address family other than IP: use the peer. */
  | { command: 'local'; length: number };

export type ParseResult =
  | ProxyHeader
  | { command: 'incomplete' }
  /** Not a PROXY header at all: the first bytes are something else (an HTTP request line, a TLS hello). */
  | { command: 'absent' }
  | { command: 'malformed'; message: string };

/** Whether `bytes` agree with `prefix` as far as both go. */
function agrees(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return bytes.subarray(0, n).equals(prefix.subarray(0, n));
}

/**
 * Parses the PROXY header at the start of `bytes`: `incomplete` while more bytes could still make one,
 * `absent` once they cannot start one, else the header (`length` bytes, what follows is the client's).
 */
export function parseProxyHeader(bytes: Buffer): ParseResult {
  if (bytes.length === 0) return { command: 'incomplete' };
  if (agrees(bytes, V2_SIGNATURE)) return bytes.length < 16 ? { command: 'incomplete' } : parseV2(bytes);
  if (agrees(bytes, V1_PREFIX)) return bytes.length < 6 ? { command: 'incomplete' } : parseV1(bytes);
  return { command: 'absent' };
}

const V1_PORT = /^(0|[1-9]\d{0,4})$/;

function parseV1(bytes: Buffer): ParseResult {
  const end = bytes.subarray(0, V1_MAX_LENGTH).indexOf('\r\n');
  if (end === -1) {
    if (bytes.length >= V1_MAX_LENGTH) return malformed('a version 1 line longer than 107 bytes');
    // A lone LF or any byte outside printable ASCII can never become a valid line.
    for (let i = 6; i < bytes.length; i++) {
      const b = bytes[i]!;
      if ((b < 0x20 || b > 0x7e) && !(b === 0x0d && i === bytes.length - 1))
        return malformed('a control byte in a version 1 line');
    }
    return { command: 'incomplete' };
  }
  const line = bytes.toString('latin1', 6, end);
  const length = end + 2;
  const fields = line.split(' ');
  if (fields[0] === 'UNKNOWN') {
    // "the receiver must ignore anything presented before the CRLF is found"
    return { command: 'local', length };
  }
  if (fields[0] !== 'TCP4' && fields[0] !== 'TCP6')
    return malformed(`unknown version 1 protocol ${JSON.stringify(fields[0])}`);
  if (fields.length !== 5) return malformed('a version 1 line needs 4 fields after the protocol');
  const [, src, dst, srcPort, dstPort] = fields as [string, string, string, string, string];
  const family = fields[0] === 'TCP4' ? 4 : 6;
  if (isIP(src) !== family || isIP(dst) !== family)
    return malformed(`an address that is not IPv${family} in a ${fields[0]} line`);
  if (!V1_PORT.test(srcPort) || !V1_PORT.test(dstPort) || +srcPort > 65_535 || +dstPort > 65_535)
    return malformed('a port that is not 0 to 65535');
  return {
    command: 'proxy',
    length,
    source: { address: src, port: +srcPort },
    destination: { address: dst, port: +dstPort },
  };
}

function parseV2(bytes: Buffer): ParseResult {
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return malformed(`version ${versionCommand >> 4}, not 2`);
  const command = versionCommand & 0x0f;
  if (command > 1) return malformed(`command ${command}, neither LOCAL (0) nor PROXY (1)`);
  const family = bytes[13]! >> 4;
  const transport = bytes[13]! & 0x0f;
  const length = 16 + bytes.readUInt16BE(14);
  if (bytes.length < length) return { command: 'incomplete' };
  // LOCAL: "the receiver must accept this connection as valid and must use the real connection
  // endpoints and discard the protocol block including the family".
  if (command === 0) return { command: 'local', length };
  if (family > 3 || transport > 2) return malformed(`address family ${family}, transport ${transport}`);
  if (transport === 2) return malformed('a datagram (DGRAM) header on a stream connection');
  // AF_UNSPEC or AF_UNIX: no IP address to use, so the peer's stands.
  if (family === 0 || family === 3) return { command: 'local', length };
  const size = family === 1 ? 12 : 36;
  if (length - 16 < size) return malformed(`an address block of ${length - 16} bytes, under ${size}`);
  const at = 16;
  const ip = (offset: number) =>
    family === 1
      ? Array.from(bytes.subarray(offset, offset + 4)).join('.')
      : ipv6(bytes.subarray(offset, offset + 16));
  const half = family === 1 ? 4 : 16;
  return {
    command: 'proxy',
    length,
    source: { address: ip(at), port: bytes.readUInt16BE(at + 2 * half) },
    destination: { address: ip(at + half), port: bytes.readUInt16BE(at + 2 * half + 2) },
  };
}

/** 16 bytes as an IPv6 address in the usual compressed form (`::1`, `2001:db8::7`, `::ffff:10.0.0.1`). */
function ipv6(b: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // The longest run of two or more zero groups becomes `::` (RFC 5952).
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((n) => n.toString(16)).join(':');
  if (best === -1) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

function malformed(message: string): ParseResult {
  return { command: 'malformed', message };
}

/** Why a connection was refused, as counted in `crier_proxy_protocol_refused_total{reason}`. */
export type ProxyRefusal = 'untrusted' | 'missing' | 'malformed' | 'timeout' | 'pending';

export interface ProxyProtocolOptions {
  /** Whether the peer address is a trusted balancer (whose header is required and believed). */
  trusted: (peer: string) => boolean;
  /** How long a peer has to send its header (or, untrusted, enough bytes to show it sends none). */
  timeoutMs: number;
  /**
   * Most connections reading their first bytes at once (`--max-pending`: the connection guard sees a
   * socket only once its header is read); beyond, the oldest is closed (`pending`).
   */
  maxPending: number;
  /** Called once per refused connection, before it is destroyed. */
  onRefused: (reason: ProxyRefusal, peer: string, detail: string) => void;
}

/**
 * Makes `server` read a PROXY header on each connection before its own `connection` listeners (node:http's
 * parser, the connection guard…) run. Call it once the server's `connection` listeners are all added: they
 * are moved behind the header. A socket handed on has the client's address as `remoteAddress` and
 * `remotePort`, so every per-address limit, log line and API that reads them names the client.
 */
export function acceptProxyProtocol(server: Server, options: ProxyProtocolOptions): void {
  const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const handOn = (socket: Socket) => {
    for (const listener of listeners) listener.call(server, socket);
  };
  // Sockets reading their header, oldest first, each with the function that refuses it.
  const reading = new Map<Socket, (reason: ProxyRefusal, detail: string) => void>();
  server.on('connection', (socket: Socket) => {
    if (reading.size >= options.maxPending) {
      const [, refuseOldest] = reading.entries().next().value!;
      refuseOldest('pending', `more than ${options.maxPending} connections reading their first bytes`);
    }
    readHeader(socket, options, handOn, reading);
  });
}

function readHeader(
  socket: Socket,
  options: ProxyProtocolOptions,
  handOn: (socket: Socket) => void,
  reading: Map<Socket, (reason: ProxyRefusal, detail: string) => void>,
): void {
  const peer = socket.remoteAddress ?? 'unknown';
  const trusted = options.trusted(peer);
  let buffered: Buffer = Buffer.alloc(0);
  const refuse = (reason: ProxyRefusal, detail: string) => {
    done();
    options.onRefused(reason, peer, detail);
    socket.destroy();
  };
  reading.set(socket, refuse);
  const timer = setTimeout(
    () => refuse('timeout', `no PROXY header in ${options.timeoutMs} ms`),
    options.timeoutMs,
  );
  const done = () => {
    reading.delete(socket);
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('end', onEnd);
    socket.off('close', done);
  };
  const onError = () => done(); // reset before the header: nothing to serve
  const onEnd = () => {
    done();
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const result = parseProxyHeader(buffered);
    if (result.command === 'incomplete') {
      if (buffered.length > V2_MAX_LENGTH) refuse('malformed', 'a header longer than 65,551 bytes');
      return;
    }
    if (result.command === 'malformed') {
      refuse(trusted ? 'malformed' : 'untrusted', result.message);
      return;
    }
    if (result.command === 'absent') {
      if (trusted) {
        refuse('missing', 'a trusted proxy sent no PROXY header');
        return;
      }
      pass(buffered);
      return;
    }
    if (!trusted) {
      refuse('untrusted', 'a PROXY header from a peer not in --trusted-proxies');
      return;
    }
    if (result.command === 'proxy') {
      Object.defineProperty(socket, 'remoteAddress', { value: result.source.address, configurable: true });
      Object.defineProperty(socket, 'remotePort', { value: result.source.port, configurable: true });
      Object.defineProperty(socket, 'remoteFamily', {
        value: isIP(result.source.address) === 4 ? 'IPv4' : 'IPv6',
        configurable: true,
      });
    }
    pass(buffered.subarray(result.length));
  };
  // Hands the socket on with the bytes after the header put back, for node:http's parser to read first.
  const pass = (rest: Buffer) => {
    done();
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    handOn(socket);
    socket.resume();
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('end', onEnd);
  socket.on('close', done);
}
