#!/usr/bin/env node
// `npm run bench`: every scenario against every peer, side by side in one run, written to
// docs/benchmarks.md (+ docs/benchmarks.svg, docs/benchmarks.json). Servers run pinned to core 0, this
// process and its load generator workers to core 1.
//
//   npm run bench                       full run (10,000 subscribers; well under 30 minutes)
//   npm run bench -- --quick            smoke run (~1 minute, small counts; BENCH_QUICK=1 too); writes to
//                                       the temp dir unless --out is given, so CI leaves docs/ alone
//   options: --peers a,b  --connections N  --duration S  --out FILE.md  --ssebench /path/to/ssebench
//
// A peer is one file in bench/peers/ (see naive-express.mjs): how to start it, where to subscribe and
// publish, whether it can replay. A peer that cannot run is reported as "not run: <reason>".

import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { fanout, reconnectStorm, SubscriberPool, treeRssKiB } from '../dist/bench/index.js';
import { throughputChart } from './chart.mjs';

const root = new URL('../', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    peers: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    out: { type: 'string' },
    ssebench: { type: 'string' },
  },
});
const quick = args.quick || process.env.BENCH_QUICK === '1';
const N = Number(args.connections ?? (quick ? 200 : 10_000));
const DURATION = Number(args.duration ?? (quick ? 2 : 10));
const RATES = quick ? [2, 50] : [2, 6, 9, 50, 200];
const TOPIC_RATE = quick ? 500 : 10_000;
const BACKLOG = quick ? 20 : 100;
const out =
  args.out ?? (quick ? join(os.tmpdir(), 'crier-bench-quick.md') : join(root, 'docs/benchmarks.md'));
const ssebench = args.ssebench ?? process.env.SSEBENCH;
const tmp = mkdtempSync(join(os.tmpdir(), 'crier-bench-'));
const started = new Date();
const log = (...a) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- Pinning: this process (and the workers it forks) on core 1, servers on core 0.
const cpus = os.cpus().length;
const haveTaskset = spawnSync('taskset', ['--version']).status === 0;
const pinned = haveTaskset && cpus >= 2;
if (pinned) spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
const pinNote = pinned
  ? 'server on core 0 (`taskset -c 0`), load generator and publisher on core 1'
  : `not pinned: ${haveTaskset ? 'fewer than 2 CPUs' : 'taskset is not installed'}`;

// ---- The machine.
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: cpus,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  kernel: `${os.type()} ${os.release()}`,
  node: process.version,
  loadAtStart: os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
  commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim(),
};

// ---- The lead's protocol micro-benchmark first.
let protocolTable = '';
const protocolBench = join(root, 'bench/protocol.bench.ts');
if (existsSync(protocolBench)) {
  log('protocol micro-benchmark');
  const r = spawnSync(process.execPath, ['--import', 'tsx', protocolBench, ...(quick ? ['--quick'] : [])], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
  });
  protocolTable =
    r.status === 0 ? r.stdout.trim() : `not run: exit ${r.status}\n\n${(r.stderr ?? '').slice(0, 2000)}`;
} else {
  protocolTable = 'not run: bench/protocol.bench.ts is absent';
}

// ---- Peers.
const peerDir = join(root, 'bench/peers');
const peerFiles = readdirSync(peerDir)
  .filter((f) => f.endsWith('.mjs') && !f.endsWith('.server.mjs') && f !== 'support.mjs')
  .sort();
