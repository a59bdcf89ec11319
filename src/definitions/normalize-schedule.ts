// The `schedule` of a job file → a Schedule: one trigger, a canonical zone, durations in ms.

import { fromApscheduler } from './apscheduler.ts';
import { bothDaysNeverMatch, bothDaysProblem, parseCron, restrictsBothDays } from './cron.ts';
import { ERROR_CODES } from './errors.ts';
import { duration, Problems, type Path } from './fields.ts';
import { parseInstant } from './instant.ts';
import type { ScheduleInput } from './job-file.ts';
import type { ChainState, CronSource, Schedule, Trigger } from './types.ts';
import { canonicalZone } from './zone.ts';

const KINDS = ['cron', 'every', 'at', 'once', 'after', 'type'] as const;
const HOUR = 3_600_000;

/** A bare string schedule as the object form it stands for. */
export function scheduleFromString(text: string): ScheduleInput {
  const t = text.trim();
  if (t.toLowerCase() === '@once') return { once: true };
  const every = /^every\s+(.+)$/i.exec(t);
  if (every) return { every: every[1]! };
  if (/^\d{4}-\d{2}-\d{2}([T ]|$)/.test(t)) return { at: t };
  return { cron: t };
}

export function normalizeSchedule(
  problems: Problems,
  raw: string | string[] | ScheduleInput,
  defaultTimezone: string,
): Schedule | undefined {
  const path: Path = ['schedule'];
  let input = typeof raw === 'string' ? scheduleFromString(raw) : Array.isArray(raw) ? { cron: raw } : raw;
  const kinds = KINDS.filter((k) => input[k] !== undefined);
  if (kinds.length === 0) {
    problems.add(ERROR_CODES.schedule, path, 'needs one of cron, every, at, once, after (or APScheduler type + args)');
    return undefined;
  }
  if (kinds.length > 1) {
    problems.add(ERROR_CODES.schedule, [...path, kinds[1]!], `two schedule kinds, ${kinds[0]} and ${kinds[1]}: keep one`);
    return undefined;
  }
  if (input.type !== undefined) {
    const converted = problems.attempt(() => fromApscheduler(input as ScheduleInput, path));
    if (!converted) return undefined;
    input = converted;
  }
  const field = (key: string): Path => (typeof raw === 'string' || Array.isArray(raw) ? path : [...path, key]);

  const zoneName = input.timezone ?? defaultTimezone;
  const timezone = canonicalZone(zoneName);
  if (!timezone) {
    problems.add(ERROR_CODES.timezone, field('timezone'), `"${zoneName}" is not an IANA time zone such as "Europe/Berlin", "America/New_York" or "UTC"`);
    return undefined;
  }
  const instant = (key: 'at' | 'anchor' | 'start_at' | 'end_at'): number | undefined => {
    const text = input[key];
    if (text === undefined) return undefined;
    const ms = parseInstant(text, timezone);
    if (typeof ms === 'number') return ms;
    problems.add(ERROR_CODES.schedule, field(key), ms.error);
    return undefined;
  };

  let trigger: Trigger | undefined;
  if (input.cron !== undefined) {
    trigger = cronTrigger(problems, input.cron, field('cron'), daysMatch(problems, input.days_match, field('days_match')));
  } else if (input.every !== undefined) {
    const intervalMs = duration(problems, input.every, field('every'), 0, { min: 1000 });
    if (intervalMs > 0) trigger = { kind: 'every', intervalMs, anchorMs: instant('anchor') ?? 0 };
  } else if (input.at !== undefined) {
    const atMs = instant('at');
    if (atMs !== undefined) trigger = { kind: 'at', atMs };
  } else if (input.after !== undefined) {
    trigger = { kind: 'after', job: input.after, on: (input.on as ChainState[] | undefined) ?? ['succeeded'] };
  } else {
    trigger = { kind: 'once' };
  }
  if (input.on !== undefined && input.after === undefined) {
    problems.add(ERROR_CODES.schedule, field('on'), 'on applies to after only');
  }
  if (input.days_match !== undefined && input.cron === undefined) {
    problems.add(ERROR_CODES.schedule, field('days_match'), 'days_match applies to cron only');
  }
  if (input.anchor !== undefined && input.every === undefined) {
    problems.add(ERROR_CODES.schedule, field('anchor'), 'anchor applies to every only');
  }

  const startAtMs = instant('start_at');
  const endAtMs = instant('end_at');
  if (startAtMs !== undefined && endAtMs !== undefined && endAtMs <= startAtMs) {
    problems.add(ERROR_CODES.schedule, field('end_at'), 'end_at must be after start_at');
  }
  const jitterMs = duration(problems, input.jitter, field('jitter'), 0);
  const catchupWindowMs = duration(problems, input.catchup_window, field('catchup_window'), HOUR);
  if (!trigger) return undefined;
  return {
    trigger,
    timezone,
    jitterMs,
    catchup: input.catchup ?? 'skip',
    catchupWindowMs,
    ...(startAtMs !== undefined ? { startAtMs } : {}),
    ...(endAtMs !== undefined ? { endAtMs } : {}),
  };
}

/**
 * One expression → a `cron` trigger; a list → the union of its expressions (`crons`), in the order
 * written, an expression that repeats another (`@daily` and `0 0 * * *`) kept once. A list of one is
 * the same trigger as the expression alone.
 */
function cronTrigger(problems: Problems, cron: string | string[], path: Path, both: boolean): Trigger | undefined {
  const list = typeof cron === 'string' ? [cron] : cron;
  if (list.length === 0) {
    problems.add(ERROR_CODES.cron, path, 'an empty list: give at least one cron expression');
    return undefined;
  }
  const crons: CronSource[] = [];
  let bad = false;
  for (const [index, source] of list.entries()) {
    const parsed = parseCron(source);
    if ('error' in parsed) {
      problems.add(ERROR_CODES.cron, typeof cron === 'string' ? path : [...path, index], parsed.error);
      bad = true;
    } else if (both && bothDaysProblem(parsed.expression)) {
      problems.add(ERROR_CODES.cron, typeof cron === 'string' ? path : [...path, index], bothDaysProblem(parsed.expression)!);
      bad = true;
    } else if (both && restrictsBothDays(parsed.expression) && bothDaysNeverMatch(parsed.expression)) {
      problems.add(ERROR_CODES.cron, typeof cron === 'string' ? path : [...path, index], `"${source}" with days_match: both never occurs: no day of its months is both one of its days of the month and one of its weekdays`);
      bad = true;
    } else if (!crons.some((c) => c.expression === parsed.expression)) {
      crons.push({ expression: parsed.expression, source, ...(both && restrictsBothDays(parsed.expression) ? { daysMatch: 'both' as const } : {}) });
    }
  }
  if (bad) return undefined;
  if (crons.length === 1) return { kind: 'cron', ...crons[0]! };
  return { kind: 'crons', crons };
}

/** `days_match`: true for `both`; `either` (the default) and a bad value (reported) are false. */
function daysMatch(problems: Problems, value: unknown, path: Path): boolean {
  if (value === undefined || value === 'either') return false;
  if (value === 'both') return true;
  problems.add(ERROR_CODES.schedule, path, `${JSON.stringify(value)}: days_match is either (the default) or both`);
  return false;
}

