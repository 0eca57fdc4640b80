/**
 * Compressed event streams, encoded once. What is written (one event, a group's batch, a run of queued
 * events) is deflated ONCE into an independent, byte-aligned raw-deflate block (a fresh compressor, ended by
 * a sync flush: no dictionary shared with any other block, no final-block bit), and the same bytes go to
 * every connection that gets it, whichever coding it negotiated: `gzip` and `deflate` (zlib format) differ
 * only in the header sent once at the start of a connection and the trailer sent at a clean end. A
 * connection keeps only what that framing needs (`StreamCoder`: its coding, a running check value and a
 * length: a few dozen bytes), never a compressor.
 *
 * Secrets (CRIME/BREACH): a private update is always a block of its own (`deflateEvents`), so its
 * compressed length depends on its own bytes only, never on data another publisher chose.
 *
 * `negotiateEncoding` reads `Accept-Encoding` (RFC 9110 §12.5.3) for every transport.
 */
import { crc32, deflateRawSync, constants as z } from 'node:zlib';
import { frameChunk } from './chunk.js';

/** The content codings Crier can send. */
export type Coding = 'gzip' | 'deflate';

export const CODINGS: readonly Coding[] = Object.freeze(['gzip', 'deflate']);

// ---- Accept-Encoding -------------------------------------------------------------------------------

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The coding to send for an `Accept-Encoding` request header, among `offered` (in the server's order of
 * preference): the acceptable one with the highest q-value, ties going to the server's order. `x-gzip` is
 * `gzip` (RFC 9110 §8.4.1.3), `*` stands for any coding not named, `q=0` excludes. No header, an empty one,
 * a malformed one, or nothing acceptable: null (identity, uncompressed), never an error; so is a request
 * whose `identity` is preferred over every coding offered.
 */
export function negotiateEncoding(
  header: string | readonly string[] | undefined | null,
  offered: readonly Coding[],
): Coding | null {
  if (header == null || offered.length === 0) return null;
  const text = typeof header === 'string' ? header : header.join(',');
  const weights = new Map<string, number>();
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const params = item.split(';');
    let name = params[0]!.trim().toLowerCase();
    if (!TOKEN.test(name)) return null;
    if (name === 'x-gzip') name = 'gzip';
    let q = 1;
    for (let i = 1; i < params.length; i++) {
      const param = params[i]!.trim();
      const eq = param.indexOf('=');
      if (eq < 0) return null;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param.slice(eq + 1).trim();
      if (key !== 'q') continue; // an extension parameter: ignored
      if (!QVALUE.test(value)) return null;
      q = Number(value);
    }
    // Named twice: the most favourable weight counts.
    weights.set(name, Math.max(q, weights.get(name) ?? 0));
  }
  const any = weights.get('*');
  let best: Coding | null = null;
  let bestQ = 0;
  for (const coding of offered) {
    const q = weights.get(coding) ?? any ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  const identity = weights.get('identity');
  if (best !== null && identity !== undefined && identity > bestQ) return null;
  return best;
}

const NO_CODING_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const VARY_ONLY: Readonly<Record<string, string>> = Object.freeze({ vary: 'accept-encoding' });
const CODED: Readonly<Record<Coding, Readonly<Record<string, string>>>> = Object.freeze({
  gzip: Object.freeze({ 'content-encoding': 'gzip', vary: 'accept-encoding' }),
  deflate: Object.freeze({ 'content-encoding': 'deflate', vary: 'accept-encoding' }),
});

/**
 * The headers a response with `coding` carries (and `Vary` whenever the server offers codings): one of four
 * shared, frozen objects, none built per connect.
 */
export function codingHeaders(
  coding: Coding | null,
  offered: readonly Coding[],
): Readonly<Record<string, string>> {
  if (offered.length === 0) return NO_CODING_HEADERS;
  return coding === null ? VARY_ONLY : CODED[coding];
}

