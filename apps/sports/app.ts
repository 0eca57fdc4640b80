/**
 * The scoreboard page. It loads the current state of every match (a snapshot from the backend that
 * includes the hub ID of the last update it reflects), then subscribes to the hub from that ID: the hub
 * replays anything published in between and then streams live. Each match update carries a per-match
 * `seq`, so an update seen twice is ignored and a missing one (which replay prevents) triggers a reload.
 * The list view subscribes to the topic of all matches; a detail view to that match's own topic.
 */
import type { CrierEventSource } from '../../src/client/index.js';
import { icons } from '../shared/icons.js';
import { $, el, flash, getJson, showStatus, subscribe } from '../shared/live.js';
import { type Match, type MatchEvent, type MatchesSnapshot, type MatchUpdate, matchTopic } from './model.js';

const matches = new Map<string, Match>();
let source: CrierEventSource | undefined;
let hub = '/.well-known/mercure';
let allTopic = '';
let updates = 0;
let resyncing = false;

const board = $('#board');
const detail = $('#detail');
const pill = $('#status');

function currentMatchId(): string | undefined {
  const id = location.pathname.replace(/^\/sports\/?/, '').replace(/\/$/, '');
  return id === '' ? undefined : id;
}

async function loadSnapshot(): Promise<MatchesSnapshot> {
  const snap = await getJson<MatchesSnapshot>('/sports/api/matches');
  hub = snap.hub;
  allTopic = snap.allTopic;
  matches.clear();
  for (const m of snap.matches) matches.set(m.id, m);
  return snap;
}

async function start(): Promise<void> {
  source?.close();
  const snap = await loadSnapshot();
  render();
  const id = currentMatchId();
  source = subscribe({
    hub,
    topics: [id ? matchTopic(id) : allTopic],
    // The snapshot names the last update it includes; with none yet, replay everything the hub holds
    // (updates already in the snapshot are skipped by seq), so nothing published meanwhile is missed.
    lastEventId: snap.lastEventId ?? 'earliest',
    types: ['match'],
    onEvent: (_type, data) => apply(JSON.parse(data) as MatchUpdate),
    onStatus: (status, detailText) => showStatus(pill, status, detailText),
    onGap: () => void resync(), // the hub lost history (e.g. restarted): the snapshot is the truth
    // Delta updates: after a match's first update, the hub sends patches (~11% of the bytes, docs/client.md);
    // the client rebuilds each document, so `data` is the same JSON as without deltas.
    init: { delta: true },
  });
}

async function resync(): Promise<void> {
  if (resyncing) return;
  resyncing = true;
  document.body.dataset.resyncs = String(Number(document.body.dataset.resyncs ?? 0) + 1);
  try {
    await loadSnapshot();
    render();
  } finally {
    resyncing = false;
  }
}

function apply(update: MatchUpdate): void {
  const local = matches.get(update.match.id);
  if (!local || update.match.seq > local.seq + 1) {
    void resync(); // a gap: should not happen with replay, but never show a wrong score
    return;
  }
  if (update.match.seq <= local.seq) return; // already in the snapshot (or replayed twice)
  updates++;
  const events = update.event.kind === 'fixture' ? [] : local.events;
  if (update.event.kind !== 'clock' && update.event.kind !== 'fixture') events.push(update.event);
  const next: Match = { ...update.match, events };
  matches.set(next.id, next);
  $('#updates').textContent = `${updates.toLocaleString()} update${updates === 1 ? '' : 's'}`;
  if (currentMatchId()) renderDetail();
  else renderCard(next, update.event);
  if (update.event.kind === 'goal') goalToast(next, update.event);
}

// ---- rendering ---------------------------------------------------------------------------------------

function crest(team: { code: string; color: string }, big = false): HTMLElement {
  const c = el('span', big ? 'crest big' : 'crest', team.code);
  c.style.setProperty('--c', team.color);
  return c;
}

function minuteLabel(m: Pick<Match, 'status' | 'minute' | 'kickoffIn'>): string {
  if (m.status === 'scheduled') return m.kickoffIn > 0 ? `KO in ${m.kickoffIn}'` : 'Kick-off';
  if (m.status === 'half-time') return 'HT';
  if (m.status === 'full-time') return 'FT';
  return m.minute > 90 ? `90+${m.minute - 90}'` : m.minute > 45 && m.minute < 46 ? "45+'" : `${m.minute}'`;
}

