// APScheduler-style schedules, `{type: cron|interval|date, args: {...}}`, as jobsd schedule objects.

import { DefinitionError, ERROR_CODES } from './errors.ts';
import type { ScheduleInput } from './job-file.ts';

type Args = Record<string, string | number>;

// From most to least significant, as APScheduler orders them for defaulting.
const CRON_ORDER = ['year', 'month', 'day', 'week', 'day_of_week', 'hour', 'minute', 'second'] as const;
const CRON_MIN: Record<string, string> = { month: '1', day: '1', hour: '0', minute: '0', second: '0' };
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const INTERVAL_MS: Record<string, number> = { weeks: 604_800_000, days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1_000 };

/** The schedule object `{type, args, ...}` rewritten with cron / every / at; errors carry their path. */
export function fromApscheduler(input: ScheduleInput, path: (string | number)[]): ScheduleInput {
  const { type, args = {}, ...rest } = input;
  const at = (key: string) => [...path, 'args', key];
  const known = (keys: readonly string[]) => {
    for (const key of Object.keys(args)) {
      if (!keys.includes(key)) {
        throw new DefinitionError(ERROR_CODES.schedule, at(key), `unknown ${type} argument; known: ${keys.join(', ')}`);
      }
    }
  };
  const windows = (): ScheduleInput => ({
    ...(args.start_date !== undefined ? { start_at: String(args.start_date) } : {}),
    ...(args.end_date !== undefined ? { end_at: String(args.end_date) } : {}),
    ...(args.timezone !== undefined ? { timezone: String(args.timezone) } : {}),
    ...(args.jitter !== undefined ? { jitter: Number(args.jitter) } : {}),
  });
  const common = ['start_date', 'end_date', 'timezone', 'jitter'];
  if (type === 'date') {
    known(['run_date', 'timezone']);
    if (args.run_date === undefined) throw new DefinitionError(ERROR_CODES.schedule, at('run_date'), 'is required');
    return { ...rest, ...windows(), at: String(args.run_date) };
  }
  if (type === 'interval') {
    known([...Object.keys(INTERVAL_MS), ...common]);
    let ms = 0;
    for (const [unit, size] of Object.entries(INTERVAL_MS)) ms += Number(args[unit] ?? 0) * size;
    if (!(ms > 0)) throw new DefinitionError(ERROR_CODES.schedule, [...path, 'args'], 'an interval needs weeks, days, hours, minutes or seconds');
    const anchor = args.start_date !== undefined ? { anchor: String(args.start_date) } : {};
    return { ...rest, ...windows(), ...anchor, every: `${ms}ms` };
  }
  known([...CRON_ORDER, ...common]);
  for (const unsupported of ['year', 'week'] as const) {
    if (args[unsupported] !== undefined && String(args[unsupported]) !== '*') {
      throw new DefinitionError(ERROR_CODES.schedule, at(unsupported), `${unsupported} is not supported; use month, day or day_of_week`);
    }
  }
  const given = CRON_ORDER.filter((f) => args[f] !== undefined);
  const last = given.length ? CRON_ORDER.indexOf(given[given.length - 1]!) : -1;
  const field = (name: (typeof CRON_ORDER)[number]) =>
    args[name] !== undefined ? String(args[name]).replaceAll(' ', '') : CRON_ORDER.indexOf(name) > last ? (CRON_MIN[name] ?? '*') : '*';
  const dow = args.day_of_week === undefined ? '*' : weekdaysToCron(String(args.day_of_week), at('day_of_week'));
  // APScheduler fires on a day that matches every field given: day and day_of_week both.
  const both = args.day !== undefined && String(args.day) !== '*' && dow !== '*' ? { days_match: 'both' as const } : {};
  return { ...rest, ...windows(), cron: [field('second'), field('minute'), field('hour'), field('day'), field('month'), dow].join(' '), ...both };
}

/** APScheduler day_of_week (0 = Monday, or mon..sun) → a cron list (0 = Sunday). */
function weekdaysToCron(text: string, path: (string | number)[]): string {
  if (text.trim() === '*') return '*';
  const index = (token: string): number => {
    const t = token.trim().toLowerCase();
    const n = /^\d$/.test(t) ? Number(t) : WEEKDAYS.indexOf(t);
    if (n < 0 || n > 6) throw new DefinitionError(ERROR_CODES.schedule, path, `"${token}" is not a weekday: use 0-6 (0 = Monday) or mon..sun`);
    return n;
  };
  const days = new Set<number>();
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!(step >= 1)) throw new DefinitionError(ERROR_CODES.schedule, path, `"${item}": bad step`);
    const [from, to] = range === '*' ? [0, 6] : range.includes('-') ? range.split('-').map(index) : [index(range), index(range)];
    if (from === undefined || to === undefined || to < from) throw new DefinitionError(ERROR_CODES.schedule, path, `"${item}" is not a weekday range`);
    for (let d = from; d <= to; d += step) days.add((d + 1) % 7);
  }
  return [...days].sort((a, b) => a - b).join(',');
}
