/**
 * The trading screen. It loads every symbol (price, open, and two minutes of per-second history for the
 * sparklines), then subscribes to all symbol topics with one URI template selector and a `maxRate`: the hub
 * conflates each symbol's updates to at most that many per second and always sends the latest price, so
 * the page never falls behind the feed. Ticks are applied to a model at once and painted once per frame.
 * Prices need no replay: after a reconnect the page reloads the snapshot and subscribes afresh.
 */
import type { CrierEventSource } from '../../src/client/index.js';
import { icons } from '../shared/icons.js';
import { $, el, getJson, showStatus, subscribe } from '../shared/live.js';
import { drawSparkline } from '../shared/spark.js';
import { SPARK_SECONDS, type SymbolInfo, type Tick, type TickerSnapshot } from './model.js';

interface Row {
  info: SymbolInfo;
  shown: number;
  tr: HTMLTableRowElement;
  price: HTMLElement;
  change: HTMLElement;
  high: HTMLElement;
  low: HTMLElement;
  spark: HTMLCanvasElement;
  star: HTMLButtonElement;
  card?: {
    root: HTMLElement;
    price: HTMLElement;
    change: HTMLElement;
    spark: HTMLCanvasElement;
    shown: number;
  };
  lastN: number;
}

const WATCH_KEY = 'crier-demo-watchlist';
const rows = new Map<string, Row>();
const dirty = new Set<Row>();
let source: CrierEventSource | undefined;
let snapshot: TickerSnapshot | undefined;
let maxRate = Number(localStorage.getItem('crier-demo-maxrate') ?? 4);
let received = 0;
let feedTicks = 0;
let lastSecond = performance.now();
let restarting: number | undefined;
const pill = $('#status');
const prefersReducedMotion = matchMedia('(prefers-reduced-motion: reduce)').matches;

function watchlist(): string[] {
  try {
    const saved = JSON.parse(localStorage.getItem(WATCH_KEY) ?? 'null') as string[] | null;
    if (Array.isArray(saved)) return saved;
  } catch {}
  return snapshot ? snapshot.symbols.slice(0, 6).map((s) => s.symbol) : [];
}

function setWatchlist(list: string[]): void {
  localStorage.setItem(WATCH_KEY, JSON.stringify(list));
}

const fmt = (p: number) => p.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
function changeText(info: SymbolInfo): { text: string; up: boolean } {
  const diff = info.price - info.open;
  const pct = (diff / info.open) * 100;
  return {
    text: `${diff >= 0 ? '+' : ''}${fmt(diff)} (${pct >= 0 ? '+' : ''}${pct.toFixed(2)}%)`,
    up: diff >= 0,
  };
}

async function start(): Promise<void> {
  source?.close();
  snapshot = await getJson<TickerSnapshot>('/ticker/api/symbols');
  build(snapshot);
  $('#subtitle').textContent =
    `${snapshot.symbols.length} symbols · the feed publishes ${snapshot.rate} updates/s per symbol (${(
      snapshot.rate * snapshot.symbols.length
    ).toLocaleString()}/s in all)`;
  source = subscribe({
    hub: snapshot.hub,
    topics: [snapshot.topicTemplate],
    maxRate: maxRate > 0 ? maxRate : undefined,
    // Delta updates: a tick is sent as a patch against the symbol's previous tick when this page received
    // that one (with conflation, a tick after a skipped one goes in full). Ticks are small, so this breaks
    // even on bytes (docs/library.md, "Delta updates"); the data the page sees is the same either way.
    init: { delta: true },
    types: ['tick'],
    onEvent: (_type, data) => onTick(JSON.parse(data) as Tick),
    onStatus: (status, detail) => {
      showStatus(pill, status, detail);
      if (status === 'reconnecting') restartSoon(); // prices: resync from a snapshot instead of replaying ticks
    },
  });
}

