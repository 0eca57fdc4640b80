#!/usr/bin/env node
// How big an independent deflate block is, and what it costs, for ticker-like events written together:
// by burst size (events per write), ID form (`urn:uuid:` as the hub makes, or a compact sequence) and
// compressor settings (window bits, level). One block per write, compressed once for every subscriber, so
// the cost is per write, not per delivery. `node bench/compression-blocks.mjs` prints a Markdown table.
import { randomUUID } from 'node:crypto';
import { constants, deflateRawSync } from 'node:zlib';

const SYMBOLS = ['QNX', 'NIM', 'COR', 'BYT', 'HEL', 'SYN', 'LAT', 'VEC', 'PHO', 'KER', 'SOL', 'WIN'];
let seq = 100_000;
function event(i, ids, t) {
  const id = ids === 'uuid' ? `urn:uuid:${randomUUID()}` : `#${seq++}`;
  const price = (100 + ((i * 37) % 900) / 10).toFixed(2);
  const change = (((i * 13) % 200) / 100 - 1).toFixed(2);
  const data = `{"symbol":"${SYMBOLS[i % SYMBOLS.length]}","price":${price},"change":${change},"volume":${10_000 + ((i * 7919) % 90_000)},"t":${t}}`;
  return `id: ${id}\ndata: ${data}\n\n`;
}

const rows = [];
for (const ids of ['uuid', 'compact']) {
  for (const burst of [1, 12, 119]) {
    const writes = Array.from({ length: 200 }, (_, w) =>
      Buffer.from(
        Array.from({ length: burst }, (_, i) => event(w * burst + i, ids, 1_700_000_000_000 + w)).join(''),
      ),
    );
    const plain = writes.reduce((s, b) => s + b.length, 0) / (writes.length * burst);
    for (const [windowBits, level] of [
      [9, 6],
      [12, 1],
      [12, 6],
      [12, 9],
      [15, 6],
    ]) {
      const options = { windowBits, level, memLevel: 8, finishFlush: constants.Z_SYNC_FLUSH };
      for (const w of writes.slice(0, 20)) deflateRawSync(w, options); // warm
      const started = process.hrtime.bigint();
      let bytes = 0;
      for (const w of writes) bytes += deflateRawSync(w, options).length;
      const ns = Number(process.hrtime.bigint() - started);
      rows.push({
        ids,
        burst,
        windowBits,
        level,
        plain: plain.toFixed(1),
        compressed: (bytes / (writes.length * burst)).toFixed(1),
        ratio: (plain / (bytes / (writes.length * burst))).toFixed(2),
        usPerWrite: (ns / writes.length / 1000).toFixed(1),
      });
    }
  }
}
console.log(`node ${process.version}; 200 writes per row\n`);
console.log(
  '| IDs | events per write | window bits | level | bytes/event plain | bytes/event compressed | ratio | µs per write (once for all subscribers) |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.ids} | ${r.burst} | ${r.windowBits} | ${r.level} | ${r.plain} | ${r.compressed} | ${r.ratio}× | ${r.usPerWrite} |`,
  );
