/**
 * Which patch format for delta updates: JSON Merge Patch (RFC 7396) or a Fossil delta (the `fossil-delta`
 * package), measured on what the demo apps publish — the sports simulator's match documents and the
 * ticker's ticks — with every update diffed against the previous update of its topic.
 *
 *   npx tsx bench/delta-formats.ts
 *
 * Prints, per stream: the updates, the mean `data` bytes sent in full, as a merge patch and as a Fossil
 * delta (a patch larger than the full data, or one that does not rebuild it exactly, counts as full), and
 * the microseconds per update each takes to encode once.
 */

import { randomUUID } from 'node:crypto';
import { applyStringDelta, createStringDelta } from 'fossil-delta';
import { SportsSimulator } from '../apps/sports/simulator.js';
import { TickerFeed } from '../apps/ticker/feed.js';
import type { StoredUpdate } from '../src/engines/engine.js';
import { opaqueIds, sequenceIds } from '../src/mercure/event-ids.js';
import { diffJson } from '../src/protocol/delta.js';
import { DeltaChoice, DeltaTopics } from '../src/server/delta.js';
import { PreparedEvent } from '../src/server/prepared.js';

interface Captured {
  topic: string;
  data: string;
  type?: string;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sports(minutes: number): Captured[] {
  const out: Captured[] = [];
  const outbox = {
    push(update: { topics: readonly string[]; data: string }) {
      out.push({ topic: update.topics[0]!, data: update.data, type: 'match' });
      return Promise.resolve('id');
    },
  };
  const sim = new SportsSimulator(outbox as never, { matches: 8, minuteMs: 1e9, random: seeded(7) });
  for (let m = 0; m < minutes; m++) sim.tick();
  sim.close();
  return out;
}

async function ticker(ticks: number): Promise<Captured[]> {
  const out: Captured[] = [];
  const publisher = {
    publish(update: { topics: readonly string[]; data: string }) {
      out.push({ topic: update.topics[0]!, data: update.data, type: 'tick' });
      return Promise.resolve({ ok: true, status: 200 });
    },
  };
  const feed = new TickerFeed(publisher as never, { symbols: 120, rate: 20, random: seeded(11) });
  // The feed stamps each tick with Date.now(): advance the clock 50 ms per tick, as a real feed at 20/s sees.
  const realNow = Date.now;
  let clock = realNow();
  Date.now = () => clock;
  for (let i = 0; i < ticks; i++) {
    clock += 50;
    feed.tick();
    await new Promise((resolve) => setImmediate(resolve)); // the publishes settle, as against a hub
  }
  feed.close();
  Date.now = realNow;
  return out;
}

function measure(name: string, updates: Captured[]): void {
  const last = new Map<string, string>();
  let full = 0;
  let merge = 0;
  let fossil = 0;
  let best = 0;
  let mergeNs = 0n;
  let fossilNs = 0n;
  let firsts = 0;
  for (const u of updates) {
    const bytes = Buffer.byteLength(u.data);
    full += bytes;
    const prev = last.get(u.topic);
    last.set(u.topic, u.data);
    if (prev === undefined) {
      firsts++;
      merge += bytes;
      fossil += bytes;
      best += bytes;
      continue;
    }
    let t = process.hrtime.bigint();
    const patch = diffJson(prev, u.data);
    mergeNs += process.hrtime.bigint() - t;
    merge += patch === null ? bytes : Buffer.byteLength(patch);
    t = process.hrtime.bigint();
    const delta = createStringDelta(prev, u.data);
    const exact = !delta.includes('\r') && applyStringDelta(prev, delta) === u.data;
    fossilNs += process.hrtime.bigint() - t;
    const f = exact && Buffer.byteLength(delta) < bytes ? Buffer.byteLength(delta) : bytes;
    const m = patch === null ? bytes : Buffer.byteLength(patch);
    fossil += f;
    best += Math.min(f, m);
  }
  const n = updates.length;
  const diffs = n - firsts;
  console.log(
    `${name}: ${n} updates (${firsts} firsts of their topic); data bytes per update: full ${(full / n).toFixed(1)}, ` +
      `merge patch ${(merge / n).toFixed(1)} (${((100 * merge) / full).toFixed(0)}%), ` +
      `fossil ${(fossil / n).toFixed(1)} (${((100 * fossil) / full).toFixed(0)}%), ` +
      `the smaller of the two ${(best / n).toFixed(1)} (${((100 * best) / full).toFixed(0)}%); ` +
      `encode µs per diff: merge ${(Number(mergeNs) / 1e3 / diffs).toFixed(2)}, fossil ${(Number(fossilNs) / 1e3 / diffs).toFixed(2)}`,
  );
}

/**
 * The bytes on the wire per event (the whole SSE event: `event:`, `id:`, `delta:` and `data:` lines) with
 * each ID form, without and with deltas, as the hub encodes them (PreparedEvent, DeltaTopics, DeltaChoice),
 * the offsets starting at 1,000,001 (a hub that has been up for a while).
 */
function wire(name: string, updates: Captured[]): void {
  const epoch = 'k3j5x9a2';
  const opaque = opaqueIds('an-ids-key-of-32-characters-long!');
  const forms: Record<string, (offset: number) => string> = {
    uuid: () => `urn:uuid:${randomUUID()}`,
    sequence: (offset) => sequenceIds.issue(`${epoch}-${offset}`),
    opaque: (offset) => opaque.issue(`${epoch}-${offset}`),
  };
  const rows: string[] = [];
  for (const [form, idOf] of Object.entries(forms)) {
    const topics = new DeltaTopics();
    topics.subscribers = 1;
    const choice = new DeltaChoice();
    let plain = 0;
    let delta = 0;
    updates.forEach((u, i) => {
      const offset = 1_000_001 + i;
      const stored: StoredUpdate = {
        topics: [u.topic],
        data: u.data,
        id: idOf(offset),
        event: u.type,
        offset,
        epoch,
        time: 0,
      };
      const event = PreparedEvent.ofUpdate(stored);
      topics.link(event);
      plain += event.payload.length;
      delta += choice.pick(event).payload.length;
    });
    const n = updates.length;
    rows.push(
      `${form} ${(plain / n).toFixed(1)} B, with deltas ${(delta / n).toFixed(1)} B (${((100 * delta) / plain).toFixed(0)}%)`,
    );
  }
  console.log(`${name}, SSE bytes per event by ID form: ${rows.join('; ')}`);
}

const sportsUpdates = sports(90);
const tickerUpdates = await ticker(100);
measure('sports (8 matches, 90 minutes)', sportsUpdates);
measure('ticker (120 symbols, 100 ticks)', tickerUpdates);
wire('sports', sportsUpdates);
wire('ticker', tickerUpdates);
