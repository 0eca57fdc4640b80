// The cluster scenario of `npm run bench` (issue 21): one node against three nodes over the same Redis,
// reached straight (the subscribers spread evenly over the nodes) and through each proxy, with 10,000
// subscribers and publishes from the C client (../shared/bench/ssebench.c, `--ssebench`), pinned to core 1.
// Every server process (nodes, proxy) runs on core 0, so the figures show what the proxy hop and the shared
// log cost per delivery, not what more cores buy; Redis runs where it was started (its CPU is measured).
//
// For each set-up, on a fresh start: a first (cold) connect storm of N subscribers, closed; then at each
// rate a new storm (the first of them is the warm storm), the publisher for the measured window, and from
// /proc each process's CPU time (utime+stime) over that window: the nodes, the proxy and Redis, plus
// Redis's network bytes (INFO stats), so the proxy's and Redis's cost per delivery and per node show.
// Set-ups without a proxy then measure the shared log alone (publishes only, 1,000/s) with Redis's own
// per-command counters (INFO commandstats): what each node following the log costs Redis per update.
//
// A set-up is one entry of SETUPS: how to start it (pinned to core 0) and where its subscribers and its
// publisher go. A proxy is one more entry.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { descendantPids } from '../dist/bench/index.js';
import { freePort } from '../dist/cli/free-port.js';
import { KEY, publisherToken } from './peers/crier-hub.mjs';
import { repoRoot, waitListening } from './peers/support.mjs';

const bin = `${repoRoot}bin/crier.js`;
export const REDIS_URL = process.env.CRIER_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
/** Every key the scenario writes starts with this; it is cleared before and after. */
const PREFIX = '{crier-bench}:';
const HUB_PATH = '/.well-known/mercure';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What every node gets after `--`: the bench's publisher key, anonymous subscribers, its own log. */
const nodeArgs = (name) => [
  '--publisher-jwt-key',
  KEY,
  '--anonymous',
  '--redis-prefix',
  `${PREFIX}${name}:`,
  '--log-level',
  'warn',
];

/** `crier cluster` with `nodes` nodes; `extra` are more `crier cluster` options (e.g. a proxy). */
const crierCluster = (nodes, name, extra = []) => ({
  command: ({ port }) => [
    process.execPath,
    bin,
    'cluster',
    '--nodes',
    String(nodes),
    '--port',
    String(port),
    '--store',
    REDIS_URL,
    ...extra,
    '--',
    ...nodeArgs(name),
  ],
  // `crier cluster` prints `  node http://127.0.0.1:PORT` for each node once all are up.
  nodeUrls: (stdout) => [...stdout.matchAll(/^\s+node (http:\/\/\S+)$/gm)].map((m) => m[1]),
});

/** 3 nodes through `crier cluster --proxy <proxy>`; `processName` is the balancer's (for its CPU). */
const throughProxy = (proxy, processName, label) => ({
  name: `${proxy}-3`,
  label,
  proxy: processName,
  // Two workers or processes where the balancer has them, as on this 2-core machine (see nginx-3).
  ...crierCluster(3, proxy, ['--proxy', proxy, '--nginx-workers', '2']),
  fronts: (port) => [`http://127.0.0.1:${port}`],
});

/**
 * The set-ups, in the order they are measured. Each: `name`, `label`, `proxy` (the process name whose CPU
 * is the proxy's, or null), `command({ port, tmp })` (argv, started with `taskset -c 0`), and `fronts(port,
 * stdout)`: the base URLs the subscribers are spread over (the publisher uses the first).
 */
export const SETUPS = [
  {
    name: 'one-node',
    label: 'one node',
    proxy: null,
    command: ({ port }) => [
      process.execPath,
      bin,
      'serve',
      '--port',
      String(port),
      '--store',
      REDIS_URL,
      ...nodeArgs('one'),
    ],
    fronts: (port) => [`http://127.0.0.1:${port}`],
  },
  {
    name: 'direct-3',
    label: '3 nodes, clients straight to the nodes',
    proxy: null,
    ...crierCluster(3, 'direct'),
    // nginx runs idle beside the nodes: no subscriber or publish goes through it.
    fronts(_port, stdout) {
      return this.nodeUrls(stdout);
    },
  },
  {
    name: 'nginx-3',
    label: '3 nodes through nginx (L7, `crier cluster`)',
    proxy: 'nginx',
    // Two workers, as on a 2-core machine: under `taskset -c 0` `crier cluster` sees one core and would
    // run one, and one worker cannot hold 2 × 10,000 connections under a 20,000 open-files limit.
    ...crierCluster(3, 'nginx', ['--nginx-workers', '2']),
    fronts: (port) => [`http://127.0.0.1:${port}`],
  },
  throughProxy('haproxy', 'haproxy', '3 nodes through HAProxy (L4, `mode tcp`)'),
  throughProxy('nginx-stream', 'nginx', '3 nodes through nginx `stream` (L4)'),
];

