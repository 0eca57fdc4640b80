/**
 * The paced publisher: HTTP requests (POST by default) at a steady rate over a few keep-alive raw sockets,
 * pipelined. `%T` in the body becomes the send time in microseconds since the epoch (what subscribers
 * subtract from their receive time), `%I` the publish counter modulo `topics`.
 */

import net from 'node:net';
import { BenchError, fillIndex, nowMicros, parseHeaders, parseTarget } from './target.js';

export interface PublishOptions {
  url: string;
  /** Requests per second. */
  rate: number;
  /** Seconds to publish for (ignored when `count` is set and reached first). */
  duration: number;
  /** Stop after this many requests. */
  count?: number;
  /** The request body; `%T` → send time in µs, `%I` → counter modulo `topics`. Default `data={"t":%T}`. */
  body?: string;
  contentType?: string;
  method?: string;
  headers?: string[];
  /** Keep-alive connections (default 2). */
  connections?: number;
  topics?: number;
  /** Requests in flight per connection before a due request is skipped (default 64). */
  maxInFlight?: number;
  signal?: AbortSignal;
}

export interface PublishReport {
  sent: number;
  ok: number;
  /** Responses with a status other than 2xx. */
  rejected: number;
  /** Requests not sent because the server had `maxInFlight` unanswered on every connection. */
  skipped: number;
  /** Requests lost to a socket error or close. */
  errors: number;
  statuses: Record<string, number>;
  seconds: number;
  /** Answered with 2xx per second. */
  rate: number;
}

export const DEFAULT_PUBLISH_BODY = 'data={"t":%T}';

enum Resp {
  Head = 0,
  Length = 1,
  ChunkSize = 2,
  ChunkData = 3,
  ChunkAfter = 4,
  Trailer = 5,
}

/** Counts pipelined HTTP/1.1 responses on one connection. */
class ResponseCounter {
  private state = Resp.Head;
  private head = '';
  private left = 0;
  private line = '';
  constructor(private readonly onResponse: (status: number) => void) {}

  feed(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case Resp.Head: {
          const end = buf.indexOf('\r\n\r\n', i, 'latin1');
          // Look across the boundary with what is already held.
          const take = end < 0 ? buf.length : end + 4;
          this.head += buf.toString('latin1', i, take);
          i = take;
          const at = this.head.indexOf('\r\n\r\n');
          if (at < 0) break;
          const head = this.head.slice(0, at).toLowerCase();
          this.head = this.head.slice(at + 4);
          const status = Number.parseInt(head.slice(9, 12), 10);
          this.onResponse(status);
          const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
          if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
            this.state = Resp.ChunkSize;
            this.line = '';
          } else if (length && Number(length[1]) > 0) {
            this.state = Resp.Length;
            this.left = Number(length[1]);
          }
          if (this.head.length > 0) {
            // Bytes after the head that were already taken: feed them again.
            const rest = Buffer.from(this.head, 'latin1');
            this.head = '';
            this.feed(rest);
          }
          break;
        }
        case Resp.Length: {
          const take = Math.min(this.left, buf.length - i);
          i += take;
          this.left -= take;
          if (this.left === 0) this.state = Resp.Head;
          break;
        }
        case Resp.ChunkSize:
        case Resp.Trailer: {
          const c = buf[i++]!;
          if (c !== 0x0a) {
            if (c !== 0x0d) this.line += String.fromCharCode(c);
            break;
          }
          if (this.state === Resp.Trailer) {
            if (this.line === '') this.state = Resp.Head;
          } else {
            const size = Number.parseInt(this.line, 16);
            if (size === 0) this.state = Resp.Trailer;
            else {
              this.state = Resp.ChunkData;
              this.left = size;
            }
          }
          this.line = '';
          break;
        }
        case Resp.ChunkData: {
          const take = Math.min(this.left, buf.length - i);
          i += take;
          this.left -= take;
          if (this.left === 0) this.state = Resp.ChunkAfter;
          break;
        }
        case Resp.ChunkAfter:
          if (buf[i++] === 0x0a) this.state = Resp.ChunkSize;
          break;
      }
    }
  }
}

