/**
 * docs/library.md's "All the cores" example as a program the tests run: an Express app on N node:cluster
 * workers over one `ClusterEngine`. `PORT` (0: one free port, shared by the workers), `WORKERS` (default 2).
 * Prints `listening <port>` once every worker listens; SIGTERM stops the workers, then the primary.
 */
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Hub } from '../../server/index.js';
import { MemoryEngine } from '../memory/index.js';
import { ClusterEngine, ClusterEngineHost } from './index.js';

const workers = Number(process.env.WORKERS ?? 2);

if (cluster.isPrimary) {
  const host = new ClusterEngineHost(new MemoryEngine());
  host.attachWorkers(cluster); // before forking, so no worker misses an update
  let listening = 0;
  cluster.on('message', (_worker, message: { port?: number }) => {
    if (message.port !== undefined && ++listening === workers) console.log(`listening ${message.port}`);
  });
  let stopping = false;
  cluster.on('exit', () => {
    if (!stopping) cluster.fork();
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.once('SIGTERM', () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) void host.close();
    });
  });
} else {
  const hub = new Hub({ engine: new ClusterEngine() });
  const app = express();
  app.get('/events', (req, res) => {
    res.setHeader('x-worker', String(process.pid));
    void hub.handle(req, res);
  });
  app.post('/scores/:match', express.json(), async (req, res) => {
    const stored = await hub.publish(`scores/${req.params.match}`, JSON.stringify(req.body));
    res.json({ id: stored.id, worker: process.pid });
  });
  const server = app.listen(Number(process.env.PORT ?? 3000), () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.once('SIGTERM', async () => {
    server.close();
    await hub.close({ timeoutMs: 1_000 });
    process.exit(0);
  });
}
