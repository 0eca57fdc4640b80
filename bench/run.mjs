#!/usr/bin/env node
// `npm run bench`: every scenario against every peer, side by side in one run, written to
// docs/benchmarks.md (+ docs/benchmarks.svg, docs/benchmarks.json). Servers run pinned to core 0, this
// process and its load generator workers to core 1.
//
//   npm run bench                       full run (10,000 subscribers; well under 30 minutes)
//   npm run bench -- --quick            smoke run (~1 minute, small counts; BENCH_QUICK=1 too); writes to
//                                       the temp dir unless --out is given, so CI leaves docs/ alone
//   options: --peers a,b (also `cluster`, `compression`)  --connections N  --duration S  --out FILE.md
//            --ssebench /path/to/ssebench
//            --render docs/benchmarks.json   re-render the page from saved figures
//            --only cluster      measure the cluster scenario alone (needs --ssebench) and re-render the page
//                                with every other figure from the saved docs/benchmarks.json (or --out's)
//            --setups a,b        the cluster's set-ups (one-node, direct-3, nginx-3, haproxy-3, nginx-stream-3;
//                                default all)
//            --repeats N         measure the cluster's set-ups N times, alternated
//
// A peer is one file in bench/peers/ (see naive-express.mjs): how to start it, where to subscribe and
// publish, whether it can replay. A peer that cannot run is reported as "not run: <reason>".

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { fanout, reconnectStorm, SubscriberPool, treeRssKiB } from '../dist/bench/index.js';
import { freePort } from '../dist/cli/free-port.js';
import { clusterScenario, selectSetups } from './cluster.mjs';
import { waitListening } from './peers/support.mjs';
import { writeReport } from './report.mjs';

