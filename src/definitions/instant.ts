// ISO 8601 timestamps in job files. Without an offset they are read in the job's time zone, with the
// DST rule of cron schedules (README "Time, DST and overlap"): a wall time in a spring-forward gap is
// the end of the gap (Europe/Berlin 2027-03-28T02:30 → 03:00 CEST), and a wall time that happens twice
// is its first occurrence (2027-10-31T02:30 → 02:30 CEST). Luxon alone gives 03:30 and the second one.

import { DateTime } from 'luxon';

/** An explicit offset after the time of day: `…T02:30Z`, `… 02:30:00+01:00`, `…T0230-0500`. */
const EXPLICIT_OFFSET = /[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;
/** Offsets within this of a wall time are the ones it may be read with (the longest gap was a day: Samoa 2011). */
const AROUND_MS = 26 * 3_600_000;

export function parseInstant(text: string, zone: string): number | { error: string } {
  const trimmed = text.trim();
  let parsed = DateTime.fromISO(trimmed, { zone });
  let naive = DateTime.fromISO(trimmed, { zone: 'UTC' });
  if (!parsed.isValid) {
    parsed = DateTime.fromSQL(trimmed, { zone }); // APScheduler's "2026-01-05 10:00:00"
    naive = DateTime.fromSQL(trimmed, { zone: 'UTC' });
  }
  if (!parsed.isValid) {
    return { error: `"${text}" is not an ISO 8601 timestamp such as "2026-12-01T02:00:00+01:00" or "2026-12-01T02:00" (read in the schedule's time zone)` };
  }
  if (EXPLICIT_OFFSET.test(trimmed) || zone === 'UTC') return parsed.toMillis();
  return wallInstant(naive.toMillis(), zone);
}

/** The zone's offset at `ms`, in milliseconds. */
function offsetAt(ms: number, zone: string): number {
  return DateTime.fromMillis(ms, { zone }).offset * 60_000;
}

/**
 * The instant of wall time `wall` (its fields as if in UTC) in `zone`: the first instant that shows it,
 * or, when none does (a gap), the end of the gap: the instant the clock jumps past it.
 */
export function wallInstant(wall: number, zone: string): number {
  const offsets = new Set([offsetAt(wall - AROUND_MS, zone), offsetAt(wall, zone), offsetAt(wall + AROUND_MS, zone)]);
  const shown = [...offsets].map((o) => wall - o).filter((t) => t + offsetAt(t, zone) === wall);
  if (shown.length > 0) return Math.min(...shown);
  // In a gap: the clock jumps from before `wall` to after it between wall - larger and wall - smaller offset.
  let low = wall - Math.max(...offsets);
  let high = wall - Math.min(...offsets);
  const before = offsetAt(low, zone);
  while (high - low > 1) {
    const mid = low + Math.floor((high - low) / 2);
    if (offsetAt(mid, zone) === before) low = mid;
    else high = mid;
  }
  return high;
}

/**
 * An instant given on the command line or in an API body (`--at`, `--until`, `until`): a date and a time
 * (`2026-12-24T08:00:00Z`; without an offset, the machine's zone, as Date.parse reads it). Undefined when it
 * is not one.
 */
export function cliInstant(text: unknown): number | undefined {
  if (typeof text !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
