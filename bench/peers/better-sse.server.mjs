// better-sse as its README sets it up: a session per request, registered on a channel (one per topic),
// `channel.broadcast` on POST /publish?topic=X with `data=...`. GET /events?topic=X subscribes.
import http from 'node:http';
import { createChannel, createSession } from 'better-sse';

const channels = new Map();
const channel = (name) => {
  if (!channels.has(name)) channels.set(name, createChannel());
  return channels.get(name);
};

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const topic = url.searchParams.get('topic') ?? 'all';
  if (req.method === 'GET' && url.pathname === '/events') {
    // The data is already JSON text: send it as is rather than JSON-encoding it again.
    const session = await createSession(req, res, { serializer: (data) => String(data) });
    channel(topic).register(session);
    return;
  }
  if (req.method === 'POST' && url.pathname === '/publish') {
    let body = '';
    req.setEncoding('utf8');
    for await (const chunk of req) body += chunk;
    channel(topic).broadcast(new URLSearchParams(body).get('data') ?? '', 'message');
    res.writeHead(200).end('ok');
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT), '127.0.0.1');
