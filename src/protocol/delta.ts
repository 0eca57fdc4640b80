/**
 * Delta updates: an update's `data` sent as a patch against the previous update of the same topic, for
 * subscribers that ask for it (`delta=1`, or `CrierEventSource`'s `delta: true`) and received that
 * previous update. Two patch formats, and each update takes the smaller that rebuilds its data EXACTLY
 * (measured on the demo apps, docs/library.md "Delta updates": JSON Merge Patch is smaller on the ticker's
 * small ticks, a Fossil delta on the sports app's larger match documents):
 *
 * - `m`: a JSON Merge Patch (RFC 7396). It rebuilds a JSON value, not text, so it is used only when
 *   applying it to the previous data and serializing (`JSON.stringify`) gives back the very same text.
 * - `f`: a Fossil delta (the `fossil-delta` package) of the UTF-8 text, used only when it is valid text
 *   without CR (a `data:` payload keeps LF, not CR) that rebuilds the data exactly.
 *
 * On the wire, an event for a delta subscriber has one more field, `delta:`, that a plain EventSource
 * ignores (WHATWG: an unknown field name is ignored), so the `id:` and `event:` are those of the update:
 *
 * - `delta: <slot>`: the data is in full; the client keeps it as the base of topic slot `<slot>`.
 * - `delta: <slot> <m|f>`: the data is a patch against the base of that slot; the client applies it, keeps
 *   the result as the new base, and dispatches it as the data.
 *
 * A slot is a small number the hub gives each topic (the update's first topic), the same for every
 * connection, so every variant of an update is encoded once and shared. A client forgets its slots at every
 * new connection; the hub sends a patch only against the update it sent on that same connection.
 *
 * Free of Node-only APIs: the hub and the client (browsers too) share it.
 */
import { applyStringDelta, createStringDelta } from 'fossil-delta';

/** The SSE field that marks a delta subscriber's events. */
export const DELTA_FIELD = 'delta';
/** The patch formats: JSON Merge Patch, Fossil delta. */
export type PatchFormat = 'm' | 'f';

/** The smaller exact patch from `previous` to `next`, or null when none is smaller than `next`. */
export function diffData(previous: string, next: string): { format: PatchFormat; patch: string } | null {
  const merge = diffJson(previous, next);
  let best: { format: PatchFormat; patch: string } | null =
    merge === null ? null : { format: 'm', patch: merge };
  // A merge patch of a few bytes is as small as it gets: no Fossil delta then (it costs more to compute).
  if (best !== null && best.patch.length < 32) return best;
  const fossil = diffText(previous, next);
  if (fossil !== null && (best === null || fossil.length < best.patch.length))
    best = { format: 'f', patch: fossil };
  return best;
}

/** Rebuilds the data from the previous data and a patch. Throws on a patch that does not apply. */
export function applyPatch(previous: string, format: PatchFormat, patch: string): string {
  if (format === 'm') return applyJsonPatch(previous, patch);
  return applyStringDelta(previous, patch, { verifyChecksum: true });
}

/** A Fossil delta from `previous` to `next` as text, when it is exact, has no CR, and is smaller. */
function diffText(previous: string, next: string): string | null {
  const delta = createStringDelta(previous, next);
  if (delta.length >= next.length || delta.includes('\r') || delta.includes('\uFFFD')) return null;
  try {
    if (applyStringDelta(previous, delta, { verifyChecksum: true }) !== next) return null;
  } catch {
    return null;
  }
  return delta;
}

/**
 * Reads a `delta:` field value: `<slot>` (a full update, kept as that slot's base) or `<slot> <m|f>` (a
 * patch against it). Null when malformed.
 */
export function parseDeltaField(value: string): { slot: number; format: PatchFormat | null } | null {
  const m = /^(\d{1,9})(?: ([mf]))?$/.exec(value);
  if (m === null) return null;
  return { slot: Number(m[1]), format: (m[2] as PatchFormat | undefined) ?? null };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is { [key: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The merge patch (RFC 7396) that turns the JSON text `previous` into the JSON text `next` exactly, as
 * text; `null` when there is none, or none smaller than `next`.
 */
export function diffJson(previous: string, next: string): string | null {
  const a0 = previous.charCodeAt(0);
  const b0 = next.charCodeAt(0);
  if (a0 !== 0x7b || b0 !== 0x7b) return null; // both must be JSON objects ('{')
  let a: unknown;
  let b: unknown;
  try {
    a = JSON.parse(previous);
    b = JSON.parse(next);
  } catch {
    return null;
  }
  if (!isObject(a) || !isObject(b)) return null;
  const patch = mergePatch(a, b);
  if (patch === undefined) return null;
  const text = JSON.stringify(patch);
  if (text.length >= next.length) return null;
  // Only a patch that gives back the very same text is good (key order, spacing, number forms).
  if (JSON.stringify(applyMergePatch(a, patch)) !== next) return null;
  return text;
}

/** Applies a merge patch (text) to the JSON text `previous`; the new JSON text. Throws on bad input. */
function applyJsonPatch(previous: string, patch: string): string {
  return JSON.stringify(applyMergePatch(JSON.parse(previous) as Json, JSON.parse(patch) as Json));
}

/** RFC 7396 §2, MergePatch(Target, Patch). Does not modify `target`. */
function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: { [key: string]: Json } = isObject(target) ? { ...target } : {};
  for (const key of Object.keys(patch)) {
    const value = patch[key]!;
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key] ?? null, value);
  }
  return out;
}

/** The patch from `a` to `b`; undefined when RFC 7396 cannot express it (a `null` member to set). */
function mergePatch(
  a: { [key: string]: Json },
  b: { [key: string]: Json },
): { [key: string]: Json } | undefined {
  const patch: { [key: string]: Json } = {};
  for (const key of Object.keys(a)) if (!Object.hasOwn(b, key)) patch[key] = null;
  for (const key of Object.keys(b)) {
    const next = b[key]!;
    const hadIt = Object.hasOwn(a, key);
    const prev = hadIt ? a[key]! : undefined;
    if (next === null) {
      if (hadIt && prev === null) continue;
      return undefined; // null means "remove" in a merge patch: a null value cannot be set
    }
    if (hadIt && isObject(prev) && isObject(next)) {
      const inner = mergePatch(prev, next);
      if (inner === undefined) return undefined;
      if (Object.keys(inner).length > 0) patch[key] = inner;
      continue;
    }
    if (hadIt && sameJson(prev!, next)) continue;
    if (isObject(next) && containsNull(next)) return undefined;
    patch[key] = next;
  }
  return patch;
}

function containsNull(v: Json): boolean {
  if (v === null) return true;
  if (Array.isArray(v)) return false; // arrays are replaced whole: their nulls are kept
  if (isObject(v)) return Object.values(v).some(containsNull);
  return false;
}

function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
