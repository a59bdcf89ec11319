// A zone's UTC offset at an instant and its offset transitions, through Intl only.

const formatters = new Map<string, Intl.DateTimeFormat>();
const OFFSET_TEXT = /GMT(?:([+-])(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?)?$/;

/** The zone's offset from UTC at instant `ms`, in milliseconds (positive east of Greenwich). */
export function offsetMs(zone: string, ms: number): number {
  if (zone === 'UTC') return 0;
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    formatters.set(zone, format);
  }
  const match = OFFSET_TEXT.exec(format.format(ms));
  if (match === null) throw new Error(`cannot read the UTC offset of ${zone} at ${new Date(ms).toISOString()}`);
  if (match[1] === undefined) return 0;
  const seconds = Number(match[2]) * 3600 + Number(match[3] ?? 0) * 60 + Number(match[4] ?? 0);
  return (match[1] === '-' ? -seconds : seconds) * 1000;
}

/** The zone's offset from UTC at instant `ms`, in minutes (Europe/Berlin in summer: 120). */
export function offsetMinutes(zone: string, ms: number): number {
  return offsetMs(zone, ms) / 60_000;
}

/** Offsets are sampled this far apart when looking for a change; no zone changes twice within it. */
const SAMPLE_MS = 7 * 86_400_000;

/**
 * The first instant in (fromMs, toMs] at which the zone's offset differs from its offset at fromMs,
 * or null when it does not change in that span. Samples weekly, then bisects to the millisecond.
 */
export function nextTransition(zone: string, fromMs: number, toMs: number): number | null {
  if (toMs <= fromMs) return null;
  const base = offsetMs(zone, fromMs);
  let low = fromMs;
  for (;;) {
    const high = Math.min(low + SAMPLE_MS, toMs);
    if (offsetMs(zone, high) !== base) return bisect(zone, base, low, high);
    if (high === toMs) return null;
    low = high;
  }
}

/** Offset at `low` is `base`, at `high` it is not: the first instant after `low` where it is not. */
function bisect(zone: string, base: number, low: number, high: number): number {
  while (high - low > 1) {
    const mid = low + Math.floor((high - low) / 2);
    if (offsetMs(zone, mid) === base) low = mid;
    else high = mid;
  }
  return high;
}