const root = new URL('../', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    help: { type: 'boolean', short: 'h' },
    quick: { type: 'boolean' },
    peers: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    out: { type: 'string' },
    ssebench: { type: 'string' },
    render: { type: 'string' },
    only: { type: 'string' },
    setups: { type: 'string' },
    repeats: { type: 'string' },
  },
});
if (args.help) {
  // The usage is this file's opening comment.
  const head = readFileSync(new URL(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  const usage = head.slice(
    0,
    head.findIndex((line) => !line.startsWith('//')),
  );
  console.log(usage.map((line) => line.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
if (args.render) {
  // Re-render the page from the figures a run saved (docs/benchmarks.json), without measuring.
  const saved = JSON.parse(readFileSync(args.render, 'utf8'));
  writeReport(saved, args.out ?? args.render.replace(/\.json$/, '.md'));
  process.exit(0);
}
if (args.only !== undefined && args.only !== 'cluster') {
  console.error(`--only: expected cluster, got ${args.only}`);
  process.exit(2);
}
const quick = args.quick || process.env.BENCH_QUICK === '1';
const N = Number(args.connections ?? (quick ? 200 : 10_000));
const DURATION = Number(args.duration ?? (quick ? 2 : 10));
const RATES = quick ? [2, 50] : [2, 6, 9, 12, 50, 200];
const TOPIC_RATE = quick ? 500 : 10_000;
const BACKLOG = quick ? 20 : 100;
// The cluster scenario (with the C client only): 20k, 60k and 120k deliveries/s to 10,000 subscribers; in
// the quick run, one small rate to 200.
const CLUSTER_N = N;
const CLUSTER_RATES = quick ? [2] : [2, 6, 12];
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
if (args.only !== undefined) {
  // --only: the saved run's table stays.
} else if (existsSync(protocolBench)) {
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
  let server;
  try {
    server = await startServer(peer);
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
    await server?.stop();
  }

  // B: reconnect storm.
  if (!peer.replay) {
    result.reconnect = {
      notRun: 'no replay: the server keeps no event history, so Last-Event-ID cannot be honoured',
    };
  } else {
    server = undefined;
    try {
      server = await startServer(peer);
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
      await server?.stop();
    }
  }

  // C: many topics, one subscriber each.
  server = undefined;
  try {
    server = await startServer(peer);
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
    await server?.stop();
  }
  return result;
}

function summarize(r) {
  return {
    published: r.publish.ok,
    publishedPerSecond: Math.round(r.publish.ok / r.publish.seconds),
    publishFailed: r.publish.rejected + r.publish.errors + r.publish.skipped,
    delivered: r.delivered,
    expected: r.expected,
    stale: r.stale,
    closed: r.closed,
    generatorCpu: r.generatorCpu,
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
        generatorCpu: ours.generatorCpu,
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

// ---- Compression: the hub with --compression off and on (bench/compression.mjs), the C client reading
// the compressed bytes and decoding Node subscribers checking that every event arrives.
function compressionScenario() {
  if (args.peers && !args.peers.split(',').includes('compression'))
    return { notRun: 'not selected (--peers without compression)' };
  if (!ssebench || !existsSync(ssebench)) return { notRun: 'no --ssebench given (it holds the subscribers)' };
  const json = join(tmp, 'compression.json');
  log(`compression: ${N} subscribers, --compression off and on`);
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'bench/compression.mjs'),
      '--connections',
      String(N),
      '--duration',
      String(DURATION),
      '--ssebench',
      ssebench,
      '--json',
      json,
      ...(quick ? ['--quick'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 15 * 60_000 },
  );
  if (r.status !== 0 || !existsSync(json)) return { notRun: `bench/compression.mjs failed (${r.status})` };
  return JSON.parse(readFileSync(json, 'utf8'));
}

// ---- The cluster: one node, three nodes straight and through each proxy (bench/cluster.mjs).
function runCluster() {
  if (args.peers && !args.peers.split(',').includes('cluster'))
    return { notRun: 'not selected (--peers without cluster)' };
  return clusterScenario({
    ssebench,
    subscribers: CLUSTER_N,
    rates: CLUSTER_RATES,
    seconds: DURATION,
    logRate: quick ? 100 : 1000,
    repeats: Number(args.repeats ?? 1),
    setups: selectSetups(args.setups),
    tmp,
    log,
  });
}

function commandLine() {
  return `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
}

// ---- Run.
log(`${quick ? 'quick' : 'full'} run: ${N} subscribers, ${DURATION}s per measurement; ${pinNote}`);
if (args.only === 'cluster') {
  // The other scenarios' figures stay as the saved run has them; only the cluster's are new.
  const saved = JSON.parse(readFileSync(out.replace(/\.md$/, '.json'), 'utf8'));
  saved.cluster = { ...(await runCluster()), started: started.toISOString(), command: commandLine() };
  writeReport(saved, out);
  log(`wrote the cluster scenario into ${relative(process.cwd(), out)}`);
  process.exit(0);
}
const results = [];
for (const peer of peers) results.push(await runPeer(peer));
const cluster = await runCluster();
const check = await instrumentCheck();
const compression = compressionScenario();
machine.loadAtEnd = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const minutes = ((Date.now() - started) / 60_000).toFixed(1);

// ---- Report.
const command = commandLine();
const busy = Number(machine.loadAtStart.split(' ')[0]) > 1.5 || Number(machine.loadAtEnd.split(' ')[0]) > 1.5;
const notes = busy
  ? [
      `The machine was shared with other work during this run (load average ${machine.loadAtStart} at the start, ${machine.loadAtEnd} at the end, on ${machine.cores} cores): the pinned cores were not ours alone, so absolute figures are pessimistic. Compare servers within the run.`,
    ]
  : [];
const report = {
  notes,
  machine,
  quick,
  N,
  DURATION,
  RATES,
  TOPIC_RATE,
  BACKLOG,
  results,
  cluster,
  check,
  compression,
  minutes,
  started: started.toISOString(),
  command,
  pinNote,
  protocolTable,
};
writeReport(report, out);
log(`wrote ${relative(process.cwd(), out)} in ${minutes} min`);
process.exit(0);