const ORDER = ['crier-library', 'crier-hub', 'nchan', 'better-sse', 'naive-express'];
let peers = [];
for (const f of peerFiles) peers.push((await import(join(peerDir, f))).default);
peers.sort((a, b) => (ORDER.indexOf(a.name) + 1 || 99) - (ORDER.indexOf(b.name) + 1 || 99));
if (args.peers) {
  const wanted = args.peers.split(',');
  peers = peers.filter((p) => wanted.includes(p.name));
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitListening(port, child, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

let serial = 0;
/** Starts a peer's server on core 0; resolves to { port, pid, stop() }. */
async function startServer(peer) {
  const port = await freePort();
  const { cmd, args: cmdArgs, env } = peer.command({ port, tmp, root });
  const logFile = join(tmp, `${peer.name}-${++serial}.log`);
  const fd = openSync(logFile, 'a');
  const argv = pinned ? ['taskset', '-c', '0', cmd, ...cmdArgs] : [cmd, ...cmdArgs];
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  if (!(await waitListening(port, child))) {
    child.kill('SIGKILL');
    throw new Error(`${peer.name} did not listen on ${port}: ${readFileSync(logFile, 'utf8').slice(-1000)}`);
  }
  await sleep(300);
  return {
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

// Each pool binds a different range of 127.0.0.x so ports left in TIME_WAIT by the last one stay out of the way.
let addressBase = 2;
function nextAddresses() {
  const base = addressBase;
  addressBase = addressBase + 16 > 240 ? 2 : addressBase + 16;
  return base;
}

const overloaded = (r) => r.delivered < 0.9 * r.expected || r.latency.p99 > 5000;

async function runPeer(peer) {
  const result = {
    name: peer.name,
    label: peer.label ?? peer.name,
    version: '',
    notRun: null,
    fanout: [],
    idle: null,
    storm: null,
    reconnect: null,
    topics: null,
    errors: [],
  };
  try {
    result.version = peer.version?.() ?? '';
  } catch {}
  const reason = await peer.check?.();
  if (reason) {
    result.notRun = reason;
    log(`${peer.name}: not run: ${reason}`);
    return result;
  }
  const pubHeaders = peer.publishHeaders?.() ?? [];
  const pub = (port, rate) => ({
    url: peer.publishUrl(port),
    rate,
    duration: DURATION,
    body: peer.publishBody,
    headers: pubHeaders,
    ...(peer.publishContentType ? { contentType: peer.publishContentType } : {}),
  });

  // A: connect storm, idle memory, fan-out at each rate on the same subscribers.
  let server = await startServer(peer);
  try {
    log(`${peer.name}: connect storm + idle, ${N} subscribers`);
    const before = treeRssKiB(server.pid) ?? 0;
    const pool = await SubscriberPool.open({
      url: peer.subscribeUrl(server.port),
      connections: N,
      sourceAddressBase: nextAddresses(),
    });
    const c = pool.connectReport;
    result.storm = {
      connectMs: Math.round(c.connectMs),
      connected: c.connected,
      failed: c.failed + c.non200,
      errorCodes: c.errorCodes,
    };
    try {
      await sleep(quick ? 1000 : 3000);
      const connected = treeRssKiB(server.pid) ?? 0;
      result.idle = {
        beforeKiB: before,
        connectedKiB: connected,
        perConnectionKiB: Math.round(((connected - before) / Math.max(1, c.connected)) * 10) / 10,
      };
      let skip = null;
      for (const rate of RATES) {
        if (skip) {
          result.fanout.push({ rate, notRun: skip });
          continue;
        }
        log(`${peer.name}: fan-out ${N} x ${rate}/s`);
        const r = await fanout({
          pool,
          url: peer.subscribeUrl(server.port),
          connections: N,
          settle: 0.5,
          publish: pub(server.port, rate),
          serverPid: server.pid,
          drainMs: 3000,
        });
        result.fanout.push({ rate, target: rate * c.connected, ...summarize(r) });
        if (overloaded(r)) skip = `overloaded at ${rate} events/s`;
        await pool.waitQuiet(500, 5000);
      }
    } finally {
      await pool.close();
    }
  } catch (err) {
    result.errors.push(`fan-out: ${err.message}`);
  } finally {
    await server.stop();
  }

  // B: reconnect storm.
  if (!peer.replay) {
    result.reconnect = {
      notRun: 'no replay: the server keeps no event history, so Last-Event-ID cannot be honoured',
    };
  } else {
    server = await startServer(peer);
    try {
      log(`${peer.name}: reconnect storm, ${N} subscribers ${BACKLOG} events behind`);
      const r = await reconnectStorm({
        url: peer.subscribeUrl(server.port),
        connections: N,
        backlog: BACKLOG,
        sourceAddressBase: nextAddresses(),
        publish: { ...pub(server.port, 1000), duration: undefined },
        waitMs: 20_000,
      });
      result.reconnect = {
        connectMs: Math.round(r.connect.connectMs),
        connected: r.connect.connected,
        caughtUp: r.caughtUp,
        p50: r.catchUp.p50,
        p99: r.catchUp.p99,
        allCaughtUpMs: r.allCaughtUpMs,
      };
    } catch (err) {
      result.reconnect = { notRun: err.message };
    } finally {
      await server.stop();
    }
  }

  // C: many topics, one subscriber each.
  server = await startServer(peer);
  try {
    log(`${peer.name}: ${N} topics x 1 subscriber, ${TOPIC_RATE} publishes/s`);
    const r = await fanout({
      url: peer.subscribeUrl(server.port),
      connections: N,
      topics: N,
      settle: 1,
      sourceAddressBase: nextAddresses(),
      publish: { ...pub(server.port, TOPIC_RATE), connections: 8 },
      serverPid: server.pid,
    });
    result.topics = { rate: TOPIC_RATE, ...summarize(r) };
  } catch (err) {
    result.topics = { notRun: err.message };
  } finally {
    await server.stop();
  }
  return result;
}

function summarize(r) {
  return {
    published: r.publish.ok,
    publishFailed: r.publish.rejected + r.publish.errors + r.publish.skipped,
    delivered: r.delivered,
    expected: r.expected,
    perSecond: Math.round(r.deliveriesPerSecond),
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    rssEndKiB: r.rss?.endKiB,
  };
}

// ---- The independent C client on the same server, as a check of the instrument.
async function instrumentCheck() {
  if (!ssebench)
    return { notRun: 'no --ssebench given (gcc -O2 -o /tmp/ssebench ../shared/bench/ssebench.c -lm)' };
  if (!existsSync(ssebench)) return { notRun: `${ssebench} does not exist` };
  const rows = [];
  const plan = [
    ['nchan', 6],
    ['nchan', 50],
    ['naive-express', 2],
  ].filter(([name]) => peers.some((p) => p.name === name));
  for (const [name, rate] of plan) {
    const peer = peers.find((p) => p.name === name);
    if (await peer.check?.()) continue;
    const server = await startServer(peer);
    try {
      const sub = peer.subscribeUrl(server.port).replaceAll('%I', '0');
      const pubUrl = peer.publishUrl(server.port).replaceAll('%I', '0');
      const body = peer.publishBody.replaceAll('%I', '0');
      log(`instrument check: ${name} ${N} x ${rate}/s, crier bench`);
      const ours = await fanout({
        url: sub,
        connections: N,
        settle: 1,
        sourceAddressBase: nextAddresses(),
        publish: {
          url: pubUrl,
          rate,
          duration: DURATION,
          body,
          ...(peer.publishContentType ? { contentType: peer.publishContentType } : {}),
        },
      });
      rows.push({
        peer: name,
        rate,
        tool: 'crier bench',
        connectMs: Math.round(ours.connect.connectMs),
        perSecond: Math.round(ours.deliveriesPerSecond),
        p50: ours.latency.p50,
        p99: ours.latency.p99,
      });
      await sleep(1000);
      log(`instrument check: ${name} ${N} x ${rate}/s, ssebench`);
      const theirs = await runSsebench(sub, pubUrl, body, rate, peer.publishContentType);
      rows.push({ peer: name, rate, tool: 'ssebench (C)', ...theirs });
    } catch (err) {
      rows.push({ peer: name, rate, tool: 'error', error: err.message });
    } finally {
      await server.stop();
    }
  }
  return { rows };
}

async function runSsebench(sub, pubUrl, body, rate, contentType) {
  const hold = DURATION + 4;
  const child = spawn(
    ssebench,
    ['sub', '-u', sub, '-c', String(N), '-d', String(hold), '-S', '16', '-w', '60'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 70_000;
  while (!/connected/.test(stderr) && Date.now() < deadline && child.exitCode === null) await sleep(100);
  await sleep(1000);
  const pub = spawnSync(
    ssebench,
    [
      'pub',
      '-u',
      pubUrl,
      '-r',
      String(rate),
      '-d',
      String(DURATION),
      '-k',
      '2',
      '-b',
      body,
      ...(contentType ? ['-H', `Content-Type: ${contentType}`] : []),
    ],
    { encoding: 'utf8' },
  );
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  const kv = Object.fromEntries(
    `${stdout} ${pub.stdout}`
      .trim()
      .split(/\s+/)
      .map((p) => p.split('=')),
  );
  return {
    connectMs: Math.round(Number(kv.connect_s) * 1000),
    perSecond: Math.round(Number(kv.events) / DURATION),
    p50: Number(kv.p50_ms),
    p99: Number(kv.p99_ms),
  };
}

// ---- Run.
log(`${quick ? 'quick' : 'full'} run: ${N} subscribers, ${DURATION}s per measurement; ${pinNote}`);
const results = [];
for (const peer of peers) results.push(await runPeer(peer));
const check = await instrumentCheck();
machine.loadAtEnd = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const minutes = ((Date.now() - started) / 60_000).toFixed(1);

// ---- Report.
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const svgPath = out.replace(/\.md$/, '.svg');
const md = render();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
writeFileSync(
  svgPath,
  throughputChart(
    results
      .filter((r) => !r.notRun)
      .map((r) => ({
        name: r.label,
        points: r.fanout
          .filter((f) => !f.notRun)
          .map((f) => ({ x: f.perSecond, y: f.p99, label: `${f.rate}/s` })),
      })),
  ),
);
writeFileSync(
  out.replace(/\.md$/, '.json'),
  `${JSON.stringify({ machine, quick, N, DURATION, results, check }, null, 2)}\n`,
);
log(`wrote ${relative(process.cwd(), out)} in ${minutes} min`);

function cell(v, digits = 0) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  return typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : String(v);
}
function ratio(a, b) {
  if (!(a > 0) || !(b > 0)) return '–';
  return `${(a / b).toFixed(2)}×`;
}

function render() {
  const run = results.filter((r) => !r.notRun);
  const L = [];
  L.push('# Benchmarks', '');
  L.push(
    `Produced by \`${command}\` (bench/run.mjs) on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${machine.commit}, in ${minutes} minutes.${quick ? ' **Quick smoke run: small counts, not figures to quote.**' : ''}`,
  );
  L.push('');
  L.push('| machine | |', '|---|---|');
  L.push(`| CPU | ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB |`);
  L.push(`| kernel | ${machine.kernel} |`, `| Node.js | ${machine.node} |`, `| pinning | ${pinNote} |`);
  L.push(`| load average at start / end | ${machine.loadAtStart} / ${machine.loadAtEnd} |`);
  L.push(
    `| subscribers | ${N.toLocaleString('en-US')} per scenario, ${DURATION} s of publishing per measurement |`,
  );
  L.push('');
  L.push('Versions: ' + results.map((r) => `${r.label}: ${r.version || '?'}`).join('; ') + '.', '');
  L.push(
    'Latency is receive time minus the publish time the publisher wrote into each event (`{"t":<µs>}`), over every delivery, from an HDR-style histogram (values within 0.8 %). "Held" is deliveries received per second of publishing; "delivered" is the share of what a server that drops nothing would deliver. Figures drift from machine to machine and with other load on it: compare servers within one run.',
    '',
  );

  const notRun = results.filter((r) => r.notRun);
  if (notRun.length > 0) {
    L.push('## Not run', '');
    for (const r of notRun) L.push(`- ${r.label}: not run: ${r.notRun}`);
    L.push('');
  }

  L.push('## Fan-out: one topic, every subscriber gets every event', '');
  L.push(`![${'throughput against p99'}](${relative(dirname(out), svgPath)})`, '');
  L.push(
    '| events/s × subscribers | server | held deliveries/s | delivered | p50 ms | p90 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const rate of RATES) {
    for (const r of run) {
      const f = r.fanout.find((x) => x.rate === rate);
      if (!f)
        L.push(`| ${rate} × ${N} | ${r.label} | not run: ${r.errors.join('; ') || 'failed'} | | | | | |`);
      else if (f.notRun) L.push(`| ${rate} × ${N} | ${r.label} | not run: ${f.notRun} | | | | | |`);
      else
        L.push(
          `| ${rate} × ${N} | ${r.label} | ${cell(f.perSecond)} | ${cell((100 * f.delivered) / Math.max(1, f.expected), 1)} % | ${cell(f.p50, 1)} | ${cell(f.p90, 1)} | ${cell(f.p99, 1)} | ${cell(f.max, 0)} |`,
        );
    }
  }
  L.push('');

  const crier = run.find((r) => r.name === 'crier-library') ?? run.find((r) => r.name === 'crier-hub');
  L.push('## Ratios', '');
  if (!crier) {
    const why = results
      .filter((r) => r.name.startsWith('crier'))
      .map((r) => `${r.label}: ${r.notRun ?? 'failed'}`);
    L.push(
      `Crier was not measured in this run (${why.join('; ') || 'no Crier peer'}), so there are no ratios to the peers yet.`,
      '',
    );
  } else {
    L.push(
      `${crier.label} against each peer at the same load: throughput held (higher is better for Crier when > 1) and p99 (lower is better for Crier when < 1).`,
      '',
    );
    L.push('| events/s | peer | held: Crier / peer | p99: Crier / peer |', '|---|---|---|---|');
    for (const rate of RATES) {
      const a = crier.fanout.find((x) => x.rate === rate);
      for (const r of run) {
        if (r === crier) continue;
        const b = r.fanout.find((x) => x.rate === rate);
        L.push(
          `| ${rate} | ${r.label} | ${a && !a.notRun && b && !b.notRun ? ratio(a.perSecond, b.perSecond) : b?.notRun ? `peer ${b.notRun}` : '–'} | ${a && !a.notRun && b && !b.notRun ? ratio(a.p99, b.p99) : '–'} |`,
        );
      }
    }
    L.push('');
  }

  L.push('## Idle subscribers: memory and the connect storm', '');
  L.push(
    `${N.toLocaleString('en-US')} subscribers opened at once (256 connects in flight per worker process) on an idle server; RSS of the server process tree from /proc before and ${quick ? 1 : 3} s after.`,
    '',
  );
  L.push(
    '| server | connected | failed | all connected in | RSS before | RSS with subscribers | RSS per subscriber |',
    '|---|---|---|---|---|---|---|',
  );
  for (const r of run) {
    const s = r.storm;
    const i = r.idle;
    L.push(
      s
        ? `| ${r.label} | ${cell(s.connected)} | ${cell(s.failed)} | ${cell(s.connectMs / 1000, 2)} s | ${cell(i?.beforeKiB / 1024, 1)} MiB | ${cell(i?.connectedKiB / 1024, 1)} MiB | ${cell(i?.perConnectionKiB, 1)} KiB |`
        : `| ${r.label} | not run: ${r.errors.join('; ')} | | | | | |`,
    );
  }
  L.push('');

  L.push(
    `## Reconnect storm: ${N.toLocaleString('en-US')} subscribers resume with Last-Event-ID ${BACKLOG} events behind`,
    '',
  );
  L.push(
    '| server | connected | caught up | p50 ms | p99 ms | all caught up in |',
    '|---|---|---|---|---|---|',
  );
  for (const r of run) {
    const x = r.reconnect;
    L.push(
      !x || x.notRun
        ? `| ${r.label} | not run: ${x?.notRun ?? 'failed'} | | | | |`
        : `| ${r.label} | ${cell(x.connected)} | ${cell(x.caughtUp)} | ${cell(x.p50, 1)} | ${cell(x.p99, 1)} | ${x.allCaughtUpMs >= 0 ? `${cell(x.allCaughtUpMs / 1000, 2)} s` : 'not all'} |`,
    );
  }
  L.push('');

  L.push(
    `## Many topics: ${N.toLocaleString('en-US')} topics × 1 subscriber, ${TOPIC_RATE.toLocaleString('en-US')} publishes/s spread over them`,
    '',
  );
  L.push(
    '| server | publishes answered | publishes failed/skipped | held deliveries/s | delivered | p50 ms | p99 ms |',
    '|---|---|---|---|---|---|---|',
  );
  for (const r of run) {
    const x = r.topics;
    L.push(
      !x || x.notRun
        ? `| ${r.label} | not run: ${x?.notRun ?? 'failed'} | | | | | |`
        : `| ${r.label} | ${cell(x.published)} | ${cell(x.publishFailed)} | ${cell(x.perSecond)} | ${cell((100 * x.delivered) / Math.max(1, x.expected), 1)} % | ${cell(x.p50, 1)} | ${cell(x.p99, 1)} |`,
    );
  }
  L.push('');

  L.push('## The instrument checked against an independent C client', '');
  if (check.notRun) L.push(`not run: ${check.notRun}`, '');
  else {
    L.push(
      'The same server and load measured by `crier bench` and by ssebench (an epoll client in C kept beside the project), one after the other:',
      '',
    );
    L.push(
      '| server | events/s × subscribers | client | connected in | held deliveries/s | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|---|',
    );
    for (const x of check.rows)
      L.push(
        x.error
          ? `| ${x.peer} | ${x.rate} | error: ${x.error} | | | | |`
          : `| ${x.peer} | ${x.rate} × ${N} | ${x.tool} | ${cell(x.connectMs / 1000, 2)} s | ${cell(x.perSecond)} | ${cell(x.p50, 1)} | ${cell(x.p99, 1)} |`,
      );
    L.push('');
  }

  L.push('## Protocol core micro-benchmark (bench/protocol.bench.ts)', '', protocolTable, '');
  const errs = results.filter((r) => r.errors.length > 0);
  if (errs.length > 0) {
    L.push('## Errors', '');
    for (const r of errs) L.push(`- ${r.label}: ${r.errors.join('; ')}`);
    L.push('');
  }
  return `${L.join('\n')}\n`;
}
process.exit(0);
