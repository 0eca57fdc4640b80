// The balancer's CPU per delivery in front of `crier cluster --nodes 3` over Redis: nginx (layer 7),
// HAProxy (mode tcp) and nginx stream (layer 4, PROXY protocol), at one load, set-ups alternated.
//
//   ulimit -n 20000; flock /tmp/crier-bench.lock node bench/proxy-cost.mjs [--subscribers 10000]
//       [--rate 6] [--seconds 20] [--rounds 2] [--ssebench /tmp/ssebench]
//
// The cluster (nodes and balancer) runs on core 0 (taskset -c 0), the C client (ssebench) on core 1:
// SUBSCRIBERS subscribers to one topic through the balancer, RATE publishes a second through it for
// SECONDS. The balancer's and the nodes' CPU time (utime + stime from /proc) is read before and after the
// publishing window; µs per delivery = the balancer's CPU time / the events the subscribers received.
// Needs `npm run build`, redis-server on 127.0.0.1:6379, nginx with the stream module and haproxy.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { descendantPids } from '../dist/bench/index.js';
import { publisherToken } from './peers/crier-hub.mjs';
import { repoRoot } from './peers/support.mjs';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    ssebench: { type: 'string', default: '/tmp/ssebench' },
    proxies: { type: 'string', default: 'nginx,haproxy,nginx-stream' },
  },
});
const N = Number(values.subscribers);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const PORT = 18_580;
const TICK = 100; // clock ticks a second (getconf CLK_TCK)

/** utime + stime of `pid` in seconds, 0 once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}
const comm = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

async function measure(proxy) {
  const cluster = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      `${repoRoot}bin/crier.js`,
      'cluster',
      '--proxy',
      proxy,
      '--nodes',
      '3',
      '--port',
      String(PORT),
      '--store',
      'redis://127.0.0.1:6379',
      '--nginx-connections',
      String(2 * N + 1024),
      // Two workers (HAProxy: processes), each under the open-files limit; under taskset -c 0 the
      // default (one per core it may use) would be one.
      '--nginx-workers',
      '2',
      '--',
      '--publisher-jwt-key',
      'crier-bench-secret-key-of-at-least-32-bytes!',
      '--anonymous',
      '--redis-prefix',
      `{crier-proxy-cost}:${proxy}:`,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  cluster.stdout.setEncoding('utf8').on('data', (s) => (out += s));
  while (!out.includes('Ctrl-C')) {
    if (cluster.exitCode !== null) throw new Error(`crier cluster exited: ${out}`);
    await sleep(100);
  }
  const all = descendantPids(cluster.pid);
  const balancer = all.filter((p) => comm(p) === 'nginx' || comm(p) === 'haproxy');
  const nodes = all.filter((p) => comm(p) === 'node' || comm(p).startsWith('crier'));
  const url = `http://127.0.0.1:${PORT}/.well-known/mercure`;
  const sub = spawn(
    'taskset',
    [
      '-c',
      '1',
      values.ssebench,
      'sub',
      '-u',
      `${url}?topic=t`,
      '-c',
      String(N),
      '-w',
      '30',
      '-d',
      String(SECONDS + 20),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let subOut = '';
  sub.stdout.setEncoding('utf8').on('data', (s) => (subOut += s));
  await sleep(15_000); // the connect storm through the balancer, then quiet
  const sum = (pids) => pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const before = { balancer: sum(balancer), nodes: sum(nodes), at: Date.now() };
  spawnSync(
    'taskset',
    [
      '-c',
      '1',
      values.ssebench,
      'pub',
      '-u',
      url,
      '-r',
      String(RATE),
      '-d',
      String(SECONDS),
      '-b',
      'topic=t&data={"t":%T}',
      '-H',
      `Authorization: Bearer ${await publisherToken()}`,
    ],
    { stdio: 'ignore' },
  );
  await sleep(2000); // the last events reach the subscribers
  const after = { balancer: sum(balancer), nodes: sum(nodes), at: Date.now() };
  await new Promise((resolve) => sub.once('exit', resolve));
  cluster.kill('SIGTERM');
  await new Promise((resolve) => cluster.once('exit', resolve));
  const kv = Object.fromEntries(
    subOut
      .trim()
      .split(/\s+/)
      .map((x) => x.split('=')),
  );
  const events = Number(kv.events);
  const wall = (after.at - before.at) / 1000;
  return {
    proxy,
    connected: Number(kv.connected ?? kv.conns ?? N),
    events,
    p50: kv.p50_ms,
    p99: kv.p99_ms,
    balancerCpu: ((after.balancer - before.balancer) / wall) * 100,
    nodesCpu: ((after.nodes - before.nodes) / wall) * 100,
    usPerDelivery: ((after.balancer - before.balancer) * 1e6) / events,
    nodesUsPerDelivery: ((after.nodes - before.nodes) * 1e6) / events,
    raw: subOut.trim(),
  };
}

const proxies = values.proxies.split(',');
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const proxy of round % 2 === 1 ? proxies : [...proxies].reverse()) {
    const r = await measure(proxy);
    console.log(
      `round ${round} ${proxy.padEnd(12)} events ${r.events} p50 ${r.p50} ms p99 ${r.p99} ms; ` +
        `balancer ${r.balancerCpu.toFixed(0)} % of a core, ${r.usPerDelivery.toFixed(2)} µs/delivery; ` +
        `nodes ${r.nodesCpu.toFixed(0)} %, ${r.nodesUsPerDelivery.toFixed(2)} µs/delivery`,
    );
    console.log(`  ssebench: ${r.raw}`);
  }
}