/**
 * `headers` with its `Vary` joined to the one the response already carries (CORS sets `Vary: Origin`), so
 * that naming `Accept-Encoding` does not drop it.
 */
export function joinVary(
  headers: Readonly<Record<string, string>>,
  existing: number | string | readonly string[] | undefined,
): Readonly<Record<string, string>> {
  if (headers.vary === undefined || existing === undefined) return headers;
  const have = Array.isArray(existing) ? existing.join(', ') : String(existing);
  if (have === '') return headers;
  const names = have
    .toLowerCase()
    .split(',')
    .map((name) => name.trim());
  const vary = names.includes(headers.vary.toLowerCase()) ? have : `${have}, ${headers.vary}`;
  return { ...headers, vary };
}

// ---- blocks, deflated once ---------------------------------------------------------------------------

/**
 * Compressor settings for a block: level 6 and a 4 KiB window (12 bits). A block is compressed by a fresh
 * compressor freed at once, so the window costs no memory per connection; 4 KiB covers the repetition
 * between neighbouring events, which is where an event stream's redundancy is (docs/benchmarks.md).
 */
const DEFLATE_OPTIONS = Object.freeze({
  level: 6,
  windowBits: 12,
  memLevel: 8,
  finishFlush: z.Z_SYNC_FLUSH,
});

/** Raw deflate bytes of `plain` plus the values a connection needs to keep its check value and length. */
export class Deflated {
  /** Raw deflate: non-final blocks ending byte-aligned (an empty stored block), decodable after any other. */
  readonly block: Buffer;
  /** The length of the uncompressed bytes. */
  readonly length: number;
  /** CRC-32 of the uncompressed bytes. */
  readonly crc: number;
  /** x^(8 × length) mod the CRC polynomial: combines a running CRC with this block's in one multiply. */
  readonly crcShift: number;
  /** The uncompressed bytes (referenced, not copied: they are the events' shared payloads). */
  readonly plain: readonly Uint8Array[];
  /** How many connections accounted for this block (`shiftCrc`): past a few, a table makes it cheaper. */
  uses = 0;
  /** `crcShift` as four byte tables, while this block is among the last few shared ones (`shiftCrc`). */
  table: Int32Array | null = null;
  private adlerValue = -1;
  private framed: Buffer | null = null;

  constructor(block: Buffer, plain: readonly Uint8Array[], length: number, crc: number) {
    this.block = block;
    this.plain = plain;
    this.length = length;
    this.crc = crc;
    this.crcShift = crcShiftFor(length);
  }

  /** Adler-32 of the uncompressed bytes (for `deflate` connections), computed once when first asked. */
  get adler(): number {
    if (this.adlerValue < 0) {
      let a = 1;
      for (const p of this.plain) a = adler32(p, a);
      this.adlerValue = a;
    }
    return this.adlerValue;
  }

  /** The block as one HTTP/1.1 chunk, built once. */
  get chunk(): Buffer {
    if (this.framed === null) this.framed = frameChunk(this.block);
    return this.framed;
  }
}

/** Deflates bytes no secret shares a block with (a run of public events, or one event). */
export function deflate(plain: Uint8Array): Deflated {
  const block = deflateRawSync(plain, DEFLATE_OPTIONS);
  return new Deflated(block, [plain], plain.byteLength, crc32(plain));
}

/**
 * Bytes as stored (uncompressed) deflate blocks: 5 bytes of header per 64 KiB, no compressor at all. For
 * what is written to one connection or is too small to gain anything (`retry:`, heartbeats, notices):
 * nothing to share, and no native memory to allocate on every connect.
 */
export function store(plain: Uint8Array): Deflated {
  const blocks = Math.max(1, Math.ceil(plain.byteLength / 65_535));
  const out = Buffer.allocUnsafe(plain.byteLength + 5 * blocks);
  let at = 0;
  for (let from = 0; from < plain.byteLength || at === 0; from += 65_535) {
    const len = Math.min(65_535, plain.byteLength - from);
    out[at] = 0; // BFINAL 0, BTYPE 00 (stored); the block starts on a byte boundary
    out.writeUInt16LE(len, at + 1);
    out.writeUInt16LE(~len & 0xffff, at + 3);
    out.set(plain.subarray(from, from + len), at + 5);
    at += 5 + len;
  }
  return new Deflated(out, [plain], plain.byteLength, crc32(plain));
}

