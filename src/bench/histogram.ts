/**
 * A latency histogram with HDR-style log-linear buckets: values are whole microseconds, each power of two
 * is split into 128 linear sub-buckets, so a recorded value is known to within 1/128 (< 0.8 %) of itself
 * (values below 256 µs exactly). It covers 1 µs to 2^40 µs (~12 days) in 4,480 counters.
 *
 * Why not the `hdr-histogram-js` package: this is the same bucketing idea in ~100 lines with no dependency,
 * so `crier-sse/bench` adds nothing to users' installs, and merging across worker processes is adding two
 * arrays sent over IPC as a sparse list (see `toSparse`/`fromSparse`). Percentiles are reported as the
 * highest value of the bucket they fall in, as HDR does, so they never understate latency.
 */

const SUB_BITS = 7;
const SUB_COUNT = 1 << SUB_BITS; // 128 linear sub-buckets per power of two
const MAX_EXPONENT = 40;
const BUCKETS = (MAX_EXPONENT - SUB_BITS + 2) * SUB_COUNT;

/** floor(log2(v)) for an integer v >= 1, exact beyond 2^32 too. */
function floorLog2(v: number): number {
  if (v < 2 ** 32) return 31 - Math.clz32(v);
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  if (2 ** (e + 1) <= v) e++;
  return e;
}

/** The bucket index of a value in whole microseconds (clamped to the covered range). */
function indexOf(value: number): number {
  const v = Math.floor(value);
  if (v < 2 * SUB_COUNT) return v; // exact below 256 (`record` passes no negatives or NaN)
  // v / 2^shift lands in [128, 256): its top 8 bits; the group is the shift.
  const shift = floorLog2(v) - SUB_BITS;
  if (shift + 1 >= BUCKETS / SUB_COUNT) return BUCKETS - 1;
  return (shift + 1) * SUB_COUNT + (Math.floor(v / 2 ** shift) - SUB_COUNT);
}

/** The highest value that falls in bucket `index`. */
function highestValueOf(index: number): number {
  if (index < 2 * SUB_COUNT) return index;
  const shift = Math.floor(index / SUB_COUNT) - 1;
  return (SUB_COUNT + (index % SUB_COUNT) + 1) * 2 ** shift - 1;
}

export interface HistogramSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

export class LatencyHistogram {
  private counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = 0;

  /** Records `count` samples of `value` microseconds (negative values, from clock skew, count as 0). */
  record(value: number, count = 1): void {
    // The hot path of every delivery: values below 2^32 µs (71 minutes) index with integer ops only.
    const v = value > 0 ? Math.floor(value) : 0; // NaN too
    let index: number;
    if (v < 2 * SUB_COUNT) index = v;
    else if (v < 2 ** 32) {
      const shift = 31 - Math.clz32(v) - SUB_BITS;
      index = (shift + 1) * SUB_COUNT + ((v >>> shift) - SUB_COUNT);
    } else index = indexOf(v);
    this.counts[index]! += count;
    this.total += count;
    this.sum += v * count;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.total;
  }

  /** The value at or below which `percentile` % of samples fall, in microseconds (0 when empty). */
  valueAtPercentile(percentile: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(highestValueOf(i), this.maxValue);
    }
    return this.maxValue;
  }

  add(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = 0;
  }

  summary(): HistogramSummary {
    return {
      count: this.total,
      min: this.total === 0 ? 0 : this.minValue,
      max: this.maxValue,
      mean: this.total === 0 ? 0 : this.sum / this.total,
      p50: this.valueAtPercentile(50),
      p90: this.valueAtPercentile(90),
      p99: this.valueAtPercentile(99),
      p999: this.valueAtPercentile(99.9),
    };
  }

  /** A compact, JSON-safe form for sending between processes: [index, count, index, count, ...]. */
  toSparse(): SparseHistogram {
    const pairs: number[] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) pairs.push(i, this.counts[i]!);
    return { pairs, total: this.total, sum: this.sum, min: this.minValue, max: this.maxValue };
  }

  static fromSparse(sparse: SparseHistogram): LatencyHistogram {
    const h = new LatencyHistogram();
    for (let i = 0; i < sparse.pairs.length; i += 2) h.counts[sparse.pairs[i]!] = sparse.pairs[i + 1]!;
    h.total = sparse.total;
    h.sum = sparse.sum;
    h.minValue = sparse.total === 0 ? Number.POSITIVE_INFINITY : sparse.min;
    h.maxValue = sparse.max;
    return h;
  }
}

export interface SparseHistogram {
  pairs: number[];
  total: number;
  sum: number;
  min: number;
  max: number;
}
