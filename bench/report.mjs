// Writes docs/benchmarks.md (and the .svg chart and .json figures beside it) from a run's results.
// `node bench/run.mjs --render docs/benchmarks.json` re-renders the page from saved figures.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { throughputChart } from './chart.mjs';

export function writeReport(ctx, out) {
  const svgPath = out.replace(/\.md$/, '.svg');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, renderReport(ctx, out, svgPath));
  const run = ctx.results.filter((r) => !r.notRun);
  writeFileSync(
    svgPath,
    throughputChart(
      run.map((r) => ({
        name: r.label,
        points: r.fanout
          .filter((f) => !f.notRun)
          .map((f) => ({ x: f.perSecond, y: f.p99, label: `${f.rate}/s` })),
      })),
    ),
  );
  const json = out.replace(/\.md$/, '.json');
  writeFileSync(json, `${JSON.stringify(ctx, null, 2)}\n`);
  // Leave the figures formatted as the repository's linter wants them, when it is installed.
  const biome = new URL('../node_modules/.bin/biome', import.meta.url).pathname;
  if (existsSync(biome)) spawnSync(biome, ['format', '--write', json], { stdio: 'ignore' });
}

function cell(v, digits = 0) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  return typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : String(v);
}
function ratio(a, b) {
  if (!(a > 0) || !(b > 0)) return '–';
  return `${(a / b).toFixed(2)}×`;
}

