// The seed's pattern as a developer following it would write it: Express, every subscriber's `res` kept in
// a Set per topic, and POST /publish writing `data: ...\n\n` to each with `res.write`. No history, no
// batching, no backpressure. GET /events?topic=X subscribes; POST /publish?topic=X with `data=...`.
import express from 'express';

const app = express();
const topics = new Map();

app.get('/events', (req, res) => {
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.flushHeaders();
  const topic = String(req.query.topic ?? 'all');
  if (!topics.has(topic)) topics.set(topic, new Set());
  const clients = topics.get(topic);
  clients.add(res);
  req.on('close', () => clients.delete(res));
});

app.post('/publish', express.urlencoded({ extended: false }), (req, res) => {
  const data = req.body.data ?? '';
  for (const client of topics.get(String(req.query.topic ?? 'all')) ?? []) client.write(`data: ${data}\n\n`);
  res.send('ok');
});

app.listen(Number(process.env.PORT), '127.0.0.1');