/** What `deflateEvents` needs of an event. */
export interface Deflatable {
  readonly payload: Buffer;
  readonly update: { readonly private?: boolean | undefined } | null;
  readonly deflated: Deflated;
}

/**
 * Several events as one compressed write: consecutive public updates share a block; each private update,
 * and each message that is not an update (control messages, and what `Hub.send` writes to one connection,
 * which may be as secret as a private update), is a block of its own, whose compressed size depends on
 * nothing else. A single event uses its own block, built once and shared.
 */
export function deflateEvents(events: readonly Deflatable[]): Deflated {
  if (events.length === 1) return events[0]!.deflated;
  const parts: Deflated[] = [];
  let run: Buffer[] = [];
  const endRun = () => {
    if (run.length === 0) return;
    parts.push(run.length === 1 ? deflate(run[0]!) : deflate(Buffer.concat(run)));
    run = [];
  };
  for (const e of events) {
    if (e.update === null || e.update.private === true) {
      endRun();
      parts.push(e.deflated);
    } else run.push(e.payload);
  }
  endRun();
  if (parts.length === 1) return parts[0]!;
  return concatDeflated(parts);
}

function concatDeflated(parts: readonly Deflated[]): Deflated {
  let crc = 0;
  let length = 0;
  const plain: Uint8Array[] = [];
  for (const p of parts) {
    crc = (multModP(p.crcShift, crc) ^ p.crc) >>> 0;
    length += p.length;
    plain.push(...p.plain);
  }
  return new Deflated(Buffer.concat(parts.map((p) => p.block)), plain, length, crc);
}

// ---- one connection's framing ------------------------------------------------------------------------

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** zlib header: deflate, 32 KiB window at most (blocks use less), default level; (CMF·256 + FLG) % 31 = 0. */
const ZLIB_HEADER = Buffer.from([0x78, 0x9c]);
/** A final, empty fixed-Huffman block: ends the deflate data before the trailer. */
const FINAL_BLOCK = [0x03, 0x00];

/**
 * One connection's coding state: its header is sent once with the first bytes, then the shared blocks;
 * at a clean end, the trailer (gzip: CRC-32 and length mod 2³²; deflate: Adler-32). A stream cut short
 * has no trailer, as any interrupted response: the client resumes by `Last-Event-ID`.
 */
export class StreamCoder {
  readonly coding: Coding;
  /** The header went out (`open`): from then on, a clean end owes the trailer. */
  opened = false;
  /** CRC-32 (gzip) or Adler-32 (deflate) of everything sent so far. */
  private check: number;
  private size = 0;

  constructor(coding: Coding) {
    this.coding = coding;
    this.check = coding === 'gzip' ? 0 : 1;
  }

  /** The header and the first bytes, for the write that opens the stream. */
  open(first: Deflated | null): Buffer {
    const header = this.coding === 'gzip' ? GZIP_HEADER : ZLIB_HEADER;
    this.opened = true;
    if (first === null) return header;
    this.add(first);
    return Buffer.concat([header, first.block]);
  }

  /** Accounts for a block about to be written (per connection: one multiply, or a few additions). */
  add(d: Deflated): void {
    if (this.coding === 'gzip') this.check = (shiftCrc(d, this.check) ^ d.crc) >>> 0;
    else this.check = adler32Combine(this.check, d.adler, d.length);
    this.size = (this.size + d.length) >>> 0;
  }