function eventIcon(e: MatchEvent): string {
  switch (e.kind) {
    case 'goal':
      return icons.ball(15);
    case 'yellow':
      return icons.yellow(14);
    case 'red':
      return icons.red(14);
    case 'sub':
      return icons.sub(15);
    default:
      return icons.whistle(15);
  }
}

function eventText(e: MatchEvent, m: Match): string {
  const team = e.side === 'home' ? m.home.code : e.side === 'away' ? m.away.code : '';
  switch (e.kind) {
    case 'goal':
      return `${e.player}${e.assist ? ` (assist ${e.assist})` : ''} · ${team}`;
    case 'yellow':
      return `Yellow card · ${e.player} · ${team}`;
    case 'red':
      return `Red card · ${e.player} · ${team}`;
    case 'sub':
      return `${e.player} on for ${e.playerOut} · ${team}`;
    case 'kickoff':
      return 'Kick-off';
    case 'half-time':
      return 'Half-time';
    case 'second-half':
      return 'Second half under way';
    case 'full-time':
      return `Full-time · ${m.score[0]}–${m.score[1]}`;
    default:
      return '';
  }
}

function render(): void {
  const id = currentMatchId();
  board.hidden = id !== undefined;
  detail.hidden = id === undefined;
  if (id) {
    renderDetail();
    return;
  }
  $('#title').textContent = 'Live scores';
  $('#subtitle').textContent =
    `${matches.size} matches · every goal, card and substitution pushed as it happens`;
  document.title = 'Live scores · Crier';
  // Cards already on the board are refilled and moved, not rebuilt: a card under a person's finger (or
  // pointer) stays the same element when the board re-sorts as a match starts or ends.
  const existing = new Map<string, HTMLElement>();
  for (const a of board.querySelectorAll<HTMLElement>('.match-card')) existing.set(a.dataset.match!, a);
  const order = [...matches.values()].sort((a, b) => rank(a) - rank(b));
  board.replaceChildren(
    ...order.map((m) => {
      const a = existing.get(m.id);
      if (!a) return card(m);
      fillCard(a, m);
      return a;
    }),
  );
}

function rank(m: Match): number {
  return m.status === 'live' || m.status === 'half-time' ? 0 : m.status === 'scheduled' ? 1 : 2;
}

