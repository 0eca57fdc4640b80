/** The scoreboard's data model, shared by the simulator (server) and the page (browser). */

export const SPORTS_ALL_TOPIC = 'https://crier.example/sports/matches';
export const MATCH_TOPIC_PREFIX = 'https://crier.example/sports/matches/';
export const matchTopic = (id: string): string => MATCH_TOPIC_PREFIX + id;

export interface Team {
  code: string;
  name: string;
  color: string;
}

export interface Side extends Team {
  players: string[];
  onPitch: number;
}

export type EventKind =
  | 'fixture'
  | 'kickoff'
  | 'clock'
  | 'goal'
  | 'yellow'
  | 'red'
  | 'sub'
  | 'half-time'
  | 'second-half'
  | 'full-time';

export interface MatchEvent {
  /** The match's update sequence number this incident came with. */
  seq: number;
  kind: EventKind;
  minute: number;
  side?: 'home' | 'away';
  player?: string;
  assist?: string;
  playerOut?: string;
}

export interface MatchStats {
  shots: [number, number];
  onTarget: [number, number];
  corners: [number, number];
  possession: number;
  yellow: [number, number];
  red: [number, number];
}

export interface Match {
  id: string;
  competition: string;
  home: Side;
  away: Side;
  score: [number, number];
  minute: number;
  status: 'scheduled' | 'live' | 'half-time' | 'full-time';
  stats: MatchStats;
  /** Every incident so far (not the clock ticks). */
  events: MatchEvent[];
  /** Grows by one with every update published for this match. */
  seq: number;
  /** Minutes until kickoff while scheduled. */
  kickoffIn: number;
}

/** What one published update carries: the match after the change (without its incident list) and the change. */
export interface MatchUpdate {
  match: Omit<Match, 'events'>;
  event: MatchEvent;
}

export interface MatchesSnapshot {
  hub: string;
  allTopic: string;
  matches: Match[];
  lastEventId: string | null;
}
