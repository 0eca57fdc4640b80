#!/usr/bin/env node
// Compressed streams against uncompressed ones on the hub (`crier serve`, `urn:uuid:` IDs): N subscribers
// on one topic, ticker-like updates published in bursts (one burst a second, `rate` updates in it, as a
// market feed publishes ticks that share a timestamp), at each rate. For each mode it reports the bytes
// the server wrote per delivered event (/proc/PID/io wchar), its CPU per delivery (/proc/PID/stat), the
// latency seen by decoding subscribers, and whether every event reached them.
//
//   node bench/compression.mjs [--connections N] [--duration S] [--rates 2,6,12] [--modes off,on]
//                              [--ssebench /tmp/ssebench] [--root DIR] [--json FILE] [--quick]
//
// The C client (ssebench) holds N - D of the subscribers and sends `Accept-Encoding: gzip`, so it reads
// the compressed bytes; D decoding Node subscribers (undici's fetch decodes gzip) check that every event
// arrives, in order, once, and measure latency. `--root` runs another checkout's build (the base of a
// comparison; a build without --compression is measured as `off`). Server on core 0, this process on 1.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string' },
    duration: { type: 'string' },
    rates: { type: 'string' },
    modes: { type: 'string' },
    ssebench: { type: 'string' },
    root: { type: 'string' },
    json: { type: 'string' },
    quick: { type: 'boolean' },
  },
});
const quick = args.quick === true;
const N = Number(args.connections ?? (quick ? 200 : 10_000));
const DURATION = Number(args.duration ?? (quick ? 3 : 10));
const RATES = (args.rates ?? '2,6,12').split(',').map(Number);
const MODES = (args.modes ?? 'off,on').split(',');
const DECODERS = Math.min(20, N);
const root = args.root ?? new URL('../', import.meta.url).pathname;
const ssebench = args.ssebench ?? process.env.SSEBENCH ?? '/tmp/ssebench';
const KEY = 'crier-bench-secret-key-of-at-least-32-bytes!';
const TOPIC = 'https://crier.example/ticker/QNX';
const log = (...a) => console.error('[compression]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pinned = spawnSync('taskset', ['--version']).status === 0 && os.cpus().length >= 2;
if (pinned) spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });

const { SignJWT } = await import('jose');
const token = await new SignJWT({ mercure: { publish: ['*'] } })
  .setProtectedHeader({ alg: 'HS256' })
  .sign(new TextEncoder().encode(KEY));
const help = spawnSync(process.execPath, [`${root}bin/crier.js`, 'serve', '--help'], { encoding: 'utf8' });
const knowsCompression = help.stdout.includes('--compression');

const TICKS = ['QNX', 'NIM', 'COR', 'BYT', 'HEL', 'SYN', 'LAT', 'VEC', 'PHO', 'KER', 'SOL', 'WIN'];
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
/** A tick of the ticker demo's shape; `t` is the publish time in µs (latency). */
function tick(i) {
  const price = (100 + ((i * 37) % 900) / 10).toFixed(2);
  const change = (((i * 13) % 200) / 100 - 1).toFixed(2);
  return `{"symbol":"${TICKS[i % TICKS.length]}","price":${price},"change":${change},"changePct":${(change / 1.3).toFixed(2)},"volume":${10_000 + ((i * 7919) % 90_000)},"t":${nowUs()}}`;
}

function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}
const written = (pid) => Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

async function startServer(mode) {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const serve = [`${root}bin/crier.js`, 'serve', '--port', String(port), '--publisher-jwt-key', KEY];
  serve.push('--anonymous', '--log-level', 'warn', '--max-connections', String(N + 1000));
  serve.push('--max-connections-per-ip', String(N + 1000), '--heartbeat', '0');
  if (knowsCompression) serve.push('--compression', mode === 'on' ? 'gzip,deflate' : 'off');
  else if (mode === 'on') throw new Error(`${root} has no --compression`);
  const argv = pinned ? ['taskset', '-c', '0', process.execPath, ...serve] : [process.execPath, ...serve];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {}
    await sleep(100);
  }
  await sleep(300);
  const pid = pinned
    ? Number(
        spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
          .stdout.trim()
          .split('\n')[0],
      ) || child.pid
    : child.pid;
  return { port, pid, child };
}

