/**
 * Micro-benchmark of the protocol core: encoding and parsing, in events/s and MB/s.
 * Run: `node --import tsx bench/protocol.bench.ts` (part of `npm run bench`). Prints a markdown table.
 */
import { EventStreamParser, encodeEvent, encodeEventText } from '../src/protocol/index.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const SECONDS = quick ? 0.3 : 1.5;

interface Row {
  name: string;
  eventsPerSecond: number;
  megabytesPerSecond: number;
}

/** Runs `round` until SECONDS have passed (after a warm-up); `round` returns [events, bytes] it handled. */
function measure(name: string, round: () => [number, number]): Row {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) round();
  let events = 0;
  let bytes = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    const [e, b] = round();
    events += e;
    bytes += b;
    elapsed = performance.now() - start;
  } while (elapsed < SECONDS * 1000);
  const seconds = elapsed / 1000;
  return { name, eventsPerSecond: events / seconds, megabytesPerSecond: bytes / seconds / 1e6 };
}

const small = JSON.stringify({ symbol: 'ACME', price: 123.45, change: -0.12, t: 1_732_000_000_000_000 });
const multiLine = Array.from({ length: 16 }, (_, i) => `{"line":${i},"text":"${'x'.repeat(48)}"}`).join('\n');
const unicode = JSON.stringify({ user: 'Zoë', text: 'Goal! ⚽ 2–1 in the 89′ — what a finish 😀'.repeat(4) });

function encodeRound(data: string, ids: boolean): () => [number, number] {
  let n = 0;
  return () => {
    let bytes = 0;
    for (let i = 0; i < 1000; i++) {
      bytes += encodeEvent(ids ? { data, id: String(n++), event: 'price' } : { data }).length;
    }
    return [1000, bytes];
  };
}

function streamOf(data: string, count: number): Uint8Array {
  let text = '';
  for (let i = 0; i < count; i++) text += encodeEventText({ data, id: String(i), event: 'price' });
  return new TextEncoder().encode(text);
}

function parseRound(stream: Uint8Array, chunkSize: number, expected: number): () => [number, number] {
  return () => {
    let events = 0;
    const parser = new EventStreamParser({ onEvent: () => events++ });
    for (let at = 0; at < stream.length; at += chunkSize) parser.push(stream.subarray(at, at + chunkSize));
    parser.end();
    if (events !== expected) throw new Error(`parsed ${events} events, expected ${expected}`);
    return [events, stream.length];
  };
}

const smallStream = streamOf(small, 20_000);
const multiStream = streamOf(multiLine, 2_000);
const unicodeStream = streamOf(unicode, 10_000);

const rows: Row[] = [
  measure(`encode: small JSON (${small.length} B)`, encodeRound(small, false)),
  measure('encode: small JSON + id + event', encodeRound(small, true)),
  measure(`encode: 16-line data (${multiLine.length} B)`, encodeRound(multiLine, true)),
  measure(`encode: non-ASCII JSON (${unicode.length} chars)`, encodeRound(unicode, true)),
  measure('parse: small events, 64 KiB chunks', parseRound(smallStream, 65_536, 20_000)),
  measure('parse: small events, 1 KiB chunks', parseRound(smallStream, 1024, 20_000)),
  measure('parse: 16-line events, 64 KiB chunks', parseRound(multiStream, 65_536, 2_000)),
  measure('parse: non-ASCII events, 16 KiB chunks', parseRound(unicodeStream, 16_384, 10_000)),
];

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`### Protocol core (node ${process.version}, ${SECONDS} s per row)\n`);
console.log('| operation | events/s | MB/s |');
console.log('|---|---:|---:|');
for (const row of rows) {
  console.log(`| ${row.name} | ${fmt(row.eventsPerSecond)} | ${fmt(row.megabytesPerSecond, 1)} |`);
}
