/**
 * The market feed: a random walk over 100+ symbols, each published to its own topic many times a second
 * through the hub's publish API. Prices are ephemeral, so a publish that fails is not retried (the next
 * one supersedes it), and at most `maxInFlight` publishes wait at once: when the hub is slower than the
 * feed, ticks are skipped rather than queued without bound.
 */
import type { HubPublisher } from '../publisher.js';
import { SPARK_SECONDS, type SymbolInfo, type Tick, tickerTopic } from './model.js';

const SECTORS: Record<string, string[]> = {
  Technology: [
    'Quantix',
    'Nimbus',
    'Corelight',
    'Bytewave',
    'Heliotrope',
    'Synapse',
    'Lattice',
    'Vectra',
    'Photon',
    'Kernelworks',
  ],
  Energy: ['Solaris', 'Windmere', 'Petrovale', 'Geotherm', 'Hydrion', 'Brightflow', 'Ampere', 'Gridline'],
  Finance: [
    'Ledgerline',
    'Northbank',
    'Crestmark',
    'Fairhold',
    'Tallyrand',
    'Keystone',
    'Bullion',
    'Meridian',
  ],
  Health: ['Vitalis', 'Genova', 'Medisyn', 'Curative', 'Helixa', 'Pulsera', 'Biomira', 'Clearpath'],
  Consumer: ['Harvest', 'Urbanfold', 'Lumina', 'Tidewear', 'Cobalt', 'Fernway', 'Brightcart', 'Oakhouse'],
  Industrials: ['Ironclad', 'Steelhead', 'Forgeway', 'Axial', 'Torque', 'Riverton', 'Gantry', 'Monolith'],
};
const SUFFIXES = ['Systems', 'Holdings', 'Group', 'Labs', 'Industries', 'Corp', 'Networks', 'Partners'];

function symbolOf(name: string, taken: Set<string>): string {
  const letters = name.toUpperCase().replace(/[^A-Z]/g, '');
  for (const len of [3, 4]) {
    for (let i = len - 1; i < letters.length; i++) {
      const code = letters.slice(0, len - 1) + letters[i];
      if (!taken.has(code)) return code;
    }
  }
  let k = 1;
  while (taken.has(letters.slice(0, 3) + k)) k++;
  return letters.slice(0, 3) + k;
}

export function makeUniverse(count: number, random: () => number = Math.random): SymbolInfo[] {
  const out: SymbolInfo[] = [];
  const taken = new Set<string>();
  const sectors = Object.entries(SECTORS);
  for (let i = 0; out.length < count; i++) {
    const [sector, stems] = sectors[i % sectors.length]!;
    const stem = stems[Math.floor(i / sectors.length) % stems.length]!;
    const round = Math.floor(i / (sectors.length * stems.length));
    const name = `${stem} ${SUFFIXES[(i + round * 3) % SUFFIXES.length]}`;
    const symbol = symbolOf(round === 0 ? stem : name.replace(' ', ''), taken);
    taken.add(symbol);
    const price = Math.round((5 + random() * random() * 600) * 100) / 100;
    const history: number[] = [];
    let p = price;
    for (let s = 0; s < SPARK_SECONDS; s++) {
      p = Math.max(0.5, p * Math.exp((random() - 0.5) * 0.006));
      history.push(Math.round(p * 100) / 100);
    }
    history.reverse();
    out.push({
      symbol,
      name,
      sector,
      price,
      open: history[0]!,
      high: Math.max(...history),
      low: Math.min(...history),
      history,
      n: 0,
    });
  }
  return out;
}

export interface TickerFeedOptions {
  symbols?: number;
  /** Updates per second per symbol. Default 20. */
  rate?: number;
  maxInFlight?: number;
  random?: () => number;
}

export class TickerFeed {
  readonly symbols: SymbolInfo[];
  readonly rate: number;
  /** Publishes sent, accepted, skipped because too many were waiting. */
  readonly counts = { sent: 0, skipped: 0 };
  private readonly random: () => number;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private readonly tickTimer: NodeJS.Timeout;
  private readonly secondTimer: NodeJS.Timeout;
  private cursor = 0;

  constructor(
    private readonly publisher: HubPublisher,
    options: TickerFeedOptions = {},
  ) {
    this.random = options.random ?? Math.random;
    this.rate = options.rate ?? 20;
    this.maxInFlight = options.maxInFlight ?? 256;
    this.symbols = makeUniverse(options.symbols ?? 120, this.random);
    // Ticks every 50 ms at most; each tick moves every symbol rate/ticksPerSecond times on average.
    const intervalMs = Math.max(10, 1000 / this.rate);
    this.tickTimer = setInterval(() => this.tick(), intervalMs);
    this.secondTimer = setInterval(() => this.sample(), 1_000);
    this.tickTimer.unref();
    this.secondTimer.unref();
  }

  close(): void {
    clearInterval(this.tickTimer);
    clearInterval(this.secondTimer);
  }

  /** Moves every symbol once and publishes it. */
  tick(): void {
    const now = Date.now();
    const n = this.symbols.length;
    // Start at a rotating offset so that, when ticks are skipped, no symbol is always the one left out.
    for (let k = 0; k < n; k++) {
      const info = this.symbols[(this.cursor + k) % n]!;
      const vol = 0.0003 + (info.symbol.charCodeAt(0) % 5) * 0.00008;
      const z = (this.random() + this.random() + this.random() - 1.5) * 2; // ~N(0, 1)
      info.price = Math.max(0.5, Math.round(info.price * Math.exp(vol * z) * 100) / 100);
      info.high = Math.max(info.high, info.price);
      info.low = Math.min(info.low, info.price);
      info.n++;
      if (this.inFlight >= this.maxInFlight) {
        this.counts.skipped++;
        continue;
      }
      const tick: Tick = { s: info.symbol, p: info.price, t: now, n: info.n };
      this.inFlight++;
      this.counts.sent++;
      void this.publisher
        .publish({ topics: [tickerTopic(info.symbol)], data: JSON.stringify(tick), type: 'tick' })
        .then(() => {
          this.inFlight--;
        });
    }
    this.cursor = (this.cursor + 7) % n;
  }

  private sample(): void {
    for (const info of this.symbols) {
      info.history.push(info.price);
      if (info.history.length > SPARK_SECONDS) info.history.shift();
    }
  }
}
