/**
 * The football simulator: a backend that plays several matches at once and publishes every change to the
 * hub (a topic per match plus one for all of them), keeping the authoritative state for late joiners.
 *
 * Each update carries the match summary with a per-match `seq` that grows by one per update. Pages load a
 * snapshot (`GET /sports/api/matches`, which includes `seq` and the hub ID of the last published update),
 * then subscribe with that ID as `Last-Event-ID`: the hub replays what was published since, and `seq`
 * makes applying an update twice harmless and a gap detectable.
 */
import type { Outbox } from '../publisher.js';
import {
  MATCH_TOPIC_PREFIX,
  type Match,
  type MatchEvent,
  type MatchUpdate,
  matchTopic,
  SPORTS_ALL_TOPIC,
  type Team,
} from './model.js';

const TEAMS: Team[] = [
  { code: 'ARS', name: 'Arsenne FC', color: '#d7263d' },
  { code: 'BRV', name: 'Brava United', color: '#1b4ed8' },
  { code: 'CAL', name: 'Calder City', color: '#0ea5e9' },
  { code: 'DUN', name: 'Dunmore Rovers', color: '#16a34a' },
  { code: 'ELM', name: 'Elmfield Athletic', color: '#7c3aed' },
  { code: 'FAL', name: 'Falkirk Harbour', color: '#f59e0b' },
  { code: 'GRN', name: 'Granton Albion', color: '#059669' },
  { code: 'HAV', name: 'Haverly Town', color: '#e11d48' },
  { code: 'IRO', name: 'Ironbridge', color: '#475569' },
  { code: 'JUN', name: 'Juniper Wanderers', color: '#0f766e' },
  { code: 'KES', name: 'Kestrel Park', color: '#ea580c' },
  { code: 'LOW', name: 'Lowmoor Saints', color: '#be123c' },
  { code: 'MER', name: 'Merrow Vale', color: '#2563eb' },
  { code: 'NOR', name: 'Northgate', color: '#a16207' },
  { code: 'ORW', name: 'Orwell Forest', color: '#15803d' },
  { code: 'PEN', name: 'Penrose Villa', color: '#9333ea' },
];
const COMPETITIONS = ['Premier Division', 'Premier Division', 'Championship', 'Cup · Round of 16'];
const SURNAMES = [
  'Silva',
  'Okafor',
  'Larsen',
  'Moreau',
  'Kane',
  'Novak',
  'Haddad',
  'Rossi',
  'Müller',
  'Tanaka',
  'Adeyemi',
  'García',
  'Kowalski',
  'Byrne',
  'Petit',
  'Santos',
  'Eriksen',
  'Diallo',
  'Costa',
  'Yilmaz',
  'Walsh',
  'Fofana',
  'Ito',
  'Varga',
  'Lindqvist',
  'Mensah',
  'Duarte',
  'Hughes',
  'Bakker',
  'Romero',
  'Nkosi',
  'Horvat',
];

export interface SportsSimulatorOptions {
  /** Matches played at once. Default 8. */
  matches?: number;
  /** Real milliseconds per match minute. Default 1,000. */
  minuteMs?: number;
  /** Random source (tests inject a seeded one). */
  random?: () => number;
}

export class SportsSimulator {
  readonly matches: Match[] = [];
  /** The hub ID of the last update the hub accepted (undefined before the first). */
  lastEventId: string | undefined;
  private readonly random: () => number;
  private readonly timer: NodeJS.Timeout;
  private fixture = 0;
  private pause = new Map<string, number>();

  constructor(
    private readonly outbox: Outbox,
    options: SportsSimulatorOptions = {},
  ) {
    this.random = options.random ?? Math.random;
    const count = Math.max(1, options.matches ?? 8);
    for (let i = 0; i < count; i++) {
      const match = this.newMatch(`m${i + 1}`);
      // Start the board mid-round: matches at different minutes, their past incidents already played.
      const start = Math.floor(this.random() * 85) - 5;
      for (let m = 0; m < start; m++) this.step(match, false);
      this.matches.push(match);
    }
    this.timer = setInterval(() => this.tick(), options.minuteMs ?? 1_000);
    this.timer.unref();
  }

  snapshot(): { matches: Match[]; lastEventId: string | undefined } {
    return { matches: this.matches, lastEventId: this.lastEventId };
  }

