/**
 * One subscriber process of the load generator (forked by `SubscriberPool`). It holds its share of the
 * subscriptions on raw sockets, scans the bytes with `SseScanner`, and answers the parent over IPC.
 *
 * The hot path is `onRead`: every socket reads into one shared buffer (`onread`, so Node allocates nothing
 * per read), the clock is read once per read rather than per event, and an event costs a counter increment
 * and a histogram bucket increment.
 */

import net from 'node:net';
import { LatencyHistogram } from './histogram.js';
import { SseScanner } from './scan.js';
import { fillIndex, nowMicros } from './target.js';
import type { ToParent, ToWorker, WorkerOpen } from './worker-protocol.js';

const readBuffer = Buffer.allocUnsafe(256 * 1024);
const histogram = new LatencyHistogram();
/** Time from open to caught up (reconnect storm), in microseconds. */
const catchUp = new LatencyHistogram();
let now = nowMicros();
let events = 0;
let eventsAtMark = 0;
/** Events published before the last mark (their `t` is older) are stale: counted apart, not measured. */
let since = 0;
let stale = 0;
/** CPU time of this process at the mark, to report how busy the load generator itself was. */
let cpuAtMark = process.cpuUsage();

interface Connection {
  socket: net.Socket;
  scanner: SseScanner;
  established: boolean;
  caughtUp: boolean;
}

const connections: Connection[] = [];
const stats = { connected: 0, failed: 0, non200: 0, closed: 0, malformed: 0, caughtUp: 0 };
const errorCodes: Record<string, number> = {};
let resolved = 0;
let openedAt = 0;
let connectMs = -1;
let progressTimer: NodeJS.Timeout | undefined;

function send(message: ToParent): void {
  process.send?.(message);
}

function onEvent(t: number): void {
  if (t < 0) {
    events++;
  } else if (t >= since) {
    events++;
    histogram.record(now - t);
  } else stale++;
}

function open(job: WorkerOpen): void {
  openedAt = performance.now();
  const target = job.target;
  const extra = job.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const lastEventId = job.lastEventId === undefined ? '' : `Last-Event-ID: ${job.lastEventId}\r\n`;
  let next = 0;
  let pending = 0;
  // The request bytes, encoded once per distinct path (once in all when the URL has no %I).
  const requests = new Map<string, Buffer>();
  const requestFor = (index: number): Buffer => {
    const path = fillIndex(target.path, index);
    let bytes = requests.get(path);
    if (!bytes) {
      bytes = Buffer.from(
        `GET ${path} HTTP/1.1\r\nHost: ${target.hostHeader}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n${lastEventId}${extra}\r\n`,
        'latin1',
      );
      if (requests.size < 1000) requests.set(path, bytes);
    }
    return bytes;
  };

  const checkDone = () => {
    if (resolved === job.indices.length && connectMs < 0) {
      clearTimeout(giveUp);
      connectMs = performance.now() - openedAt;
      send({ type: 'connected', connectMs, ...stats, errorCodes });
    }
  };
  const resolveOne = () => {
    resolved++;
    pending--;
    checkDone();
    pump();
  };

  const openOne = (index: number, n: number) => {
    const request = requestFor(index);
    let conn: Connection;
    let settled = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        resolveOne();
      }
    };
    const scanner = new SseScanner(
      {
        onHead(status) {
          if (status === 200) {
            conn.established = true;
            stats.connected++;
          } else {
            stats.non200++;
            conn.socket.destroy();
          }
          settle();
        },
        onEvent,
        onEnd(reason) {
          if (reason === 'malformed') stats.malformed++;
        },
      },
      job.captureIds,
    );
    const sources = job.sourceAddresses;
    const socket = net.connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      ...(sources.length > 0 ? { localAddress: sources[n % sources.length] } : {}),
      onread: {
        buffer: readBuffer,
        callback(bytes: number, buf: Uint8Array) {
          now = nowMicros();
          scanner.feed(buf, 0, bytes);
          if (job.expectEvents > 0 && !conn.caughtUp && scanner.events >= job.expectEvents) {
            conn.caughtUp = true;
            stats.caughtUp++;
            catchUp.record((performance.now() - openedAt) * 1000);
          }
          return true;
        },
      },
    });
    conn = { socket, scanner, established: false, caughtUp: false };
    connections.push(conn);
    socket.on('connect', () => socket.write(request));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'ERROR';
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    });
    socket.on('close', () => {
      if (conn.established) stats.closed++;
      else if (!settled) stats.failed++;
      settle();
    });
  };

  const pump = () => {
    while (pending < job.connectConcurrency && next < job.indices.length) {
      pending++;
      openOne(job.indices[next]!, next);
      next++;
    }
  };
  // Give up on connects still pending after the timeout: they count as failed (error code TIMEOUT).
  const giveUp = setTimeout(() => {
    const unopened = job.indices.length - next;
    next = job.indices.length;
    errorCodes.TIMEOUT = unopened;
    stats.failed += unopened;
    resolved += unopened;
    for (const c of connections) {
      if (!c.established && !c.socket.destroyed) {
        errorCodes.TIMEOUT++;
        c.socket.destroy(); // its 'close' counts it failed and resolves it
      }
    }
    checkDone();
  }, job.connectTimeoutMs);
  giveUp.unref();
  pump();
  checkDone();
  progressTimer = setInterval(() => send({ type: 'progress', events: events + stale, ...stats }), 250);
  progressTimer.unref();
}

function report(): void {
  send({
    type: 'report',
    events: events - eventsAtMark,
    stale,
    cpuMicros: ((u) => u.user + u.system)(process.cpuUsage(cpuAtMark)),
    histogram: histogram.toSparse(),
    catchUp: catchUp.toSparse(),
    connectMs,
    ...stats,
    errorCodes,
    lastEventId: connections.find((c) => c.scanner.lastEventId !== '')?.scanner.lastEventId ?? '',
  });
}

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'open':
      open(message);
      break;
    case 'mark':
      eventsAtMark = events;
      since = message.since;
      stale = 0;
      cpuAtMark = process.cpuUsage();
      histogram.reset();
      send({ type: 'marked' });
      break;
    case 'report':
      report();
      break;
    case 'close':
      if (progressTimer) clearInterval(progressTimer);
      for (const c of connections) c.socket.destroy();
      send({ type: 'closed' });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 50).unref();
      break;
  }
});
process.on('disconnect', () => process.exit(0));