function card(m: Match): HTMLElement {
  const a = el('a', 'match-card card');
  a.href = `/sports/${m.id}`;
  a.dataset.match = m.id;
  a.addEventListener('click', (event) => {
    if (event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    navigate(`/sports/${m.id}`);
  });
  fillCard(a, m);
  return a;
}

function fillCard(a: HTMLElement, m: Match): void {
  a.dataset.seq = String(m.seq);
  a.dataset.status = m.status;
  const top = el('div', 'mc-top');
  top.append(el('span', 'comp', m.competition));
  const minute = el('span', `minute ${m.status}`, minuteLabel(m));
  top.append(minute);
  a.replaceChildren(top, teamRow(m, 'home'), teamRow(m, 'away'));
  const last = [...m.events]
    .reverse()
    .find((e) => e.kind === 'goal' || e.kind === 'red' || e.kind === 'yellow');
  const foot = el('div', 'mc-last');
  if (last) {
    foot.innerHTML = eventIcon(last);
    foot.append(el('span', 'num', `${last.minute}'`), el('span', 'what', eventText(last, m)));
  } else {
    foot.append(el('span', 'muted', m.status === 'scheduled' ? 'Teams are warming up' : 'No incidents yet'));
  }
  a.append(foot);
}

function teamRow(m: Match, side: 'home' | 'away'): HTMLElement {
  const team = m[side];
  const i = side === 'home' ? 0 : 1;
  const row = el('div', `team ${side}`);
  const leading = m.score[i]! > m.score[1 - i]!;
  if (leading && m.status === 'full-time') row.classList.add('winner');
  row.append(crest(team), el('span', 'name', team.name));
  const reds = m.stats.red[i]!;
  if (reds > 0) {
    const r = el('span', 'reds');
    r.innerHTML = icons.red(12).repeat(reds);
    row.append(r);
  }
  row.append(el('span', 'goals num', String(m.score[i])));
  return row;
}

function renderCard(m: Match, event: MatchEvent): void {
  const a = board.querySelector<HTMLElement>(`[data-match="${m.id}"]`);
  if (!a) {
    render();
    return;
  }
  const wasStatus = a.dataset.status;
  fillCard(a, m);
  if (event.kind === 'goal') flash(a, 'goal-flash');
  if (wasStatus !== m.status) render(); // re-sort when a match starts or ends
}

function renderDetail(): void {
  const id = currentMatchId()!;
  const m = matches.get(id);
  $('#title').textContent = m ? `${m.home.name} v ${m.away.name}` : 'Match not found';
  $('#subtitle').textContent = m ? `${m.competition} · live on topic ${matchTopic(m.id)}` : '';
  if (!m) {
    detail.replaceChildren(backLink(), el('p', 'muted', 'This match is not on the board.'));
    return;
  }
  document.title = `${m.home.code} ${m.score[0]}–${m.score[1]} ${m.away.code} · Crier`;
  const hero = el('div', 'hero card');
  hero.dataset.match = m.id;
  hero.dataset.seq = String(m.seq);
  const side = (s: 'home' | 'away') => {
    const team = m[s];
    const box = el('div', `hero-team ${s}`);
    box.append(crest(team, true), el('div', 'hero-name', team.name));
    const scorers = el('ul', 'scorers');
    for (const e of m.events)
      if (e.kind === 'goal' && e.side === s) scorers.append(el('li', '', `${e.player} ${e.minute}'`));
    box.append(scorers);
    return box;
  };
  const mid = el('div', 'hero-mid');
  mid.append(
    el('div', 'hero-score num', `${m.score[0]} – ${m.score[1]}`),
    el('span', `minute ${m.status}`, minuteLabel(m)),
  );
  hero.append(side('home'), mid, side('away'));

  const grid = el('div', 'detail-grid');
  const timeline = el('section', 'timeline card');
  timeline.append(el('h2', '', 'Match events'));
  const list = el('ol', 'events');
  const incidents = m.events.filter((e) => e.kind !== 'clock' && e.kind !== 'fixture');
  for (const e of [...incidents].reverse()) {
    const li = el('li', `ev ${e.side ?? 'neutral'} ${e.kind}`);
    const icon = el('span', 'ev-icon');
    icon.innerHTML = eventIcon(e);
    li.append(el('span', 'ev-min num', `${e.minute}'`), icon, el('span', 'ev-text', eventText(e, m)));
    list.append(li);
  }
  if (incidents.length === 0) list.append(el('li', 'ev neutral muted', 'Kick-off soon.'));
  timeline.append(list);

  const stats = el('section', 'stats card');
  stats.append(el('h2', '', 'Stats'));
  const bar = (label: string, h: number, a: number, fmt = (n: number) => String(n)) => {
    const row = el('div', 'stat');
    const head = el('div', 'stat-head');
    head.append(el('span', 'num', fmt(h)), el('span', 'muted', label), el('span', 'num', fmt(a)));
    const track = el('div', 'stat-track');
    const total = h + a || 1;
    const left = el('span', 'stat-home');
    left.style.width = `${(h / total) * 100}%`;
    left.style.background = m.home.color;
    const right = el('span', 'stat-away');
    right.style.width = `${(a / total) * 100}%`;
    right.style.background = m.away.color;
    track.append(left, right);
    row.append(head, track);
    return row;
  };
  stats.append(
    bar('Possession', m.stats.possession, 100 - m.stats.possession, (n) => `${n}%`),
    bar('Shots', ...m.stats.shots),
    bar('On target', ...m.stats.onTarget),
    bar('Corners', ...m.stats.corners),
    bar('Yellow cards', ...m.stats.yellow),
    bar('Red cards', ...m.stats.red),
  );
  grid.append(timeline, stats);
  detail.replaceChildren(backLink(), hero, grid);
}

function backLink(): HTMLElement {
  const a = el('a', 'back');
  a.href = '/sports/';
  a.innerHTML = `${icons.back(16)}<span>All matches</span>`;
  a.addEventListener('click', (event) => {
    event.preventDefault();
    navigate('/sports/');
  });
  return a;
}

let toastTimer: number | undefined;
function goalToast(m: Match, e: MatchEvent): void {
  const toast = $('#toast');
  toast.hidden = false;
  toast.innerHTML = `<span class="toast-icon">${icons.ball(22)}</span>`;
  const body = el('div');
  body.append(
    el('strong', '', `Goal! ${m.home.code} ${m.score[0]}–${m.score[1]} ${m.away.code}`),
    el('span', 'muted', `${e.player} ${e.minute}'`),
  );
  toast.append(body);
  flash(toast, 'toast-in');
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => {
    toast.hidden = true;
  }, 4_000);
}

function navigate(path: string): void {
  history.pushState(null, '', path);
  window.scrollTo(0, 0);
  void start(); // a different topic: the match's own, or all matches
}

window.addEventListener('popstate', () => void start());
void start().catch((error: unknown) => showStatus(pill, 'offline', String(error)));
