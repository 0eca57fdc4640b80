/**
 * One process of the soak's subscribers (forked by soak.ts). It holds its share of the connections, each
 * subscribed to the soak topic; it closes a share of them every second and reconnects them with
 * Last-Event-ID, and counts, per connection, updates lost (a gap in the sequence numbers the publisher
 * put in `data`) and duplicated (a number seen again). Bytes are parsed by the protocol core.
 */
import { type ClientRequest, request } from 'node:http';
import { EventStreamParser } from '../../src/protocol/index.js';

export interface WorkerStart {
  type: 'start';
  url: string;
  connections: number;
  /** Loopback source address for this worker (127.0.0.x), so one address pair's ports are not the limit. */
  localAddress: string;
  /** Share of the connections closed and reopened every second (0.02 = 2 %). */
  churn: number;
}
export type ToSoakWorker = WorkerStart | { type: 'finish'; last: number; deadlineMs: number };
export interface WorkerReport {
  type: 'report';
  connections: number;
  /** Connections whose last sequence number reached the publisher's last one. */
  complete: number;
  lost: number;
  duplicated: number;
  reconnects: number;
  /** Streams the hub ended (not the churn). */
  serverClosed: number;
  non200: number;
  errors: number;
}
export type FromSoakWorker = { type: 'ready'; connected: number; failed: number } | WorkerReport;

interface Conn {
  req: ClientRequest | undefined;
  lastEventId: string;
  /** The last sequence number received; -1 before the first. */
  last: number;
  open: boolean;
}

const stats = { lost: 0, duplicated: 0, reconnects: 0, serverClosed: 0, non200: 0, errors: 0 };
const conns: Conn[] = [];
let job: WorkerStart;
let stopping = false;

function send(message: FromSoakWorker): void {
  process.send?.(message);
}

function open(conn: Conn): Promise<boolean> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (conn.lastEventId !== '') headers['last-event-id'] = conn.lastEventId;
    const req = request(job.url, { headers, agent: false, localAddress: job.localAddress });
    conn.req = req;
    let settled = false;
    const settle = (ok: boolean) => {
      if (!settled) {
        settled = true;
        resolve(ok);
      }
    };
    req.on('error', () => {
      if (conn.req === req) stats.errors++;
      settle(false);
      reopenLater(conn, req);
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        stats.non200++;
        res.resume();
        settle(false);
        reopenLater(conn, req);
        return;
      }
      conn.open = true;
      settle(true);
      let nth = 0;
      const parser = new EventStreamParser({
        onEvent: (e) => {
          nth++;
          // Bytes of a stream this client already closed (churn) are not delivered to the application.
          if (conn.req !== req) return;
          conn.lastEventId = e.lastEventId;
          const seq = Number(e.data);
          if (conn.last >= 0) {
            if (seq <= conn.last) {
              stats.duplicated++;
              // SOAK_DEBUG=1: which event of which resumed stream repeated what (to find the race).
              if (process.env.SOAK_DEBUG)
                console.error(
                  `duplicate ${seq} after ${conn.last}, event ${nth} of a stream resumed from ${headers['last-event-id'] ?? '(none)'}`,
                );
            } else stats.lost += seq - conn.last - 1;
          }
          if (seq > conn.last) conn.last = seq;
        },
      });
      res.on('data', (chunk: Buffer) => parser.push(chunk));
      res.on('close', () => {
        if (conn.req === req && !req.destroyed) stats.serverClosed++;
        reopenLater(conn, req);
      });
    });
    req.end();
  });
}

/** Reconnects after a jittered pause unless the soak is over or this request was replaced already. */
function reopenLater(conn: Conn, req: ClientRequest): void {
  if (conn.req !== req) return;
  conn.open = false;
  conn.req = undefined;
  if (stopping) return;
  stats.reconnects++;
  setTimeout(() => void open(conn), 50 + Math.random() * 200).unref();
}

async function start(message: WorkerStart): Promise<void> {
  job = message;
  for (let i = 0; i < job.connections; i++)
    conns.push({ req: undefined, lastEventId: '', last: -1, open: false });
  let connected = 0;
  let failed = 0;
  for (let i = 0; i < conns.length; i += 200) {
    const results = await Promise.all(conns.slice(i, i + 200).map((c) => open(c)));
    for (const ok of results) ok ? connected++ : failed++;
  }
  send({ type: 'ready', connected, failed });
  // Churn: every second, close a share of the open connections; each reconnects with its Last-Event-ID.
  const churnTimer = setInterval(() => {
    if (stopping) return;
    const n = Math.round(conns.length * job.churn);
    for (let k = 0; k < n; k++) {
      const conn = conns[Math.floor(Math.random() * conns.length)]!;
      const req = conn.req;
      if (req !== undefined && conn.open) {
        conn.req = undefined; // churn, not a server close
        conn.open = false;
        req.destroy();
        stats.reconnects++;
        setTimeout(() => void open(conn), 50 + Math.random() * 200).unref();
      }
    }
  }, 1000);
  churnTimer.unref();
}

async function finish(last: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  // Stop churning, let every connection catch up to the last update (reconnecting ones replay it).
  job.churn = 0;
  while (Date.now() < deadline && conns.some((c) => c.last < last))
    await new Promise((r) => setTimeout(r, 100));
  stopping = true;
  const complete = conns.filter((c) => c.last === last).length;
  for (const c of conns) c.req?.destroy();
  send({ type: 'report', connections: conns.length, complete, ...stats });
}

process.on('message', (message: ToSoakWorker) => {
  if (message.type === 'start') void start(message);
  else if (message.type === 'finish') void finish(message.last, message.deadlineMs);
});
process.on('disconnect', () => process.exit(0));
