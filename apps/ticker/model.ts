/** The ticker's data model, shared by the feed (server) and the page (browser). */

export const TICKER_TOPIC_PREFIX = 'https://crier.example/ticker/';
/** The RFC 6570 template a page subscribes with to receive every symbol. */
export const TICKER_TOPIC_TEMPLATE = `${TICKER_TOPIC_PREFIX}{symbol}`;
export const tickerTopic = (symbol: string): string => TICKER_TOPIC_PREFIX + symbol;

/** One price update: short keys, because there are thousands per second. */
export interface Tick {
  /** Symbol. */
  s: string;
  /** Price. */
  p: number;
  /** Server time (ms since the epoch). */
  t: number;
  /** Per-symbol sequence number (the page counts what conflation skipped). */
  n: number;
}

export interface SymbolInfo {
  symbol: string;
  name: string;
  sector: string;
  price: number;
  /** The session's opening price (change is measured from it). */
  open: number;
  high: number;
  low: number;
  /** One price per second, oldest first (for the sparklines of a page that just opened). */
  history: number[];
  n: number;
}

export interface TickerSnapshot {
  hub: string;
  topicTemplate: string;
  /** Updates per second per symbol the feed publishes. */
  rate: number;
  symbols: SymbolInfo[];
}

export const SPARK_SECONDS = 120;
