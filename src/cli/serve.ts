/**
 * `crier serve`: for now a small SSE server built on the protocol core alone: a live clock, a broadcast
 * endpoint and a page that shows both. The Mercure hub replaces it (see the hub issue).
 */
import { createServer, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { encodeComment, encodeEvent } from '../protocol/index.js';

const HELP = `Usage: crier serve [--port N] [--host H]

  --port N   port to listen on (default 3000, or $PORT)
  --host H   address to bind (default 127.0.0.1, or $HOST)

Endpoints:
  GET  /          a page that shows the live events
  GET  /events    the event stream (text/event-stream)
  POST /publish   broadcast the request body (up to 64 KiB) as an event's data`;

const MAX_BODY = 65_536;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`crier serve: --port must be an integer from 0 to 65535, got '${values.port}'.`);
    return 2;
  }
  const host = values.host ?? process.env.HOST ?? '127.0.0.1';

  const subscribers = new Set<ServerResponse>();
  let nextId = 1;
  const broadcast = (data: string, event?: string) => {
    const bytes = encodeEvent({ data, event, id: String(nextId++) }); // encoded once, written to everyone
    for (const res of subscribers) res.write(bytes);
  };

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/events') {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
      });
      res.write(encodeComment('connected'));
      subscribers.add(res);
      req.on('close', () => subscribers.delete(res));
      return;
    }
    if (req.method === 'POST' && req.url === '/publish') {
      let body = '';
      let size = 0;
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        if (res.writableEnded) return; // already refused: the rest of the body is read and dropped
        size += Buffer.byteLength(chunk);
        if (size > MAX_BODY) {
          res
            .writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' })
            .end(`Body larger than ${MAX_BODY} bytes.\n`);
        } else body += chunk;
      });
      req.on('end', () => {
        if (res.writableEnded) return;
        broadcast(body, 'publish');
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${subscribers.size}\n`);
      });
      return;
    }
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found.\n');
  });

  const clock = setInterval(() => broadcast(new Date().toISOString(), 'clock'), 1000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, 511, resolve);
  });
  const address = server.address();
  const where = typeof address === 'object' && address ? `http://${host}:${address.port}` : String(address);
  console.log(`Crier listening on ${where}  (events: ${where}/events, publish: POST ${where}/publish)`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      clearInterval(clock);
      for (const res of subscribers) res.end();
      server.close(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

const PAGE = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Crier</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 42rem; color: #1d2330; }
  h1 { font-size: 1.6rem; margin-bottom: .25rem; } .muted { color: #667; }
  #clock { font: 600 2rem ui-monospace, monospace; } li { font-family: ui-monospace, monospace; }
</style>
<h1>Crier</h1>
<p class="muted">Server-Sent Events. Publish with <code>curl -d 'hello' localhost:PORT/publish</code>.</p>
<p id="clock">connecting…</p>
<ul id="log"></ul>
<script>
  const source = new EventSource('/events');
  source.addEventListener('clock', (e) => { document.getElementById('clock').textContent = e.data; });
  source.addEventListener('publish', (e) => {
    const li = document.createElement('li');
    li.textContent = '#' + e.lastEventId + ' ' + e.data;
    document.getElementById('log').prepend(li);
  });
</script>
</html>`;
