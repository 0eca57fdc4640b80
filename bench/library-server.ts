// A bench target for the server library, run from source: `PORT=8090 node --import tsx bench/library-server.ts`.
// GET /events subscribes (to the `topic` query parameters, or `x`); POST /publish with a form body
// `data=...` (optional `topic=`, default `x`) publishes. Measure it with ssebench (see docs/library.md).
import http from 'node:http';
import { Hub } from '../src/server/index.js';

const hub = new Hub();
const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url.startsWith('/events')) {
    void hub.handle(req, res, url.includes('topic=') ? {} : { topics: ['x'] });
    return;
  }
  if (req.method === 'POST' && url.startsWith('/publish')) {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      hub.publish(form.get('topic') ?? 'x', form.get('data') ?? '').then(
        (stored) => res.writeHead(200, { 'content-type': 'text/plain' }).end(stored.id),
        (error: Error) => res.writeHead(400).end(error.message),
      );
    });
    return;
  }
  res.writeHead(404).end();
});
server.listen({ port: Number(process.env.PORT ?? 8090), host: '127.0.0.1', backlog: 65_535 });
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