export function renderReport(ctx, out, svgPath) {
  const {
    machine,
    quick,
    N,
    DURATION,
    RATES,
    TOPIC_RATE,
    BACKLOG,
    results,
    check,
    minutes,
    command,
    pinNote,
    protocolTable,
  } = ctx;
  const started = new Date(ctx.started);
  const notes = ctx.notes ?? [];
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
    'Latency is receive time minus the publish time the publisher wrote into each event (`{"t":<µs>}`), over every delivery, from an HDR-style histogram (values within 0.8 %). "Held" is deliveries received per second of publishing; "delivered" is the share of what a server that drops nothing would deliver; "load generator CPU" is the CPU the subscriber workers used, as a share of one core (they have core 1 to themselves only when the machine is otherwise idle; near 100 % the figure may be the limit of the generator rather than of the server); "subscribers dropped" counts subscriptions the server closed by the end of the measurement (a server that sheds slow consumers closes them; its clients would resume by replay). Figures drift from machine to machine and with other load on it: compare servers within one run.',
    '',
  );

  for (const note of notes) L.push(`> ${note}`, '');

  const notRun = results.filter((r) => r.notRun);
  if (notRun.length > 0) {
    L.push('## Not run', '');
    for (const r of notRun) L.push(`- ${r.label}: not run: ${r.notRun}`);
    L.push('');
  }

  L.push('## Fan-out: one topic, every subscriber gets every event', '');
  L.push(`![${'throughput against p99'}](${relative(dirname(out), svgPath)})`, '');
  L.push(
    '| events/s × subscribers | server | publishes answered/s | held deliveries/s | delivered | p50 ms | p90 ms | p99 ms | max ms | subscribers dropped | load generator CPU |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const rate of RATES) {
    for (const r of run) {
      const f = r.fanout.find((x) => x.rate === rate);
      if (!f)
        L.push(
          `| ${rate} × ${N} | ${r.label} | not run: ${r.errors.join('; ') || 'failed'} | | | | | | | | |`,
        );
      else if (f.notRun) L.push(`| ${rate} × ${N} | ${r.label} | not run: ${f.notRun} | | | | | | | | |`);
      else
        L.push(
          `| ${rate} × ${N} | ${r.label} | ${cell(f.publishedPerSecond)} | ${cell(f.perSecond)} | ${cell((100 * f.delivered) / Math.max(1, f.expected), 1)} % | ${cell(f.p50, 1)} | ${cell(f.p90, 1)} | ${cell(f.p99, 1)} | ${cell(f.max, 0)} | ${cell(f.closed)} | ${f.generatorCpu === undefined ? '–' : `${Math.round(f.generatorCpu * 100)} %`} |`,
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
  L.push(
    '',
    'The accept path on one core with the C client (10,000 connects, server CPU per storm, cold and warm ' +
      'process, bare node:http and nchan in the same run): [connect-storm.md](connect-storm.md), measured ' +
      'with `bench/connect-storm.mjs`.',
    '',
  );

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

  L.push(...clusterSection(ctx.cluster));

  L.push('## The instrument checked against an independent C client', '');
  if (check.notRun) L.push(`not run: ${check.notRun}`, '');
  else {
    L.push(
      'The same server and load measured by `crier bench` and by ssebench (an epoll client in C kept beside the project), one after the other:',
      '',
    );
    L.push(
      '| server | events/s × subscribers | client | connected in | held deliveries/s | p50 ms | p99 ms | client CPU |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const x of check.rows)
      L.push(
        x.error
          ? `| ${x.peer} | ${x.rate} | error: ${x.error} | | | | | |`
          : `| ${x.peer} | ${x.rate} × ${N} | ${x.tool} | ${cell(x.connectMs / 1000, 2)} s | ${cell(x.perSecond)} | ${cell(x.p50, 1)} | ${cell(x.p99, 1)} | ${x.generatorCpu === undefined ? '–' : `${Math.round(x.generatorCpu * 100)} %`} |`,
      );
    L.push('');
  }

  L.push(...compressionSection(ctx.compression));
  L.push('## Protocol core micro-benchmark (bench/protocol.bench.ts)', '', protocolTable, '');
  const errs = results.filter((r) => r.errors.length > 0);
  if (errs.length > 0) {
    L.push('## Errors', '');
    for (const r of errs) L.push(`- ${r.label}: ${r.errors.join('; ')}`);
    L.push('');
  }
  L.push(METHOD);
  return `${L.join('\n')}\n`;
}

/** Compression off against on (bench/compression.mjs): bytes, CPU and latency per delivery, with ratios. */
export function compressionSection(c) {
  const L = ['## Compression', ''];
  if (c === undefined) return [...L, 'not run: this run predates the compression scenario', ''];
  if (c.notRun) return [...L, `not run: ${c.notRun}`, ''];
  L.push(
    `\`crier serve\` (\`urn:uuid:\` IDs), ${c.N.toLocaleString('en-US')} subscribers on one topic sending \`Accept-Encoding: gzip\` (the C client holds all but ${c.decoders ?? 20}, which decode and check every event), ticker-like updates (~100 bytes of JSON) published in one burst a second of \`rate\` updates, ${c.DURATION} s per row. Bytes are what the server wrote (/proc/PID/io \`wchar\`, chunk framing included) per delivery; CPU is the server's (user + system) per delivery; latency is measured by the decoding subscribers. \`--compression off\` and \`on\` run one after the other on the same machine.`,
    '',
    '| deliveries/s | compression | bytes/delivery | bytes on/off | CPU µs/delivery | CPU on/off | p50 ms | p99 ms | p99 on/off | every event arrived | idle RSS KiB/subscriber |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  const off = c.results.find((m) => m.mode === 'off');
  for (const m of c.results) {
    for (const row of m.rows) {
      const base = off?.rows.find((x) => x.rate === row.rate);
      const vs = (a, b) => (m.mode === 'off' || b === undefined ? '' : ratio(a, b));
      L.push(
        `| ${cell(row.deliveriesPerSecond)} | ${m.mode} (${row.encoding}) | ${cell(row.bytesPerDelivery, 1)} | ${vs(row.bytesPerDelivery, base?.bytesPerDelivery)} | ${cell(row.cpuUsPerDelivery, 2)} | ${vs(row.cpuUsPerDelivery, base?.cpuUsPerDelivery)} | ${cell(row.p50, 1)} | ${cell(row.p99, 1)} | ${vs(row.p99, base?.p99)} | ${row.everyEventArrived ? 'yes' : `no (${row.decodersMissing} missing)`} | ${cell(m.idleKiBPerSubscriber, 2)} |`,
      );
    }
  }
  L.push('');
  return L;
}

/** The cluster scenario (bench/cluster.mjs): the table per set-up and rate, the storms, the costs. */
function clusterSection(cluster) {
  const L = ['## Cluster: one node, 3 nodes straight and through a proxy', ''];
  if (cluster === undefined) return [...L, 'not run: this run predates the cluster scenario', ''];
  if (cluster.notRun) return [...L, `not run: ${cluster.notRun}`, ''];
  if (!cluster.runs) return [...L, 'not run: these figures come from an earlier form of the scenario', ''];
  const pct = (a, b) => `${cell((100 * a) / Math.max(1, b), 1)} %`;
  const share = (seconds, window) => `${cell((100 * seconds) / window)} %`;
  const perDelivery = (seconds, deliveries) => (deliveries > 0 ? cell((seconds * 1e6) / deliveries, 1) : '–');
  L.push(
    `${cluster.N.toLocaleString('en-US')} subscribers on one topic, ${cluster.rates.join(', ')} events/s for ${cluster.seconds} s each, subscribers and publisher from the C client (ssebench, core 1); every node and proxy process on core 0, Redis where it runs. Each set-up starts fresh, ${cluster.runs.some((r) => r.round > 1) ? 'set-ups alternated, twice; ' : ''}straight to the nodes, the subscribers are spread evenly over them and the publisher posts to the first. CPU is each process's utime+stime from /proc over the publishing window, in % of one core; µs per delivery is that CPU time divided by the deliveries counted. Subscribers connected are those answered 200 (a subscriber refused or not connected in time gets nothing, and counts against delivered, which is of the publishes sent × all subscribers); a publish is acknowledged when its 2xx arrived before the publisher stopped (0.3 s after the window). Latency percentiles are the highest of the client processes'.`,
    '',
    '| deliveries/s asked | set-up | run | subscribers connected | delivered | publishes acknowledged | p50 ms | p99 ms | nodes CPU | proxy CPU | Redis CPU | nodes µs/delivery | proxy µs/delivery |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  const rows = cluster.runs.flatMap((run) => (run.rows ?? []).map((row) => ({ run, row })));
  rows.sort((x, y) => x.row.rate - y.row.rate || order(x.run) - order(y.run) || x.run.round - y.run.round);
  function order(run) {
    return cluster.runs.findIndex((r) => r.setup === run.setup);
  }
  for (const { run, row } of rows) {
    L.push(
      `| ${cell((row.rate * cluster.N) / 1000, 1)}k | ${run.label} | ${run.round} | ${cell(answered200(row, cluster.N))} | ${pct(row.delivered, row.expected)} | ${pct(row.acknowledged, row.asked)} | ${cell(row.p50, 1)} | ${cell(row.p99, 1)} | ${share(row.cpu.nodes, row.window)} | ${run.proxy ? share(row.cpu.proxy, row.window) : '–'} | ${share(row.cpu.redis, row.window)} | ${perDelivery(row.cpu.nodes, row.delivered)} | ${run.proxy ? perDelivery(row.cpu.proxy, row.delivered) : '–'} |`,
    );
  }
  for (const run of cluster.runs.filter((r) => r.error || r.notRun))
    L.push(
      `| | ${run.label} | ${run.round} | ${run.error ? `error: ${run.error}` : `not run: ${run.notRun}`} | | | | | | | | |`,
    );
  L.push('', '### Connect storms: the first on a fresh set-up (cold) and the next (warm)', '');
  L.push('| set-up | run | cold: connected in | warm: connected in | cold / warm |', '|---|---|---|---|---|');
  for (const run of cluster.runs.filter((r) => r.storms?.length)) {
    const cold = run.storms.find((s) => s.kind === 'cold');
    const warm = run.storms.find((s) => s.kind === 'warm');
    L.push(
      `| ${run.label} | ${run.round} | ${cell(cold?.seconds, 2)} s (${cell(cold?.connected)}) | ${warm ? `${cell(warm.seconds, 2)} s (${cell(warm.connected)})` : '–'} | ${warm ? cell(cold.seconds / warm.seconds, 2) : '–'} |`,
    );
  }
  L.push('', ...clusterCosts(cluster), '');
  return L;
}

/**
 * Subscribers answered 200. Runs before `subscribersRefused` was recorded counted every response head as connected
 * and put the non-200 ones in `failed` with the connects that failed (N - connected of them).
 */
function answered200(row, N) {
  return row.subscribersRefused === undefined
    ? row.subscribers - (row.failed - (N - row.subscribers))
    : row.subscribers;
}

/**
 * What the rows say per unit: the proxy's µs per delivery and cores per node core (rows that delivered at
 * least 90 %), and Redis's CPU and bytes per update and per node (one node against three straight).
 */
function clusterCosts(cluster) {
  const healthy = (row) => row.delivered >= 0.9 * row.expected;
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)];
  };
  const rowsOf = (pred) => cluster.runs.filter(pred).flatMap((r) => (r.rows ?? []).filter(healthy));
  const L = ['### Per delivery and per node', ''];
  for (const proxy of [...new Set(cluster.runs.map((r) => r.proxy).filter(Boolean))]) {
    const rows = rowsOf((r) => r.proxy === proxy);
    if (rows.length === 0) continue;
    L.push(
      `- **${proxy}**: ${cell(median(rows.map((x) => (x.cpu.proxy * 1e6) / x.delivered)), 1)} µs of CPU per delivery (median of ${rows.length} measurements that delivered ≥ 90 %), against ${cell(median(rows.map((x) => (x.cpu.nodes * 1e6) / x.delivered)), 1)} µs for the nodes: ${cell(median(rows.map((x) => x.cpu.proxy / x.cpu.nodes)), 2)} proxy cores per node core.`,
    );
  }
  // The log alone (no subscriber, publishes straight to a node): Redis's cost per update, one node and three.
  const logs = (name) =>
    cluster.runs.filter((r) => r.setup === name && r.log?.acknowledged > 0).map((r) => r.log);
  const perUpdate = (name) => {
    const xs = logs(name);
    if (xs.length === 0) return undefined;
    const per = (f) => median(xs.map((x) => f(x) / x.acknowledged));
    const cmd = (x, name, what) => x.redis.perCommand[name]?.[what] ?? 0;
    return {
      runs: xs.length,
      rate: median(xs.map((x) => x.acknowledged / cluster.seconds)),
      cpuUs: per((x) => x.cpu.redis * 1e6),
      appendUs: per((x) => cmd(x, 'evalsha', 'usec')),
      xreads: per((x) => cmd(x, 'xread', 'calls')),
      xreadUs: per((x) => cmd(x, 'xread', 'usec')),
      outBytes: per((x) => x.redis.outBytes),
      inBytes: per((x) => x.redis.inBytes),
    };
  };
  const one = perUpdate('one-node');
  const three = perUpdate('direct-3');
  if (one && three) {
    L.push(
      '',
      `The shared log alone: ${cell(cluster.logRate)} publishes/s for ${cluster.seconds} s straight to one node, no subscriber (median of ${one.runs} and ${three.runs} runs); Redis's figures per update acknowledged, CPU from /proc, the rest from its own counters (\`INFO commandstats\`, \`INFO stats\`):`,
      '',
      '| nodes following | publishes acknowledged/s | Redis CPU µs | append script (EVALSHA) µs | XREAD calls | XREAD µs | bytes out | bytes in |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [nodes, x] of [
      [1, one],
      [3, three],
    ])
      L.push(
        `| ${nodes} | ${cell(x.rate)} | ${cell(x.cpuUs, 1)} | ${cell(x.appendUs, 1)} | ${cell(x.xreads, 2)} | ${cell(x.xreadUs, 1)} | ${cell(x.outBytes)} | ${cell(x.inBytes)} |`,
      );
    L.push(
      '',
      `Each node past the first costs Redis about ${cell((three.cpuUs - one.cpuUs) / 2, 1)} µs of CPU (its XREADs: ${cell((three.xreadUs - one.xreadUs) / 2, 1)} µs) and ${cell((three.outBytes - one.outBytes) / 2)} bytes out per update: every node reads every update.`,
    );
  }
  L.push(
    '',
    'docs/cluster.md ("Sizing the proxy", "Beyond a few nodes") turns these into sizing rules and the path to 8-64 nodes.',
  );
  return L;
}

const METHOD = `## How it is measured

- **Servers** run one at a time, each started fresh for each group of scenarios, pinned to core 0
  (\`taskset -c 0\`); the runner, its load generator workers and the publisher are pinned to core 1. A peer is
  one file in \`bench/peers/\` (start command, subscribe URL, publish URL and body, whether it can replay);
  a peer that cannot run is listed under "Not run" with the reason, never dropped.
- **The load generator** (\`crier-sse/bench\`, \`src/bench/\`) spreads the subscribers over worker processes
  (at most 9,000 sockets each) and over source addresses 127.0.0.2, .3, ... (16 per run, a different range for
  each group so TIME_WAIT ports never collide). Each worker reads raw HTTP/1.1 from \`net\` sockets into one
  shared buffer and scans the bytes without building strings: it de-chunks \`Transfer-Encoding: chunked\`,
  finds event ends and reads the integer after \`"t":\` in data lines. Latency is the receive time (read once
  per socket read) minus that publish time, in a log-linear histogram (exact below 256 µs, within 1/128
  above; percentiles never understate). Only events published inside a measurement count toward it: a
  backlog from an earlier, overloaded measurement is counted apart.
- **The publisher** sends POSTs at a paced rate over a few pipelined keep-alive connections (at most 64
  unanswered per connection; past that a due publish is skipped and counted), writing the send time in
  microseconds into the body (\`%T\`). It reconnects when a server closes a keep-alive connection.
- **Fan-out**: the subscribers connect (the connect storm: at most 256 connects in flight per worker),
  stay idle for a few seconds (RSS per subscriber: the server process tree's VmRSS from /proc, after minus
  before, divided by subscribers), then the publisher runs at each rate for the measurement time on the same
  subscribers, with a drain of up to 3 s after it. A server that delivers less than 90 % or has p99 above 5 s
  is overloaded; the higher rates are then reported as not run.
- **Reconnect storm**: a probe subscriber notes the id of one event, the backlog is published after it,
  then all subscribers connect at once with \`Last-Event-ID\` set to that id; the time is from the start of
  the storm until each has received the whole backlog. Servers without history cannot take part.
- **Many topics**: subscriber i subscribes to topic \`t<i>\` and publish j goes to topic \`t<j mod N>\`.
- **Cluster** (\`bench/cluster.mjs\`; needs \`--ssebench\`, Redis and nginx; HAProxy and nginx's stream module for the layer-4 set-ups): each set-up
  (one node; 3 nodes with the subscribers spread evenly over them; 3 nodes through each proxy) starts fresh
  on core 0, takes a first (cold) storm of all subscribers from the C client on core 1, closed, then at each
  rate a new storm (the first is the warm one), the publisher for the measured window and a 2.5 s drain.
  CPU per process is utime+stime from /proc over the window (the nodes, the proxy by process name, Redis by
  the pid its INFO gives). Without \`--ssebench\` (as in CI's quick run) it is reported as not run.
- **Limits of the instrument**: on this machine one core of the load generator opens about 4,000 connections
  a second (the C client: ~18,000; measured against nchan, 10,000 connects in 2.2–2.7 s against 0.56 s) and
  takes about 100k separate socket reads a second (≈ 8 µs of Node per read, scanning included; several events
  per read cost little more). So connect-storm and reconnect-storm times, and servers that write each event
  separately above ~60k deliveries/s, can be bounded by the instrument: the \`load generator CPU\` column and
  the C-client table show when.

## Run it yourself

\`\`\`sh
npm run bench                       # everything, ~20 minutes at 10,000 subscribers
npm run bench -- --quick            # smoke run, ~1 minute (what CI runs); writes to the temp dir
npm run bench -- --peers nchan,crier-library --connections 2000 --duration 5
npm run bench -- --ssebench /tmp/ssebench   # also check the instrument against the C client
npm run bench -- --only cluster --ssebench /tmp/ssebench --repeats 2   # the cluster scenario alone
node bench/run.mjs --render docs/benchmarks.json   # re-render this page from saved figures
\`\`\`

Against any SSE endpoint, with \`crier bench\`:

\`\`\`sh
crier bench sub http://127.0.0.1:8080/events -c 10000 -d 20
crier bench pub http://127.0.0.1:8080/publish -r 1000 -d 20 -b 'data={"t":%T}' -H 'Authorization: Bearer …'
crier bench fanout --url http://127.0.0.1:8080/events --publish-url http://127.0.0.1:8080/publish \\
  -r 6 -c 10000 -d 20 --server-pid $(pgrep -n my-server)
crier bench reconnect --url ... --publish-url ... -c 10000 --backlog 100
\`\`\`

\`%I\` in a URL or body spreads subscribers and publishes over \`--topics N\` topics. The subscriber needs
each event's data to carry \`"t":<microseconds since the epoch>\` for latency; events without it are counted.
`;