function restartSoon(): void {
  source?.close();
  if (restarting !== undefined) return;
  restarting = window.setTimeout(() => {
    restarting = undefined;
    start().catch(() => restartSoon());
  }, 1_000);
}

function onTick(tick: Tick): void {
  const row = rows.get(tick.s);
  if (!row) return;
  received++;
  if (row.lastN > 0 && tick.n > row.lastN) feedTicks += tick.n - row.lastN;
  else feedTicks++;
  if (tick.n <= row.lastN) return;
  row.lastN = tick.n;
  const info = row.info;
  info.price = tick.p;
  info.high = Math.max(info.high, tick.p);
  info.low = Math.min(info.low, tick.p);
  info.history[info.history.length - 1] = tick.p;
  dirty.add(row);
}

function build(snap: TickerSnapshot): void {
  rows.clear();
  dirty.clear();
  const body = $('#quotes');
  body.replaceChildren();
  for (const info of snap.symbols) {
    const tr = el('tr');
    tr.dataset.symbol = info.symbol;
    const star = el('button', 'star');
    star.title = 'Add to watchlist';
    const starCell = el('td', 'star-cell');
    starCell.append(star);
    const sym = el('td', 'sym');
    sym.append(el('strong', '', info.symbol), el('span', 'muted', info.name));
    const price = el('td', 'r num price');
    const change = el('td', 'r num change');
    const high = el('td', 'r num muted hide-sm');
    const low = el('td', 'r num muted hide-sm');
    const sparkCell = el('td', 'spark-col hide-xs');
    const spark = el('canvas', 'spark');
    sparkCell.append(spark);
    tr.append(starCell, sym, el('td', 'muted hide-sm', info.sector), price, change, high, low, sparkCell);
    body.append(tr);
    const row: Row = { info, shown: info.price, tr, price, change, high, low, spark, star, lastN: info.n };
    star.addEventListener('click', () => toggleWatch(info.symbol));
    rows.set(info.symbol, row);
  }
  renderWatchlist();
  for (const row of rows.values()) paint(row, true);
  applyFilter();
}

function toggleWatch(symbol: string): void {
  const list = watchlist();
  setWatchlist(list.includes(symbol) ? list.filter((s) => s !== symbol) : [...list, symbol]);
  renderWatchlist();
}

function renderWatchlist(): void {
  const list = watchlist().filter((s) => rows.has(s));
  const box = $('#watchlist');
  box.replaceChildren();
  for (const row of rows.values()) {
    const on = list.includes(row.info.symbol);
    row.star.innerHTML = icons.star(16, on);
    row.star.classList.toggle('on', on);
    row.star.setAttribute('aria-pressed', String(on));
    row.card = undefined;
  }
  for (const symbol of list) {
    const row = rows.get(symbol)!;
    const root = el('article', 'watch card');
    root.dataset.symbol = symbol;
    const head = el('div', 'watch-head');
    const title = el('div');
    title.append(el('strong', '', symbol), el('span', 'muted', row.info.name));
    const remove = el('button', 'star on');
    remove.innerHTML = icons.star(16, true);
    remove.title = 'Remove from watchlist';
    remove.addEventListener('click', () => toggleWatch(symbol));
    head.append(title, remove);
    const price = el('div', 'watch-price num');
    const change = el('div', 'watch-change num');
    const spark = el('canvas', 'watch-spark');
    root.append(head, price, change, spark);
    box.append(root);
    row.card = { root, price, change, spark, shown: row.info.price };
  }
  if (list.length === 0) box.append(el('p', 'muted empty', 'Star a symbol below to watch it here.'));
  $('#watch-count').textContent = String(list.length);
  for (const symbol of list) paint(rows.get(symbol)!, true);
}

const UP = '#22c55e';
const DOWN = '#f43f5e';
let sparkFrame = 0;