/** Publishes at `rate` for `duration` seconds (or `count` requests) and reports what the server answered. */
export async function publish(options: PublishOptions): Promise<PublishReport> {
  const target = parseTarget(options.url);
  const headers = parseHeaders(options.headers ?? []);
  if (!(options.rate > 0)) throw new BenchError('BAD_OPTION', `rate must be above 0, got ${options.rate}.`);
  const method = options.method ?? 'POST';
  const body = options.body ?? DEFAULT_PUBLISH_BODY;
  const contentType = options.contentType ?? 'application/x-www-form-urlencoded';
  const topics = Math.max(1, options.topics ?? 1);
  const maxInFlight = options.maxInFlight ?? 64;
  const limit = options.count ?? Number.POSITIVE_INFINITY;
  const extra = headers.map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const report: PublishReport = {
    sent: 0,
    ok: 0,
    rejected: 0,
    skipped: 0,
    errors: 0,
    statuses: {},
    seconds: 0,
    rate: 0,
  };

  interface Conn {
    socket: net.Socket;
    inFlight: number;
    alive: boolean;
  }
  let finished = false;
  // A server may close a keep-alive connection after so many requests (nginx: 1,000 by default): requests
  // still unanswered on it count as errors and the slot reconnects.
  const connect = (conns: Conn[], slot: number): Promise<Conn> => {
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    const conn: Conn = { socket, inFlight: 0, alive: false };
    conns[slot] = conn;
    const counter = new ResponseCounter((status) => {
      conn.inFlight--;
      report.statuses[status] = (report.statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) report.ok++;
      else report.rejected++;
    });
    socket.on('data', (b: Buffer) => counter.feed(b));
    socket.on('error', () => {});
    socket.on('close', () => {
      const wasAlive = conn.alive;
      conn.alive = false;
      report.errors += conn.inFlight;
      conn.inFlight = 0;
      if (wasAlive && !finished && conns[slot] === conn) connect(conns, slot).catch(() => {});
    });
    return new Promise<Conn>((resolve, reject) => {
      socket.once('connect', () => {
        conn.alive = true;
        resolve(conn);
      });
      socket.once('error', reject);
    });
  };
  const conns: Conn[] = [];
  await Promise.all(
    Array.from({ length: Math.max(1, options.connections ?? 2) }, (_, slot) => connect(conns, slot)),
  ).catch((cause) => {
    finished = true;
    for (const c of conns) c.socket.destroy();
    throw new BenchError('BAD_URL', `Cannot connect the publisher to ${options.url}: ${cause.message}`, {
      cause,
    });
  });

  const start = performance.now();
  let rr = 0;
  let seq = 0;
  const buildRequest = (): string => {
    const path = fillIndex(target.path, seq % topics);
    let text = fillIndex(body, seq % topics);
    if (text.includes('%T')) text = text.replaceAll('%T', String(nowMicros()));
    seq++;
    return `${method} ${path} HTTP/1.1\r\nHost: ${target.hostHeader}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}\r\n${text}`;
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = (performance.now() - start) / 1000;
      const done = elapsed >= options.duration || report.sent >= limit || options.signal?.aborted;
      if (!done) {
        const due = Math.min(limit, Math.floor(elapsed * options.rate) + 1);
        const batches = conns.map(() => '');
        while (report.sent < due) {
          report.sent++;
          let picked = -1;
          for (let k = 0; k < conns.length; k++) {
            const c = (rr + k) % conns.length;
            if (conns[c]!.alive && conns[c]!.inFlight < maxInFlight) {
              picked = c;
              break;
            }
          }
          rr++;
          if (picked < 0) {
            report.skipped++;
            continue;
          }
          conns[picked]!.inFlight++;
          batches[picked] += buildRequest();
        }
        batches.forEach((b, k) => {
          if (b) conns[k]!.socket.write(b);
        });
        setTimeout(tick, 1);
        return;
      }
      resolve();
    };
    tick();
  });
  report.seconds = (performance.now() - start) / 1000;
  finished = true;
  // Let the last responses arrive (at most 2 s).
  const drainStart = Date.now();
  while (conns.some((c) => c.inFlight > 0) && Date.now() - drainStart < 2000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const c of conns) {
    report.errors += c.inFlight;
    c.socket.destroy();
  }
  report.rate = report.ok / report.seconds;
  return report;
}
