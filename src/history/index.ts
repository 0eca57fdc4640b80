/** Event history for replay: a ring bounded by count, bytes and age. */
export {
  DEFAULT_HISTORY_MAX_AGE_MS,
  DEFAULT_HISTORY_MAX_BYTES,
  DEFAULT_HISTORY_MAX_COUNT,
  HistoryRing,
  type HistoryRingOptions,
  type RingEntry,
  type RingLookup,
} from './ring.js';
