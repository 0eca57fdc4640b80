// The connect storm with the C yardstick (../shared/bench/ssebench.c), one server on one core:
//   node bench/connect-storm.mjs <label> <storms> -- <server command, {PORT} replaced>
// starts the server pinned to core 0, then runs `ssebench sub -c N -S 16 -d 4` pinned to core 1 <storms>
// times on the same process (the first storm meets a cold process), and prints per storm: the client's
// connect time, the server's CPU time (utime+stime from /proc) until all were connected, its VmRSS before
// and with the N subscribers idle, and the kernel's listen-queue overflows (each one is a SYN dropped and
// retried by the client a second or more later). The server's CPU time is the figure to compare on a busy
// machine; wall time follows it when no SYN was dropped.
// Environment: PORT (18500), URLPATH (/.well-known/mercure?topic=x), N (10000), SSEBENCH (/tmp/ssebench),
// WARM (connects of a warm-up storm first), PIDFILE (a server that forks its worker, e.g. nginx).
// Run it under `ulimit -n 20000` and `flock /tmp/crier-bench.lock`; see docs/connect-storm.md.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { childPids } from '../dist/bench/index.js';

const [label, reps, ...rest] = process.argv.slice(2);
const cmd = rest.slice(rest.indexOf('--') + 1);
const port = Number(process.env.PORT ?? 18500);
const urlPath = process.env.URLPATH ?? '/.well-known/mercure?topic=x';
const N = Number(process.env.N ?? 10000);
const ssebench = process.env.SSEBENCH ?? '/tmp/ssebench';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sub = cmd.map((a) => a.replaceAll('{PORT}', String(port)));
const child = spawn('taskset', ['-c', '0', ...sub], {
  env: { ...process.env, PORT: String(port) },
  stdio: ['ignore', 'ignore', 'pipe'],
});
let err = '';
child.stderr.on('data', (d) => (err += d));
const rss = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return NaN;
  }
};
async function up() {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`server did not listen: ${err}`);
}
// the server's pid: taskset execs, so child.pid is the server (nginx master forks a worker: use its pid file)
await up();
await sleep(500);
let pid = child.pid;
if (process.env.PIDFILE) {
  const master = Number(readFileSync(process.env.PIDFILE, 'utf8'));
  pid = childPids(master)[0] ?? master;
}
const netstat = () => {
  const l = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((x) => x.startsWith('TcpExt:'));
  const k = l[0].split(/\s+/),
    v = l[1].split(/\s+/).map(Number);
  return { ov: v[k.indexOf('ListenOverflows')], dr: v[k.indexOf('ListenDrops')] };
};
const cpu = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
};
/** `ssebench sub`: `count` subscribers from 16 source addresses, held `holdSeconds`, on core 1. */
const storm = (count, holdSeconds, stdio) =>
  spawn(
    'taskset',
    ['-c', '1', ssebench, 'sub', '-u', `http://127.0.0.1:${port}${urlPath}`].concat([
      '-c',
      String(count),
      '-S',
      '16',
      '-d',
      String(holdSeconds),
      '-w',
      '20',
    ]),
    { stdio },
  );
if (process.env.WARM) {
  const w = storm(process.env.WARM, 0.2, 'ignore');
  await new Promise((r) => w.on('exit', r));
  await sleep(1000);
}
const out = [];
for (let r = 0; r < Number(reps); r++) {
  const before = rss(pid);
  const ns0 = netstat();
  const c = storm(N, 4, ['ignore', 'pipe', 'pipe']);
  let so = '',
    se = '',
    held = NaN,
    cpuAt = NaN;
  const cpu0 = cpu(pid);
  c.stdout.on('data', (d) => (so += d));
  c.stderr.on('data', (d) => {
    se += d;
    if (/holding/.test(se) && Number.isNaN(cpuAt)) {
      cpuAt = cpu(pid) - cpu0;
    }
    if (/holding/.test(se) && Number.isNaN(held) && !c.t)
      c.t = setTimeout(() => {
        held = rss(pid);
      }, 2000);
  });
  await new Promise((r) => c.on('exit', r));
  const ns1 = netstat();
  const kv = Object.fromEntries(
    so
      .trim()
      .split(/\s+/)
      .map((x) => x.split('=')),
  );
  out.push({
    cpuMs: cpuAt,
    ov: ns1.ov - ns0.ov,
    dr: ns1.dr - ns0.dr,
    rep: r + 1,
    connect_s: Number(kv.connect_s),
    connected: Number(kv.connected),
    failed: Number(kv.failed),
    non200: Number(kv.non200),
    rssBeforeKiB: before,
    rssHeldKiB: held,
  });
  await sleep(1500);
}
child.kill('SIGTERM');
if (process.env.PIDFILE)
  try {
    process.kill(Number(readFileSync(process.env.PIDFILE, 'utf8')), 'SIGTERM');
  } catch {}
await sleep(300);
for (const o of out)
  console.log(
    `${label} rep=${o.rep} connect_s=${o.connect_s} server_cpu_ms=${o.cpuMs} connected=${o.connected} failed=${o.failed} non200=${o.non200} rss_before=${o.rssBeforeKiB} rss_held=${o.rssHeldKiB} KiB/conn=${((o.rssHeldKiB - o.rssBeforeKiB) / N).toFixed(2)} listen_overflows=${o.ov} listen_drops=${o.dr}`,
  );
