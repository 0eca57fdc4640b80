/**
 * `ConnectionGuard`: keeps connections that never send a request from starving the hub.
 *
 * - A connection is *pending* from the moment it is accepted until its first request head has arrived
 *   (with TLS: until its handshake is done; Node's own `headersTimeout` covers the head after it).
 *   Pending connections are closed after `--headers-timeout`.
 * - At most `--max-pending-per-ip` pending connections per peer address (reverse proxies in
 *   `--trusted-proxies` are exempt): past it a new one is closed at once.
 * - At most `--max-pending` in all: past it the OLDEST pending one is closed, so a flood of
 *   idle sockets from many addresses cannot keep a real client (which sends its request at once) out.
 * - File descriptors: subscribers are refused (503) once the open sockets reach the process's open-file
 *   limit (`ulimit -n`; Node raises the soft limit to the hard one at start) minus `--fd-reserve` (at
 *   most a quarter of the limit), so the descriptors left serve publishes, `/healthz`, `/metrics` and the
 *   store.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

interface Pending {
  readonly socket: Socket;
  readonly address: string;
  readonly since: number;
}

/** A connection's key: its peer address and port (the same on a TLS socket as on the TCP one under it). */
function keyOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

export interface ConnectionGuardOptions {
  headersTimeoutMs: number;
  maxPending: number;
  maxPendingPerAddress: number;
  fdReserve: number;
  /** Addresses exempt from the per-address bound (trusted reverse proxies). */
  exempt: (address: string) => boolean;
  /** The open-file limit; default: read from /proc/self/limits (undefined where there is none). */
  openFileLimit?: number;
}

export class ConnectionGuard {
  /** Pending connections by `keyOf`, oldest first (a Map keeps insertion order). */
  private readonly pending = new Map<string, Pending>();
  private readonly perAddress = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;
  /** Sockets open now (pending, idle keep-alive, requests, streams). */
  private sockets = 0;
  /** Connections closed because they sent no request head in time, or past a pending bound. */
  closedPending = 0;
  /** The most sockets open before subscribers are refused; Infinity when the limit is unknown. */
  readonly maxSockets: number;
  readonly openFileLimit: number | undefined;
  /** Descriptors kept free of subscribers: `fdReserve`, at most a quarter of the limit. */
  readonly fdReserve: number;

  /** The close listener of every accepted socket (one function for all: no closure per connection). */
  private readonly socketClosed: (this: Socket) => void;

  constructor(private readonly options: ConnectionGuardOptions) {
    const guard = this;
    this.socketClosed = function (this: Socket) {
      guard.sockets--;
      // The socket's address and port were read (and cached by node) when it was accepted.
      guard.forget(keyOf(this), this);
    };
    this.openFileLimit = options.openFileLimit ?? readOpenFileLimit();
    const limit = this.openFileLimit;
    // Never more than a quarter of the limit, so a small one (ulimit -n 1024) still serves subscribers.
    this.fdReserve = limit === undefined ? 0 : Math.min(options.fdReserve, Math.floor(limit / 4));
    this.maxSockets = limit === undefined ? Number.POSITIVE_INFINITY : limit - this.fdReserve;
    const every = Math.max(50, Math.min(1000, Math.floor(options.headersTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  /** A connection was accepted: it is pending until `admit`. */
  accepted(socket: Socket): void {
    this.sockets++;
    const key = keyOf(socket);
    socket.on('close', this.socketClosed);
    const address = socket.remoteAddress ?? 'unknown';
    const held = this.perAddress.get(address) ?? 0;
    if (held >= this.options.maxPendingPerAddress && !this.options.exempt(address)) {
      this.closedPending++;
      socket.destroy();
      return;
    }
    if (this.pending.size >= this.options.maxPending) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.close(oldest);
    }
    this.pending.set(key, { socket, address, since: performance.now() });
    this.perAddress.set(address, held + 1);
  }

  /** The connection's request head arrived (or, with TLS, its handshake is done). */
  admit(socket: { remoteAddress?: string; remotePort?: number }): void {
    this.forget(keyOf(socket));
  }

  /** Whether one more subscriber stream may be opened: enough descriptors stay free for everything else. */
  get subscribersAllowed(): boolean {
    return this.sockets <= this.maxSockets;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private forget(key: string, socket?: Socket): void {
    const entry = this.pending.get(key);
    if (entry === undefined || (socket !== undefined && entry.socket !== socket)) return;
    this.pending.delete(key);
    const n = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(entry.address);
    else this.perAddress.set(entry.address, n);
  }

  private close(key: string): void {
    const entry = this.pending.get(key);
    if (entry === undefined) return;
    this.forget(key);
    this.closedPending++;
    entry.socket.destroy();
  }

  /** Closes pending connections older than the headers timeout (oldest first: stops at the first young one). */
  private sweep(): void {
    const cutoff = performance.now() - this.options.headersTimeoutMs;
    for (const [key, entry] of this.pending) {
      if (entry.since > cutoff) break;
      this.close(key);
    }
  }
}

/** The soft limit on open files of this process (`ulimit -n`), from /proc/self/limits; undefined elsewhere. */
export function readOpenFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line === null || line[1] === 'unlimited' ? undefined : Number(line[1]);
  } catch {
    return undefined;
  }
}