/** A subscriber that decodes (undici), checks order and counts, and records latency. */
function decoder(url) {
  const sub = { events: 0, ids: new Set(), duplicates: 0, latencies: [], encoding: null, ok: null };
  const controller = new AbortController();
  sub.stop = () => controller.abort();
  sub.ok = (async () => {
    const res = await fetch(url, { headers: { 'accept-encoding': 'gzip' }, signal: controller.signal });
    sub.encoding = res.headers.get('content-encoding');
    let buffer = '';
    const text = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        buffer += text.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const t = /"t":(\d+)/.exec(block)?.[1];
          if (id !== undefined && t !== undefined) {
            if (sub.ids.has(id)) sub.duplicates++;
            sub.ids.add(id);
            sub.events++;
            sub.latencies.push((nowUs() - Number(t)) / 1000);
          }
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {}
  })();
  return sub;
}

async function publishBursts(port, rate, seconds) {
  const url = `http://127.0.0.1:${port}/.well-known/mercure`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' };
  let ok = 0;
  let i = 0;
  const start = performance.now();
  for (let s = 0; s < seconds; s++) {
    const burst = [];
    for (let k = 0; k < rate; k++) {
      const body = new URLSearchParams({ topic: TOPIC, data: tick(i++) }).toString();
      burst.push(fetch(url, { method: 'POST', headers, body }).then((r) => (r.ok ? ok++ : 0)));
    }
    await Promise.all(burst);
    const next = start + (s + 1) * 1000;
    await sleep(Math.max(0, next - performance.now()));
  }
  return ok;
}

const pct = (sorted, p) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function runMode(mode) {
  const server = await startServer(mode);
  const url = `http://127.0.0.1:${server.port}/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`;
  const before = rssKiB(server.pid);
  const hold = RATES.length * (DURATION + 4) + 10;
  const c = spawn(
    ssebench,
    [
      'sub',
      '-u',
      url,
      '-c',
      String(N - DECODERS),
      '-d',
      String(hold),
      '-S',
      '16',
      '-w',
      '60',
      '-H',
      'Accept-Encoding: gzip',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let cerr = '';
  c.stderr.on('data', (d) => (cerr += d));
  const deadline = Date.now() + 90_000;
  while (!/connected/.test(cerr) && Date.now() < deadline && c.exitCode === null) await sleep(100);
  const decoders = Array.from({ length: DECODERS }, () => decoder(url));
  await sleep(quick ? 1000 : 3000);
  const idleKiB = (rssKiB(server.pid) - before) / N;
  const rows = [];
  for (const rate of RATES) {
    const counts = decoders.map((d) => d.events);
    const lat = decoders.map((d) => d.latencies.length);
    const cpu0 = cpuSeconds(server.pid);
    const w0 = written(server.pid);
    const published = await publishBursts(server.port, rate, DURATION);
    await sleep(2000);
    const cpu = cpuSeconds(server.pid) - cpu0;
    const bytes = written(server.pid) - w0;
    const deliveries = published * N;
    const got = decoders.map((d, i) => d.events - counts[i]);
    const latencies = decoders.flatMap((d, i) => d.latencies.slice(lat[i])).sort((a, b) => a - b);
    rows.push({
      mode,
      rate,
      deliveriesPerSecond: Math.round(deliveries / DURATION),
      published,
      everyEventArrived: got.every((g) => g === published) && decoders.every((d) => d.duplicates === 0),
      decodersMissing: got.reduce((s, g) => s + (published - g), 0),
      bytesPerDelivery: Math.round((bytes / deliveries) * 10) / 10,
      cpuUsPerDelivery: Math.round((cpu / deliveries) * 1e6 * 100) / 100,
      p50: Math.round(pct(latencies, 0.5) * 10) / 10,
      p99: Math.round(pct(latencies, 0.99) * 10) / 10,
      encoding: decoders[0].encoding ?? 'identity',
    });
    log(JSON.stringify(rows.at(-1)));
  }
  for (const d of decoders) d.stop();
  c.kill('SIGTERM');
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  return { mode, idleKiBPerSubscriber: Math.round(idleKiB * 100) / 100, rows };
}

const results = [];
for (const mode of MODES) results.push(await runMode(mode));
const out = {
  N,
  DURATION,
  decoders: DECODERS,
  root,
  machine: os.cpus()[0]?.model,
  node: process.version,
  results,
};
if (args.json) (await import('node:fs')).writeFileSync(args.json, JSON.stringify(out, null, 2));
console.log(JSON.stringify(out));
