/**
 * Paging helpers shared by the engines: cutting a read down to `ReadOptions.limit` with the position a
 * partial page must report.
 */
import type { HistoryRead, ReadOptions, StoredUpdate, StreamPosition } from './engine.js';

/** The page size asked for, or undefined for an unpaged read. Throws on a limit that is not a positive integer. */
export function limitOf(options: ReadOptions | undefined): number | undefined {
  const limit = options?.limit;
  if (limit === undefined) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`A history read limit must be a positive integer, not ${limit}.`);
  return limit;
}

/**
 * An `ok` read of `updates` (already the whole range, oldest first) cut to `limit`: a partial page reports
 * the position of its last update and `more: true`; the last page reports `position` as given.
 */
export function pageOf(
  updates: readonly StoredUpdate[],
  position: StreamPosition,
  limit: number | undefined,
): HistoryRead & { readonly status: 'ok' } {
  if (limit === undefined || updates.length <= limit) return { status: 'ok', updates, position };
  const page = updates.slice(0, limit);
  const last = page.at(-1)!;
  return { status: 'ok', updates: page, position: { epoch: last.epoch, offset: last.offset }, more: true };
}

/** `limitOf` for engines that answer synchronously: the page size, or the rejected promise to return. */
export function checkedLimit(options: ReadOptions | undefined): number | undefined | Promise<never> {
  try {
    return limitOf(options);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Where a `readAll` continues: the offset to read after in `epoch`, or 0 (from the start) for another epoch. */
export function continueAfter(options: ReadOptions | undefined, epoch: string): number {
  const after = options?.after;
  return after !== undefined && after.epoch === epoch ? after.offset : 0;
}