/** The set-ups named in `names` (comma-separated), or all. */
export function selectSetups(names) {
  if (!names) return SETUPS;
  const wanted = names.split(',');
  const unknown = wanted.filter((n) => !SETUPS.some((s) => s.name === n));
  if (unknown.length > 0)
    throw new Error(
      `unknown cluster set-up ${unknown.join(', ')}; known: ${SETUPS.map((s) => s.name).join(', ')}`,
    );
  return SETUPS.filter((s) => wanted.includes(s.name));
}

/** Why the scenario cannot run here, or null. */
export async function clusterCheck({ ssebench }) {
  if (!ssebench)
    return 'the cluster scenario measures with the C client: pass --ssebench /path/to/ssebench (gcc -O2 -o /tmp/ssebench ../shared/bench/ssebench.c -lm)';
  if (spawnSync(ssebench, ['help'], { stdio: 'ignore' }).error) return `${ssebench} cannot be run`;
  if (spawnSync('/usr/sbin/nginx', ['-v'], { stdio: 'ignore' }).status !== 0)
    return 'nginx is not installed (apt-get install nginx-light)';
  try {
    await clearBenchKeys();
  } catch (error) {
    return `no Redis at ${REDIS_URL} (${error.message}); set CRIER_BENCH_REDIS`;
  }
  return null;
}

/** Deletes the keys the scenario wrote (history streams and indexes under PREFIX). */
export async function clearBenchKeys() {
  await withRedis(async (redis) => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  });
}

async function withRedis(use) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Redis's pid and network byte counters, from INFO. */
async function redisStats() {
  return withRedis(async (redis) => {
    const info = await redis.info('everything');
    const field = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
    // Redis's own accounting per command: `cmdstat_xread:calls=165,usec=7055,...`.
    const perCommand = {};
    for (const m of info.matchAll(/^cmdstat_(\S+):calls=(\d+),usec=(\d+)/gm))
      perCommand[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
    return {
      pid: field('process_id'),
      inBytes: field('total_net_input_bytes'),
      outBytes: field('total_net_output_bytes'),
      commands: field('total_commands_processed'),
      perCommand,
    };
  });
}

/** What Redis did between two `redisStats`: bytes, commands, and calls and µs per command name. */
function redisDelta(before, after) {
  const perCommand = {};
  for (const [name, now] of Object.entries(after.perCommand)) {
    const was = before.perCommand[name] ?? { calls: 0, usec: 0 };
    if (name !== 'info' && now.calls > was.calls)
      perCommand[name] = { calls: now.calls - was.calls, usec: now.usec - was.usec };
  }
  return {
    inBytes: after.inBytes - before.inBytes,
    outBytes: after.outBytes - before.outBytes,
    commands: after.commands - before.commands,
    perCommand,
  };
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime+stime of `pid` in seconds (every thread), or 0 once it is gone. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '';
  }
}

/** CPU seconds so far of the set-up's nodes and proxy (by process name) and of Redis. */
function cpuSnapshot(rootPids, proxy, redisPid) {
  const snap = { nodes: 0, proxy: 0, redis: redisPid ? cpuSeconds(redisPid) : 0, at: performance.now() };
  for (const pid of rootPids.flatMap((root) => [root, ...descendantPids(root)])) {
    const name = comm(pid);
    if (proxy !== null && name === proxy) snap.proxy += cpuSeconds(pid);
    else if (name === 'node' || name.startsWith('crier')) snap.nodes += cpuSeconds(pid);
  }
  return snap;
}