  match(id: string): Match | undefined {
    return this.matches.find((m) => m.id === id);
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** One match minute for every match. */
  tick(): void {
    for (const match of this.matches) this.step(match, true);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!;
  }

  private newMatch(id: string): Match {
    const n = this.fixture++;
    const pool = [...TEAMS];
    const home = pool.splice((n * 7 + Math.floor(this.random() * pool.length)) % pool.length, 1)[0]!;
    const away = pool.splice(Math.floor(this.random() * pool.length), 1)[0]!;
    const roster = (): string[] => {
      const names = new Set<string>();
      while (names.size < 16) names.add(this.pick(SURNAMES));
      return [...names];
    };
    return {
      id,
      competition: this.pick(COMPETITIONS),
      home: { ...home, players: roster(), onPitch: 11 },
      away: { ...away, players: roster(), onPitch: 11 },
      score: [0, 0],
      minute: 0,
      status: 'scheduled',
      stats: {
        shots: [0, 0],
        onTarget: [0, 0],
        corners: [0, 0],
        possession: 50,
        yellow: [0, 0],
        red: [0, 0],
      },
      events: [],
      seq: 0,
      kickoffIn: 5,
    };
  }

  /** Advances a match by one minute; publishes when `publish` (otherwise it is the silent warm-up). */
  private step(match: Match, publish: boolean): void {
    const wait = this.pause.get(match.id) ?? 0;
    if (wait > 0) {
      this.pause.set(match.id, wait - 1);
      if (match.status === 'scheduled') {
        match.kickoffIn = wait - 1;
      }
      return;
    }
    const r = this.random;
    switch (match.status) {
      case 'scheduled':
        match.status = 'live';
        match.minute = 1;
        this.emit(match, { kind: 'kickoff', minute: 1 }, publish);
        return;
      case 'half-time':
        match.status = 'live';
        match.minute = 46;
        this.emit(match, { kind: 'second-half', minute: 46 }, publish);
        return;
      case 'full-time': {
        // A new fixture in this slot.
        const next = this.newMatch(match.id);
        Object.assign(match, next, { seq: match.seq });
        this.pause.set(match.id, 8);
        match.kickoffIn = 8;
        this.emit(match, { kind: 'fixture', minute: 0 }, publish);
        return;
      }
    }
    match.minute++;
    const m = match.minute;
    if (m === 46 && match.events.every((e) => e.kind !== 'half-time')) {
      match.minute = 45;
      match.status = 'half-time';
      this.pause.set(match.id, 4);
      this.emit(match, { kind: 'half-time', minute: 45 }, publish);
      return;
    }
    if (m >= 91 + Math.floor(r() * 4)) {
      match.status = 'full-time';
      this.pause.set(match.id, 12);
      this.emit(match, { kind: 'full-time', minute: m - 1 }, publish);
      return;
    }
    // Possession drifts; incidents are drawn per minute.
    match.stats.possession = Math.round(Math.min(72, Math.max(28, match.stats.possession + (r() - 0.5) * 6)));
    const side = r() * 100 < match.stats.possession ? 0 : 1;
    const team = side === 0 ? match.home : match.away;
    const x = r();
    let event: Omit<MatchEvent, 'seq'> | undefined;
    if (x < 0.035) {
      match.score[side]++;
      match.stats.shots[side]++;
      match.stats.onTarget[side]++;
      const scorer = this.pick(team.players.slice(0, 11));
      const assist = r() < 0.7 ? this.pick(team.players.slice(0, 11).filter((p) => p !== scorer)) : undefined;
      event = { kind: 'goal', minute: m, side: side ? 'away' : 'home', player: scorer, assist };
    } else if (x < 0.06) {
      match.stats.yellow[side]++;
      event = {
        kind: 'yellow',
        minute: m,
        side: side ? 'away' : 'home',
        player: this.pick(team.players.slice(0, 11)),
      };
    } else if (x < 0.064 && team.onPitch > 9) {
      match.stats.red[side]++;
      team.onPitch--;
      event = {
        kind: 'red',
        minute: m,
        side: side ? 'away' : 'home',
        player: this.pick(team.players.slice(0, 11)),
      };
    } else if (x < 0.1 && m > 55) {
      const out = this.pick(team.players.slice(0, 11));
      const bench = team.players.slice(11);
      if (bench.length > 0) {
        const inn = bench[0]!;
        team.players = [
          ...team.players.slice(0, 11).map((p) => (p === out ? inn : p)),
          ...bench.slice(1),
          out,
        ];
        event = { kind: 'sub', minute: m, side: side ? 'away' : 'home', player: inn, playerOut: out };
      }
    } else if (x < 0.2) {
      match.stats.shots[side]++;
      if (r() < 0.4) match.stats.onTarget[side]++;
      if (r() < 0.3) match.stats.corners[side]++;
    }
    this.emit(match, event ?? { kind: 'clock', minute: m }, publish);
  }

  private emit(match: Match, event: Omit<MatchEvent, 'seq'>, publish: boolean): void {
    match.seq++;
    const full: MatchEvent = { ...event, seq: match.seq };
    // A clock tick is not an incident, and a new fixture starts with an empty timeline (not a blank row).
    if (full.kind !== 'clock' && full.kind !== 'fixture') match.events.push(full);
    if (!publish) return;
    const { events: _events, ...summary } = match;
    const update: MatchUpdate = { match: structuredClone(summary), event: full };
    void this.outbox
      .push({ topics: [matchTopic(match.id), SPORTS_ALL_TOPIC], data: JSON.stringify(update), type: 'match' })
      .then((id) => {
        if (id !== undefined) this.lastEventId = id;
      });
  }
}

export { MATCH_TOPIC_PREFIX };
