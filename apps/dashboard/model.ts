/** The dashboard's stats sample, published once a second by the demo to a private topic of the hub. */

export const STATS_TOPIC = 'https://crier.example/internal/hub-stats';

export interface StatsSample {
  /** Time of the sample (ms since the epoch). */
  t: number;
  connections: number;
  /** Updates fanned out per second over the last interval. */
  publishesPerSec: number;
  /** Events handed to connections per second over the last interval. */
  deliveriesPerSec: number;
  totals: { updates: number; deliveries: number; slowDisconnects: number; stalledDisconnects: number };
  /** Connections per subscribed selector, most subscribed first (at most 25). */
  selectors: { selector: string; subscribers: number }[];
  /** Distinct selectors subscribed now. */
  topicCount: number;
  /** Subscribers of each demo app's main topics, by `hub.subscribersOf`. */
  apps: { name: string; topic: string; subscribers: number }[];
  /** Seconds since the stats feed (the demo, or the hub's dashboard) started. */
  uptime: number;
}

export interface StatsHistory {
  hub: string;
  topic: string;
  /** False for the dashboard alone (`crier serve --dashboard`): the page hides the demo's links and topics. */
  demo: boolean;
  samples: StatsSample[];
}
