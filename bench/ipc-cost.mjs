// bench/ipc-cost.mjs [WORKERS]: the primary's CPU per update per worker when it sends an update-sized message to
// each of WORKERS node:cluster workers over IPC, as `crier serve --workers N` does for every update
// (the scaling model in docs/benchmarks-workers.md).
import cluster from 'node:cluster';

if (cluster.isPrimary) {
  const n = Number(process.argv[2] ?? 1);
  const ws = Array.from({ length: n }, () => cluster.fork());
  await Promise.all(ws.map((w) => new Promise((r) => w.once('online', r))));
  const update = {
    crier: 'crier:engine',
    update: {
      topics: ['scores/42'],
      data: '{"home":1,"away":0,"t":1796311431269}',
      id: 'abcdefgh-123456',
      offset: 123456,
      epoch: 'abcdefgh',
      time: 1796311431269,
    },
  };
  const count = 20000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) for (const w of ws) w.send(update);
  await Promise.all(
    ws.map(
      (w) =>
        new Promise((r) => {
          w.send({ done: 1 });
          w.once('message', r);
        }),
    ),
  );
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `workers=${n} primary cpu per update per worker: ${((cpu.user + cpu.system) / count / n).toFixed(2)} µs; wall ${(performance.now() - t0).toFixed(0)} ms`,
  );
  for (const w of ws) w.kill();
} else {
  process.on('message', (m) => {
    if (m.done) process.send('ok');
  });
}