  /** The end of the compressed data: a final empty block and the trailer. */
  trailer(): Buffer {
    if (this.coding === 'gzip') {
      const out = Buffer.from([...FINAL_BLOCK, 0, 0, 0, 0, 0, 0, 0, 0]);
      out.writeUInt32LE(this.check, 2);
      out.writeUInt32LE(this.size, 6);
      return out;
    }
    const out = Buffer.from([...FINAL_BLOCK, 0, 0, 0, 0]);
    out.writeUInt32BE(this.check, 2);
    return out;
  }
}

// ---- check-value arithmetic (zlib's crc32_combine and adler32_combine) ----------------------------------

const POLY = 0xedb88320;

/** a × b modulo the CRC-32 polynomial (bit-reflected), as zlib's multmodp. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) mod p, for k = 0..31. */
const X2N: number[] = (() => {
  const table: number[] = [];
  let p = 0x40000000; // x^1
  table.push(p);
  for (let n = 1; n < 32; n++) {
    p = multModP(p, p);
    table.push(p);
  }
  return table;
})();

/** x^(8 × length) mod p: what a CRC is multiplied by to append `length` bytes after it. */
function crcShiftFor(length: number): number {
  let p = 0x80000000; // x^0
  let k = 3;
  let n = length;
  while (n > 0) {
    if (n & 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** Blocks that keep a table: the fan-out of one block visits every connection in a row, so a few suffice. */
const TABLED = 16;
const tabled: (Deflated | null)[] = new Array(TABLED).fill(null);
let nextTabled = 0;

/**
 * `crc` × `d.crcShift` mod p. The product is linear in `crc`, so for a block many connections share it is
 * four lookups in tables built once (32 multiplies and 1,024 XORs, a few µs) instead of up to 32
 * shift-xor steps per connection. Only the last `TABLED` blocks keep their tables (4 KiB each): the history
 * cache holds blocks for long, and must not hold tables.
 */
function shiftCrc(d: Deflated, crc: number): number {
  let table = d.table;
  if (table === null) {
    if (++d.uses < 8) return multModP(d.crcShift, crc);
    table = new Int32Array(1024);
    for (let j = 0; j < 4; j++) {
      const t = j * 256;
      for (let bit = 0; bit < 8; bit++) table[t + (1 << bit)] = multModP(d.crcShift, (1 << bit) << (8 * j));
      for (let v = 3; v < 256; v++) {
        const low = v & -v;
        if (low !== v) table[t + v] = table[t + low]! ^ table[t + (v ^ low)]!;
      }
    }
    const evicted = tabled[nextTabled];
    if (evicted != null) evicted.table = null;
    tabled[nextTabled] = d;
    nextTabled = (nextTabled + 1) % TABLED;
    d.table = table;
  }
  return (
    (table[crc & 0xff]! ^
      table[256 + ((crc >>> 8) & 0xff)]! ^
      table[512 + ((crc >>> 16) & 0xff)]! ^
      table[768 + (crc >>> 24)]!) >>>
    0
  );
}

const BASE = 65521;

function adler32(data: Uint8Array, start: number): number {
  let a = start & 0xffff;
  let b = start >>> 16;
  let i = 0;
  const n = data.length;
  while (i < n) {
    const end = Math.min(n, i + 3800); // keeps the sums below 2^53 (far below) and the modulo rare
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= BASE;
    b %= BASE;
  }
  return ((b << 16) | a) >>> 0;
}

function adler32Combine(adler1: number, adler2: number, len2: number): number {
  const rem = len2 % BASE;
  let sum1 = adler1 & 0xffff;
  let sum2 = (rem * sum1) % BASE;
  sum1 += (adler2 & 0xffff) + BASE - 1;
  sum2 += (adler1 >>> 16) + (adler2 >>> 16) + BASE - rem;
  if (sum1 >= BASE) sum1 -= BASE;
  if (sum1 >= BASE) sum1 -= BASE;
  if (sum2 >= BASE * 2) sum2 -= BASE * 2;
  if (sum2 >= BASE) sum2 -= BASE;
  return ((sum2 << 16) | sum1) >>> 0;
}
