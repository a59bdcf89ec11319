// The planner: when a schedule fires. Pure functions of (schedule, instant); no clock, no jitter.
// A fire keeps its nominal instant as its identity; jitter (jitter.ts) only delays the run.

import type { Schedule } from '../definitions/types.ts';
import { compileCron, type CompiledCron } from './cron-matcher.ts';
import { nextTransition, offsetMs } from './zone.ts';

/**
 * The first nominal fire strictly after `afterMs`, or null when there is none: an `at` already
 * past, a fire after `endAtMs`, and always for `once` (the agent runs those when it loads them).
 * No fire is produced before `startAtMs`.
 */
export function nextFire(schedule: Schedule, afterMs: number): number | null {
  const from = schedule.startAtMs === undefined ? afterMs : Math.max(afterMs, schedule.startAtMs - 1);
  const fire = nominalNext(schedule, from);
  if (fire === null || (schedule.endAtMs !== undefined && fire > schedule.endAtMs)) return null;
  return fire;
}

/** Up to `count` fires strictly after `afterMs`, oldest first. */
export function nextFires(schedule: Schedule, afterMs: number, count: number): number[] {
  const fires: number[] = [];
  let after = afterMs;
  while (fires.length < count) {
    const fire = nextFire(schedule, after);
    if (fire === null) break;
    fires.push(fire);
    after = fire;
  }
  return fires;
}

/**
 * The fires f with fromMs < f <= toMs, oldest first. When there are more than `limit`, the most
 * recent `limit` are returned: catch-up `all` runs at most 100 missed fires, and the newest are
 * the ones still worth running. The search starts near `toMs` and widens (×4) until it has
 * `limit` fires or covers the whole span, so a long outage of a per-second job stays cheap.
 */
export function firesBetween(schedule: Schedule, fromMs: number, toMs: number, limit: number): number[] {
  if (limit <= 0 || toMs <= fromMs) return [];
  if (schedule.trigger.kind === 'every') return everyBetween(schedule, fromMs, toMs, limit);
  for (let span = 60_000; ; span *= 4) {
    const start = Math.max(fromMs, toMs - span);
    const fires: number[] = [];
    for (let fire = nextFire(schedule, start); fire !== null && fire <= toMs; fire = nextFire(schedule, fire)) {
      fires.push(fire);
      if (fires.length > limit) fires.shift();
    }
    if (fires.length >= limit || start === fromMs) return fires;
  }
}

function nominalNext(schedule: Schedule, afterMs: number): number | null {
  const { trigger } = schedule;
  switch (trigger.kind) {
    case 'once':
    case 'after': // fired by the upstream job's runs, not by the clock
      return null;
    case 'at':
      return trigger.atMs > afterMs ? trigger.atMs : null;
    case 'every': {
      if (!(trigger.intervalMs > 0)) return null;
      const k = Math.floor((afterMs - trigger.anchorMs) / trigger.intervalMs) + 1;
      return trigger.anchorMs + k * trigger.intervalMs;
    }
    case 'cron':
      return nextCron(compileCron(trigger.expression, trigger.daysMatch), schedule.timezone, afterMs);
    case 'crons': {
      // The union: the earliest of each expression's next fire (each with its own DST rule), once.
      let earliest: number | null = null;
      for (const cron of trigger.crons) {
        const fire = nextCron(compileCron(cron.expression, cron.daysMatch), schedule.timezone, afterMs);
        if (fire !== null && (earliest === null || fire < earliest)) earliest = fire;
      }
      return earliest;
    }
  }
}

/**
 * The expressions (as written) of a cron schedule that have a fire at `fireMs`, in the order of the
 * file: one for a single `cron`, one or more for a list. Empty for other kinds or an instant that is
 * not a fire. `jobsd next` shows them.
 */
export function firedBy(schedule: Schedule, fireMs: number): string[] {
  const { trigger } = schedule;
  const crons = trigger.kind === 'cron' ? [trigger] : trigger.kind === 'crons' ? trigger.crons : [];
  return crons
    .filter((cron) => nextCron(compileCron(cron.expression, cron.daysMatch), schedule.timezone, fireMs - 1) === fireMs)
    .map((cron) => cron.source);
}

/** `every` fires in (fromMs, toMs], the most recent `limit`, by arithmetic alone. */
function everyBetween(schedule: Schedule, fromMs: number, toMs: number, limit: number): number[] {
  if (schedule.trigger.kind !== 'every' || !(schedule.trigger.intervalMs > 0)) return [];
  const { anchorMs, intervalMs } = schedule.trigger;
  const low = schedule.startAtMs === undefined ? fromMs : Math.max(fromMs, schedule.startAtMs - 1);
  const high = schedule.endAtMs === undefined ? toMs : Math.min(toMs, schedule.endAtMs);
  const first = Math.floor((low - anchorMs) / intervalMs) + 1; // fires are anchor + k × interval
  const last = Math.floor((high - anchorMs) / intervalMs);
  const fires: number[] = [];
  for (let k = Math.max(first, last - limit + 1); k <= last; k++) fires.push(anchorMs + k * intervalMs);
  return fires;
}

/**
 * The first cron fire strictly after `afterMs` in `zone`, by the rule of Vixie cron and cronie:
 * - wild jobs (minute or hour starts with `*`) fire at every instant whose wall-clock time
 *   matches: the minutes a spring-forward gap skips do not exist, and a repeated hour fires twice;
 * - fixed-time jobs fire at the first instant a matching wall-clock time occurs, and a matching
 *   time inside a gap fires once, at the end of the gap.
 * Walks the zone's constant-offset segments: in each one wall time = instant + offset, so one
 * cron-parser step over wall time finds the candidate, and only a transition before it costs more.
 */
function nextCron(cron: CompiledCron, zone: string, afterMs: number): number | null {
  let from = afterMs;
  let inclusive = false; // after the first round `from` is a transition, itself a possible fire
  // Fixed-time jobs: wall-clock times at or before this have already had their fire.
  let doneWall = cron.wild ? -Infinity : repeatedWallEnd(zone, afterMs);
  for (let guard = 0; guard < 1000; guard++) {
    const offset = offsetMs(zone, from);
    const afterWall = Math.max(from + offset - (inclusive ? 1 : 0), doneWall);
    const wall = cron.nextWall(afterWall);
    if (wall === null) return null;
    const candidate = wall - offset;
    const change = zone === 'UTC' ? null : nextTransition(zone, from, candidate);
    if (change === null) return candidate;
    const newOffset = offsetMs(zone, change);
    if (!cron.wild) {
      // `wall` is at or after the change in the old offset; before the new clock starts it is in the gap.
      if (newOffset > offset && wall < change + newOffset) return change;
      doneWall = Math.max(doneWall, change + offset - 1);
    }
    from = change;
    inclusive = true;
  }
  return null;
}

/** No zone sets its clock back further than this (Lord Howe: 30 minutes; most: 1 hour). */
const LONGEST_FOLD_MS = 6 * 3_600_000;

/**
 * When `ms` falls in the second pass of a repeated (fall-back) hour, the last wall-clock time
 * the first pass reached (so fixed-time jobs do not fire again); otherwise -Infinity.
 */
function repeatedWallEnd(zone: string, ms: number): number {
  if (zone === 'UTC') return -Infinity;
  const before = offsetMs(zone, ms - LONGEST_FOLD_MS);
  const now = offsetMs(zone, ms);
  if (before <= now) return -Infinity;
  const change = nextTransition(zone, ms - LONGEST_FOLD_MS, ms);
  return change === null ? -Infinity : change + before - 1;
}
