/**
 * A crowd of raw SSE subscribers for test/cluster/proxy.test.ts, in its own process (so its open-files
 * limit can be raised by prlimit): `crowd.ts PORT COUNT` opens COUNT connections to
 * 127.0.0.1:PORT/.well-known/mercure?topic=https://example.com/crowd, 200 at a time, and prints
 * `open N` as streams answer 200 and `received N` as they get an event whose data starts with `goal-`.
 * Exits when all received it, or after 3 minutes.
 */
import { connect } from 'node:net';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
const request = Buffer.from(
  `GET /.well-known/mercure?topic=${encodeURIComponent('https://example.com/crowd')} HTTP/1.1\r\n` +
    'Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n',
);
let opened = 0;
let received = 0;
let started = 0;
let inFlight = 0;

function report(): void {
  process.stdout.write(`open ${opened} received ${received}\n`);
}

function open(): void {
  while (started < count && inFlight < 200) {
    started++;
    inFlight++;
    const socket = connect(port, '127.0.0.1');
    let head = '';
    let isOpen = false;
    let got = false;
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      if (!isOpen) {
        head += chunk;
        if (!head.includes('\r\n\r\n')) return;
        if (!head.startsWith('HTTP/1.1 200')) {
          process.stderr.write(`crowd: refused: ${head.split('\r\n')[0]}\n`);
          process.exit(1);
        }
        isOpen = true;
        opened++;
        inFlight--;
        open();
        chunk = head;
      }
      if (!got && chunk.includes('data: goal-')) {
        got = true;
        received++;
        if (received === count) {
          report();
          process.exit(0);
        }
      }
    });
    socket.on('error', (error) => {
      process.stderr.write(`crowd: ${error.message}\n`);
      process.exit(1);
    });
  }
}

open();
setInterval(report, 250);
setTimeout(() => process.exit(2), 180_000).unref();
