// A job's period as the dead man's switch of the alert rules sees it (deploy/prometheus/): how long the
// job may go between two successful runs while it is healthy. Pure: a function of (schedule, now).

import type { Schedule } from '../definitions/types.ts';
import { firesBetween, nextFire } from './next.ts';

/**
 * The largest of the gaps around `nowMs`: between the last two fires at or before it and from the last
 * one to the next. For `every`, the interval; for a cron, the gap that matters now (a weekday job's
 * weekend gap while it lasts, its daily gap afterwards), so that time since the last success stays
 * under two periods while every run succeeds, and goes over once two fires in a row did not succeed.
 * Undefined when no success is expected: `once`, `at` and chained (`after`) jobs, a schedule not yet
 * started (no fire so far) or ended (no next fire).
 */
export function periodMs(schedule: Schedule, nowMs: number): number | undefined {
  const kind = schedule.trigger.kind;
  if (kind !== 'every' && kind !== 'cron' && kind !== 'crons') return undefined;
  const next = nextFire(schedule, nowMs);
  if (next === null) return undefined;
  const before = kind === 'every' ? firesBetween(schedule, Number.MIN_SAFE_INTEGER, nowMs, 2) : lastTwoFires(schedule, nowMs, next);
  const last = before.at(-1);
  if (last === undefined) return undefined;
  const gaps = [next - last, ...(before.length === 2 ? [last - before[0]!] : [])];
  return Math.max(...gaps);
}

/**
 * The last two fires at or before `nowMs` (fewer when the schedule has fewer), oldest first. Walks
 * forward from a start guessed from the gap after the next fire, four times further back each round:
 * one round for most schedules (firesBetween starts at a minute back, which costs a daily job seven).
 */
function lastTwoFires(schedule: Schedule, nowMs: number, next: number): number[] {
  const after = nextFire(schedule, next);
  let span = 2 * Math.max(60_000, next - nowMs, after === null ? 0 : after - next);
  const earliest = schedule.startAtMs === undefined ? Number.MIN_SAFE_INTEGER : schedule.startAtMs - 1;
  for (;;) {
    const from = Math.max(earliest, nowMs - span);
    const fires: number[] = [];
    for (let fire = nextFire(schedule, from); fire !== null && fire <= nowMs; fire = nextFire(schedule, fire)) {
      fires.push(fire);
      if (fires.length > 2) fires.shift();
    }
    if (fires.length === 2 || from === earliest || span > 100 * 366 * 86_400_000) return fires;
    span *= 4;
  }
}

/**
 * periodMs remembered per schedule until the schedule's next fire (before it the answer cannot change):
 * a scrape then recomputes only the jobs that fired since the last one, and jobs with the same schedule
 * (10,000 nightly jobs at 03:00) share one computation. A cron period costs a few cron-parser steps
 * (about 0.5 ms), so a first scrape of 10,000 distinct crons would cost seconds: callers ask `fresh` first
 * and may serve `last` (or nothing) for now. Schedules are the catalog's objects, replaced when a file
 * changes, so the WeakMap forgets removed and edited jobs by itself.
 */
export class PeriodCache {
  private readonly known = new WeakMap<Schedule, Remembered>();
  private readonly shared = new Map<string, Remembered>();

  /** Whether periodMs(schedule, nowMs) is answered from memory. */
  fresh(schedule: Schedule, nowMs: number): boolean {
    const hit = this.known.get(schedule);
    return (hit !== undefined && nowMs < hit.untilMs) || this.sharedFresh(schedule, nowMs) !== undefined;
  }

  /** The last value computed for the schedule, however old; undefined when none. */
  last(schedule: Schedule): number | undefined {
    return this.known.get(schedule)?.periodMs;
  }

  periodMs(schedule: Schedule, nowMs: number): number | undefined {
    const hit = this.known.get(schedule);
    if (hit && nowMs < hit.untilMs) return hit.periodMs;
    let entry = this.sharedFresh(schedule, nowMs);
    if (entry === undefined) {
      const next = nextFire(schedule, nowMs);
      entry = { untilMs: next ?? Number.POSITIVE_INFINITY, periodMs: periodMs(schedule, nowMs) };
      if (this.shared.size >= SHARED_LIMIT) this.shared.clear();
      this.shared.set(signature(schedule), entry);
    }
    this.known.set(schedule, entry);
    return entry.periodMs;
  }

  private sharedFresh(schedule: Schedule, nowMs: number): Remembered | undefined {
    const entry = this.shared.get(signature(schedule));
    return entry !== undefined && nowMs < entry.untilMs ? entry : undefined;
  }
}

interface Remembered {
  untilMs: number;
  periodMs: number | undefined;
}

const SHARED_LIMIT = 20_000;

/** What the fires of a schedule depend on (jitter and catch-up do not move them). */
function signature(schedule: Schedule): string {
  return `${JSON.stringify(schedule.trigger)} ${schedule.timezone} ${schedule.startAtMs ?? ''} ${schedule.endAtMs ?? ''}`;
}
