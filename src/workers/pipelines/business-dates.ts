// Business-date arithmetic for the VictoriaMetrics pipelines (design §4): pure, UTC, no clock.
// A business date is a weekday (Monday–Friday) written YYYY-MM-DD; a date's instant is its 00:00 UTC.

export const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` → epoch milliseconds of 00:00 UTC, or NaN when it is not a real date. */
export function dateMs(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return NaN;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return formatDate(ms) === date ? ms : NaN;
}

/** The UTC date of an instant, `YYYY-MM-DD`. */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Epoch milliseconds of 00:00 UTC of the day that holds `ms`. */
export function startOfDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function isBusinessDay(date: string): boolean {
  const day = new Date(dateMs(date)).getUTCDay();
  return day !== 0 && day !== 6;
}

export function addDays(date: string, days: number): string {
  return formatDate(dateMs(date) + days * DAY_MS);
}

/** Today in UTC, or the last Friday when today is a Saturday or a Sunday. */
export function currentBusinessDate(nowMs: number): string {
  let date = formatDate(nowMs);
  while (!isBusinessDay(date)) date = addDays(date, -1);
  return date;
}

/** The business dates in [from, through], oldest first. */
export function businessDatesBetween(from: string, through: string): string[] {
  const dates: string[] = [];
  for (let d = from; d <= through; d = addDays(d, 1)) if (isBusinessDay(d)) dates.push(d);
  return dates;
}

/** The business date `n` business dates before `date` (n ≥ 0); `date` itself need not be one. */
export function businessDatesBefore(date: string, n: number): string[] {
  const dates: string[] = [];
  for (let d = addDays(date, -1); dates.length < n; d = addDays(d, -1)) if (isBusinessDay(d)) dates.unshift(d);
  return dates;
}

export interface CollectPlan {
  /** Dates to fetch, oldest first: the re-processed window, then every date after the watermark. */
  dates: string[];
  /** Dates at or before the watermark that are fetched again (`sliding_window_days`). */
  reprocessed: string[];
}

/**
 * The dates a vm-collect run processes: every business date after the watermark (from `startDate` when
 * there is none) up to the current business date, preceded by the last `slidingWindowDays` business
 * dates at or before the watermark (never before `startDate`).
 */
export function collectPlan(watermark: string | undefined, startDate: string, slidingWindowDays: number, nowMs: number): CollectPlan {
  const current = currentBusinessDate(nowMs);
  const after = watermark === undefined ? businessDatesBetween(startDate, current) : businessDatesBetween(addDays(watermark, 1), current);
  const reprocessed =
    watermark === undefined ? [] : businessDatesBefore(addDays(watermark, 1), slidingWindowDays).filter((d) => d >= startDate && d <= current);
  return { dates: [...reprocessed, ...after], reprocessed };
}

/**
 * The watermark after a run: advanced over the contiguous successful dates after the old watermark,
 * oldest first, stopping at the first failure. Re-processed dates (at or before the old watermark) never
 * move it back. `undefined` when there was none and the first new date failed.
 */
export function advanceWatermark(old: string | undefined, outcomes: ReadonlyArray<{ date: string; ok: boolean }>): string | undefined {
  let watermark = old;
  for (const { date, ok } of [...outcomes].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))) {
    if (old !== undefined && date <= old) continue;
    if (!ok) break;
    watermark = date;
  }
  return watermark;
}

/** vm-extract's window: the business dates from `offsetDays` calendar days before the current one through it. */
export function extractWindow(nowMs: number, offsetDays: number): string[] {
  const current = currentBusinessDate(nowMs);
  return businessDatesBetween(addDays(current, -offsetDays), current);
}

/** Splits a list into consecutive groups of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += Math.max(1, size)) out.push(items.slice(i, i + Math.max(1, size)));
  return out;
}