/** Spawns `argv` on core 0, its stderr to `logFile`; resolves to { child, stdout(), stop() }. */
function spawnPinned(argv, logFile) {
  const child = spawn('taskset', ['-c', '0', ...argv], { stdio: ['ignore', 'pipe', openSync(logFile, 'a')] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  return {
    child,
    stdout: () => stdout,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Starts a set-up on core 0; resolves to { pids, fronts, stop() }. */
async function startSetup(setup, tmp) {
  const port = await freePort();
  const logFile = join(tmp, `${setup.name}-${port}.log`);
  const main = spawnPinned(setup.command({ port, tmp }), logFile);
  const started = [main];
  const stop = async () => {
    for (const p of started.reverse()) await p.stop();
  };
  const fail = async (what) => {
    await stop();
    throw new Error(`${setup.name}: ${what}: ${readFileSync(logFile, 'utf8').slice(-600)}`);
  };
  if (!(await waitListening(port, main.child, 30_000))) await fail(`did not listen on ${port}`);
  // `crier cluster` prints its nodes once nginx is up, just after the port answers.
  for (let i = 0; i < 50 && setup.nodeUrls && setup.nodeUrls(main.stdout()).length === 0; i++)
    await sleep(100);
  await sleep(500);
  const fronts = setup.fronts(port, main.stdout());
  if (fronts.length === 0) await fail('no front door found in its output');
  return { pids: started.map((p) => p.child.pid), fronts, stop };
}

/**
 * `ssebench sub` on core 1: `count` subscribers spread evenly over `fronts` (one client process per front,
 * 16 source addresses each), held `hold` seconds once all are connected. `connected` resolves when every
 * client process has connected all of its share; `done` to the merged figures.
 */
function subscribe(ssebench, fronts, count, hold) {
  const clients = fronts.map((front, i) => {
    const share = Math.floor(count / fronts.length) + (i < count % fronts.length ? 1 : 0);
    const child = spawn(
      'taskset',
      [
        '-c',
        '1',
        ssebench,
        'sub',
        '-u',
        `${front}${HUB_PATH}?topic=t`,
        '-c',
        String(share),
        '-S',
        '16',
        '-d',
        String(hold),
        '-w',
        '60',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    const connected = new Promise((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/holding/.test(stderr)) resolve();
      });
      child.once('exit', resolve);
    });
    const done = new Promise((resolve) => child.once('exit', () => resolve(keyValues(stdout))));
    return { connected, done };
  });
  return {
    connected: Promise.all(clients.map((c) => c.connected)),
    done: Promise.all(clients.map((c) => c.done)).then(merge),
  };
}

/** One line of `key=value` figures as numbers. */
function keyValues(line) {
  return Object.fromEntries(
    line
      .trim()
      .split(/\s+/)
      .filter((p) => p.includes('='))
      .map((p) => {
        const [k, v] = p.split('=');
        return [k, Number(v)];
      }),
  );
}

/**
 * The client processes' figures as one: counts add up, the connect time is the slowest's, and each
 * percentile is the highest of the processes' (their histograms are not merged, so this never understates).
 */
function merge(parts) {
  const sum = (k) => parts.reduce((a, p) => a + (p[k] ?? 0), 0);
  const max = (k) => Math.max(...parts.map((p) => p[k] ?? Number.NaN));
  return {
    // ssebench's `connected` counts every response head; `non200` those that were not 200.
    connected: sum('connected') - sum('non200'),
    refused: sum('non200'),
    failed: sum('failed'),
    closedEarly: sum('closed_early'),
    connectSeconds: max('connect_s'),
    events: sum('events'),
    p50: max('p50_ms'),
    p90: max('p90_ms'),
    p99: max('p99_ms'),
    max: max('max_ms'),
  };
}

/** `ssebench pub` on core 1: `rate` publishes/s for `seconds` to `front`, over 2 keep-alive connections. */
function publish(ssebench, front, rate, seconds, token) {
  const r = spawnSync(
    'taskset',
    [
      '-c',
      '1',
      ssebench,
      'pub',
      '-u',
      `${front}${HUB_PATH}`,
      '-r',
      String(rate),
      '-d',
      String(seconds),
      '-k',
      '2',
      '-b',
      'topic=t&data={"t":%T}',
      '-H',
      `Authorization: Bearer ${token}`,
    ],
    { encoding: 'utf8' },
  );
  return keyValues(r.stdout ?? '');
}

/** A fresh set-up: the cold storm, then each rate on a new storm of `subscribers`. */
async function measureSetup(setup, { ssebench, subscribers, rates, seconds, logRate, tmp, token, log }) {
  const result = { setup: setup.name, label: setup.label, proxy: setup.proxy, storms: [], rows: [] };
  const server = await startSetup(setup, tmp);
  try {
    result.nodes = server.fronts.length > 1 ? server.fronts.length : undefined;
    log(`cluster: ${setup.label}: cold storm of ${subscribers}`);
    const cold = subscribe(ssebench, server.fronts, subscribers, 0.5);
    const coldFigures = await cold.done;
    result.storms.push({
      kind: 'cold',
      seconds: coldFigures.connectSeconds,
      connected: coldFigures.connected,
      refused: coldFigures.refused,
    });
    await sleep(2000);
    for (const rate of rates) {
      log(`cluster: ${setup.label}: ${subscribers} x ${rate}/s`);
      const held = subscribe(ssebench, server.fronts, subscribers, seconds + 4);
      await held.connected;
      await sleep(1000);
      const redis0 = await redisStats();
      const cpu0 = cpuSnapshot(server.pids, setup.proxy, redis0.pid);
      const pub = publish(ssebench, server.fronts[0], rate, seconds, token);
      const cpu1 = cpuSnapshot(server.pids, setup.proxy, redis0.pid);
      const redis1 = await redisStats();
      const sub = await held.done;
      if (result.storms.length === 1)
        result.storms.push({
          kind: 'warm',
          seconds: sub.connectSeconds,
          connected: sub.connected,
          refused: sub.refused,
        });
      const window = (cpu1.at - cpu0.at) / 1000;
      // What the publisher sent (its pacing sends one fewer than rate × seconds), skipped ones included.
      const asked = pub.pub_sent ?? rate * seconds;
      result.rows.push({
        rate,
        subscribers: sub.connected,
        subscribersRefused: sub.refused,
        connectSeconds: sub.connectSeconds,
        asked,
        acknowledged: pub.pub_ok ?? 0,
        publishesRefused: pub.pub_bad ?? 0,
        skipped: pub.pub_skipped ?? 0,
        expected: asked * subscribers,
        delivered: sub.events,
        closedEarly: sub.closedEarly,
        failed: sub.failed,
        p50: sub.p50,
        p90: sub.p90,
        p99: sub.p99,
        max: sub.max,
        window,
        cpu: {
          nodes: cpu1.nodes - cpu0.nodes,
          proxy: cpu1.proxy - cpu0.proxy,
          redis: cpu1.redis - cpu0.redis,
        },
        redis: redisDelta(redis0, redis1),
      });
      await sleep(1500);
    }
    if (setup.proxy === null && logRate > 0) {
      // The shared log alone: no subscriber, `logRate` publishes/s straight to the first node, so Redis's
      // cost per update and per following node stands out of the idle noise (its own per-command counters).
      log(`cluster: ${setup.label}: the log alone, ${logRate} publishes/s`);
      const redis0 = await redisStats();
      const cpu0 = cpuSnapshot(server.pids, setup.proxy, redis0.pid);
      const pub = publish(ssebench, server.fronts[0], logRate, seconds, token);
      const cpu1 = cpuSnapshot(server.pids, setup.proxy, redis0.pid);
      const redis1 = await redisStats();
      result.log = {
        rate: logRate,
        nodes: server.fronts.length,
        sent: pub.pub_sent ?? 0,
        acknowledged: pub.pub_ok ?? 0,
        window: (cpu1.at - cpu0.at) / 1000,
        cpu: { nodes: cpu1.nodes - cpu0.nodes, redis: cpu1.redis - cpu0.redis },
        redis: redisDelta(redis0, redis1),
      };
    }
  } finally {
    await server.stop();
  }
  return result;
}

/**
 * Runs the scenario: every set-up `repeats` times, alternated (A B C, A B C), each on a fresh start.
 * Set-ups without a proxy also measure the log alone at `logRate` publishes/s. Resolves to { N, rates,
 * seconds, logRate, runs } or { notRun }.
 */
export async function clusterScenario({
  ssebench,
  subscribers,
  rates,
  seconds,
  logRate = 1000,
  repeats = 1,
  setups,
  tmp,
  log,
}) {
  const reason = await clusterCheck({ ssebench });
  if (reason) {
    log(`cluster: not run: ${reason}`);
    return { notRun: reason };
  }
  const dir = join(tmp, 'cluster');
  mkdirSync(dir, { recursive: true });
  const token = await publisherToken();
  const runs = [];
  try {
    for (let round = 1; round <= repeats; round++) {
      for (const setup of setups) {
        await clearBenchKeys().catch(() => {});
        try {
          runs.push({
            round,
            ...(await measureSetup(setup, {
              ssebench,
              subscribers,
              rates,
              seconds,
              logRate,
              tmp: dir,
              token,
              log,
            })),
          });
        } catch (error) {
          runs.push({ round, setup: setup.name, label: setup.label, error: error.message });
          log(`cluster: ${setup.label}: ${error.message}`);
        }
      }
    }
  } finally {
    await clearBenchKeys().catch(() => {});
  }
  return { N: subscribers, rates, seconds, logRate, runs };
}