function paint(row: Row, sparkToo: boolean): void {
  const { info } = row;
  const moved = info.price !== row.shown;
  const dir = info.price > row.shown ? 'up' : 'down';
  row.price.textContent = fmt(info.price);
  const ch = changeText(info);
  row.change.textContent = ch.text;
  row.change.className = `r num change ${ch.up ? 'up' : 'down'}`;
  row.high.textContent = fmt(info.high);
  row.low.textContent = fmt(info.low);
  if (moved && !prefersReducedMotion) flashCell(row.price, dir);
  row.shown = info.price;
  if (sparkToo && row.spark.isConnected && row.tr.style.display !== 'none')
    drawSparkline(row.spark, info.history, UP, DOWN, false);
  if (row.card) {
    const card = row.card;
    const cardMoved = info.price !== card.shown;
    card.price.textContent = fmt(info.price);
    card.change.textContent = ch.text;
    card.change.className = `watch-change num ${ch.up ? 'up' : 'down'}`;
    if (cardMoved && !prefersReducedMotion) flashCell(card.price, info.price > card.shown ? 'up' : 'down');
    card.shown = info.price;
    if (sparkToo) drawSparkline(card.spark, info.history, UP, DOWN, true);
  }
}

function flashCell(node: HTMLElement, dir: 'up' | 'down'): void {
  node.dataset.dir = dir;
  node.animate(
    [{ backgroundColor: dir === 'up' ? '#22c55e40' : '#f43f5e40' }, { backgroundColor: 'transparent' }],
    {
      duration: 450,
      easing: 'ease-out',
    },
  );
}

function frame(now: number): void {
  // Sparklines four times a second, numbers every frame.
  const sparks = now - sparkFrame > 250;
  if (sparks) sparkFrame = now;
  for (const row of dirty) paint(row, sparks);
  if (sparks) dirty.clear();
  else for (const row of dirty) dirty.delete(row);
  if (now - lastSecond >= 1_000) {
    const secs = (now - lastSecond) / 1000;
    $('#rate').textContent = Math.round(received / secs).toLocaleString();
    const skipped = feedTicks > 0 ? Math.max(0, 1 - received / feedTicks) : 0;
    $('#skipped').textContent = `${Math.round(skipped * 100)}%`;
    $('#feed').textContent = `of ${Math.round(feedTicks / secs).toLocaleString()}/s`;
    document.body.dataset.received = String(received);
    received = 0;
    feedTicks = 0;
    lastSecond = now;
  }
  requestAnimationFrame(frame);
}

// One history point per second for every symbol (the last point follows the live price).
setInterval(() => {
  for (const row of rows.values()) {
    const h = row.info.history;
    h.push(row.info.price);
    if (h.length > SPARK_SECONDS) h.shift();
  }
}, 1_000);

function applyFilter(): void {
  const q = ($('#filter') as HTMLInputElement).value.trim().toLowerCase();
  let shown = 0;
  for (const row of rows.values()) {
    const show =
      q === '' || row.info.symbol.toLowerCase().includes(q) || row.info.name.toLowerCase().includes(q);
    row.tr.style.display = show ? '' : 'none';
    if (show) {
      shown++;
      drawSparkline(row.spark, row.info.history, UP, DOWN, false);
    }
  }
  // The count is of the rows the table shows: "12 of 120" while a filter hides the others.
  $('#symbol-count').textContent = q === '' ? String(rows.size) : `${shown} of ${rows.size}`;
}

function setupRatePicker(): void {
  const picker = $('#maxrate');
  const sync = () => {
    for (const b of picker.querySelectorAll<HTMLButtonElement>('button')) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.rate) === maxRate));
    }
  };
  picker.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest('button');
    if (!button) return;
    maxRate = Number(button.dataset.rate);
    localStorage.setItem('crier-demo-maxrate', String(maxRate));
    sync();
    void start();
  });
  sync();
}

$('#search-icon').innerHTML = icons.search(15);
$('#filter').addEventListener('input', applyFilter);
setupRatePicker();
requestAnimationFrame(frame);
start().catch((error: unknown) => {
  showStatus(pill, 'offline', String(error));
  restartSoon();
});
