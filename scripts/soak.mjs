#!/usr/bin/env node
// The soak: `crier serve` holds N subscribers for D minutes with steady publishing and churn (connections
// closing and reconnecting with Last-Event-ID); prints the hub's RSS over time and the updates any client
// lost or got twice. Exits 1 on a loss, a duplicate or a client that never caught up.
//
//   npm run soak                                     # 10,000 connections, 10 minutes
//   npm run soak -- --connections 2000 --minutes 1 --rate 50 --churn 0.01
//
// Runs TypeScript sources through tsx: node --import tsx scripts/soak.mjs (what `npm run soak` does).
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '10' },
    workers: { type: 'string' },
    rate: { type: 'string', default: '20' },
    churn: { type: 'string', default: '0.01' },
    sample: { type: 'string', default: '10' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run soak -- [--connections 10000] [--minutes 10] [--workers N] [--rate 20] [--churn 0.01] [--sample 10]\n' +
      '  --rate    updates published per second (every subscriber gets each)\n' +
      '  --churn   share of connections closed and reopened with Last-Event-ID every second\n' +
      '  --sample  seconds between RSS samples\n' +
      '  --workers subscriber processes (default: one per 2,500 connections)',
  );
  process.exit(0);
}
const connections = Number(values.connections);
const options = {
  connections,
  durationMs: Number(values.minutes) * 60_000,
  workers: Number(values.workers ?? Math.max(1, Math.ceil(connections / 2500))),
  rate: Number(values.rate),
  churn: Number(values.churn),
  sampleMs: Number(values.sample) * 1000,
  log: (line) => console.log(line),
};
for (const [k, v] of Object.entries(options)) {
  if (typeof v === 'number' && !(v >= 0)) {
    console.error(`soak: --${k} must be a non-negative number`);
    process.exit(2);
  }
}

const { runSoak } = await import('../test/soak/soak.ts');
console.log(
  `soak: ${connections} connections over ${options.workers} processes for ${values.minutes} min, ` +
    `${options.rate} updates/s, churn ${options.churn * 100}%/s`,
);
const result = await runSoak(options);
const rss = result.rss.map(([, kib]) => kib);
const afterWarmup = result.rss.filter(([s]) => s >= 30).map(([, kib]) => kib);
const t = result.totals;
console.log('\nhub RSS over time (s: MiB)');
console.log(result.rss.map(([s, kib]) => `${s}: ${(kib / 1024).toFixed(1)}`).join('  '));
if (afterWarmup.length > 1) {
  const first = afterWarmup[0];
  const last = afterWarmup[afterWarmup.length - 1];
  console.log(
    `after 30 s: first ${(first / 1024).toFixed(1)} MiB, last ${(last / 1024).toFixed(1)} MiB, ` +
      `max ${(Math.max(...afterWarmup) / 1024).toFixed(1)} MiB (${(((last - first) / first) * 100).toFixed(1)} % change)`,
  );
}
console.log(
  `\nconnected ${result.connected}/${result.connections}; published ${result.published} updates ` +
    `(${result.publishFailures} publish failures); reconnects ${t.reconnects} (hub-closed ${t.serverClosed}, ` +
    `non-200 ${t.non200}, errors ${t.errors})`,
);
console.log(
  `clients that reached the last update: ${t.complete}/${t.connections}; lost ${t.lost}; duplicated ${t.duplicated}; ` +
    `hub ${result.hubAlive ? 'alive' : 'DEAD'}; peak RSS ${(Math.max(...rss) / 1024).toFixed(1)} MiB`,
);
const ok = result.hubAlive && t.lost === 0 && t.duplicated === 0 && t.complete === t.connections;
process.exit(ok ? 0 : 1);
