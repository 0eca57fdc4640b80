// Crier as a library: a plain node:http server with a `Hub` from crier-sse/server (the built dist/).
// GET /events?topic=X subscribes through `hub.handle`; POST /publish?topic=X with `data=...` publishes.
import http from 'node:http';

const { Hub } = await import(new URL('../../dist/server/index.js', import.meta.url).href);
const hub = new Hub();

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/events') {
    hub.handle(req, res);
    return;
  }
  if (req.method === 'POST' && url.pathname === '/publish') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      hub.publish(url.searchParams.get('topic') ?? 'all', new URLSearchParams(body).get('data') ?? '').then(
        () => res.writeHead(200).end('ok'),
        (error) => res.writeHead(400).end(String(error?.message ?? error)),
      );
    });
    return;
  }
  res.writeHead(404).end();
});
// A large backlog absorbs connect storms, as docs/library.md recommends (node's default is 511).
server.listen({ port: Number(process.env.PORT), host: '127.0.0.1', backlog: 65_535 });
