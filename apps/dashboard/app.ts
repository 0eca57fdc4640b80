/**
 * The hub dashboard. It draws the last samples at once (GET /dashboard/api/history), then subscribes to
 * the private stats topic with a short-lived subscriber token sent as `Authorization: Bearer`: the client
 * calls `getToken` before every connect and reconnect, so an expired token is simply replaced.
 */
import { $, el, getJson, showStatus, subscribe } from '../shared/live.js';
import { drawChart } from '../shared/spark.js';
import type { StatsHistory, StatsSample } from './model.js';

const samples: StatsSample[] = [];
let liveSamples = 0;
const KEEP = 180;
const pill = $('#status');
const n = (v: number) => v.toLocaleString('en-US');

async function start(): Promise<void> {
  const history = await getJson<StatsHistory>('/dashboard/api/history');
  if (!history.demo) {
    // The hub's own dashboard (`crier serve --dashboard`): no demo pages to link to, no demo topics to count.
    for (const a of document.querySelectorAll<HTMLElement>('.topnav a:not([aria-current]), .brand small'))
      a.hidden = true;
    $('#apps-card').hidden = true;
    document.body.dataset.demo = 'false';
  }
  samples.push(...history.samples.slice(-KEEP));
  render();
  subscribe({
    hub: history.hub,
    topics: [history.topic],
    types: ['stats'],
    init: { getToken: async () => (await fetch('/dashboard/api/token')).text() },
    onEvent: (_type, data) => {
      const sample = JSON.parse(data) as StatsSample;
      const last = samples[samples.length - 1];
      if (last && sample.t <= last.t) return;
      samples.push(sample);
      if (samples.length > KEEP) samples.shift();
      liveSamples++;
      render();
    },
    onStatus: (status, detail) => showStatus(pill, status, detail),
  });
}

function render(): void {
  const s = samples[samples.length - 1];
  if (!s) return;
  $('#k-connections').textContent = n(s.connections);
  $('#k-publishes').textContent = n(s.publishesPerSec);
  $('#k-updates').textContent = `${n(s.totals.updates)} updates in all`;
  $('#k-deliveries').textContent = n(s.deliveriesPerSec);
  $('#k-deliveries-total').textContent = `${n(s.totals.deliveries)} events sent`;
  $('#k-topics').textContent = n(s.topicCount);
  $('#k-slow').textContent = n(s.totals.slowDisconnects);
  $('#k-stalled').textContent = `${n(s.totals.stalledDisconnects)} half-open closed`;
  const up = s.uptime;
  $('#uptime').textContent =
    `up ${up >= 3600 ? `${Math.floor(up / 3600)}h ` : ''}${Math.floor((up % 3600) / 60)}m ${up % 60}s`;
  document.body.dataset.deliveries = String(s.totals.deliveries);
  document.body.dataset.live = String(liveSamples);

  const max = Math.max(...s.selectors.map((x) => x.subscribers), 1);
  $('#selectors').replaceChildren(
    ...s.selectors.map((x) => {
      const tr = el('tr');
      const name = el('td', 'sel');
      name.append(el('code', '', x.selector));
      const count = el('td', 'r');
      const bar = el('span', 'bar');
      bar.style.width = `${(x.subscribers / max) * 100}%`;
      count.append(bar, el('span', 'num', n(x.subscribers)));
      tr.append(name, count);
      return tr;
    }),
  );
  $('#apps').replaceChildren(
    ...s.apps.map((a) => {
      const tr = el('tr');
      const name = el('td', 'sel');
      name.append(el('strong', '', a.name), el('code', '', a.topic));
      tr.append(name, el('td', 'r num', n(a.subscribers)));
      return tr;
    }),
  );
  draw();
}

function draw(): void {
  const opts = { grid: '#232b42', text: '#8a92ad', format: compact };
  drawChart(
    $('#c-deliveries') as HTMLCanvasElement,
    [{ label: 'deliveries', color: '#7c83ff', values: samples.map((x) => x.deliveriesPerSec) }],
    opts,
  );
  drawChart(
    $('#c-publishes') as HTMLCanvasElement,
    [{ label: 'publishes', color: '#22d3ee', values: samples.map((x) => x.publishesPerSec) }],
    opts,
  );
  drawChart(
    $('#c-connections') as HTMLCanvasElement,
    [{ label: 'connections', color: '#22c55e', values: samples.map((x) => x.connections) }],
    { ...opts, minMax: 4 },
  );
}

function compact(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v % 1e6 === 0 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v % 1e3 === 0 ? 0 : 1)}k`;
  return String(Math.round(v));
}

window.addEventListener('resize', draw);
start().catch((error: unknown) => showStatus(pill, 'offline', String(error)));
