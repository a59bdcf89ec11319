// Cron expressions in job files: checked with messages a person can act on.
// cron-parser does the field arithmetic; we count the fields ourselves (it silently reads four
// fields as "every minute") and reject what would make replicas disagree. Matching over time is
// in src/schedule/cron-matcher.ts.

import { CronExpressionParser } from 'cron-parser';

export type ParsedCron = { expression: string; wild: boolean; fields: 5 | 6 };

/** cronie's macros, expanded to five fields. `@reboot` has no instant: use `once`. */
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** The six fields in cron-parser's order (seconds first), with what each accepts. */
const FIELDS = [
  { name: 'second', accepts: '0-59' },
  { name: 'minute', accepts: '0-59' },
  { name: 'hour', accepts: '0-23' },
  { name: 'day of month', accepts: '1-31' },
  { name: 'month', accepts: '1-12 or JAN-DEC' },
  { name: 'day of week', accepts: '0-7 or SUN-SAT' },
] as const;

/**
 * Checks a cron expression: five fields, six with seconds first, or a macro (`@daily`).
 * Names (`JAN`, `MON-FRI`), ranges, steps and lists work, as do cron-parser's `L` and `#`.
 * `wild` is cronie's rule for daylight saving time: the minute or the hour field starts with `*`.
 */
export function parseCron(text: string): ParsedCron | { error: string } {
  let result = cache.get(text);
  if (result === undefined) {
    result = check(text);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, result);
  }
  return result;
}

// Thousands of job files share a handful of expressions; checking one costs several cron-parser parses.
const cache = new Map<string, ParsedCron | { error: string }>();
const CACHE_LIMIT = 10_000;

function check(text: string): ParsedCron | { error: string } {
  const trimmed = text.trim();
  const quoted = `"${trimmed}"`;
  if (trimmed.startsWith('@')) {
    const expanded = MACROS[trimmed.toLowerCase()];
    if (expanded === undefined) {
      const hint = trimmed.toLowerCase() === '@reboot' ? '; for a job that runs once when loaded use `once: true`' : '';
      return { error: `${quoted}: unknown macro, use one of ${Object.keys(MACROS).join(' ')}${hint}` };
    }
    return { expression: expanded, wild: expanded.split(' ')[1] === '*', fields: 5 };
  }
  const given = trimmed === '' ? [] : trimmed.split(/\s+/);
  if (given.length !== 5 && given.length !== 6) {
    return {
      error: `${quoted}: expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got ${given.length}`,
    };
  }
  const six = given.length === 6 ? given : ['0', ...given];
  try {
    if (six.some((value) => /[H?]/.test(value.replace(/[a-z]{3}/gi, '')))) throw new Error('H or ?');
    CronExpressionParser.parse(six.join(' '), { tz: 'UTC', currentDate: 0 });
  } catch (cause) {
    // Only now check the fields one by one, so that the message can name the one at fault.
    for (const [index, value] of six.entries()) {
      const problem = fieldProblem(index, value);
      if (problem !== null) return { error: `${quoted}: ${problem}` };
    }
    const message = cause instanceof Error ? cause.message : String(cause);
    if (message.includes('day of month')) {
      return { error: `${quoted}: day of month ${six[3]} never occurs in month ${six[4]}` };
    }
    return { error: `${quoted}: ${message}` };
  }
  const [minute = '', hour = ''] = six.slice(1, 3);
  return {
    expression: given.join(' '),
    wild: minute.startsWith('*') || hour.startsWith('*'),
    fields: given.length === 6 ? 6 : 5,
  };
}

/** Why one field is not acceptable, or null. Checked alone so the message can name the field. */
function fieldProblem(index: number, value: string): string | null {
  const field = FIELDS[index];
  if (field === undefined) return 'too many fields';
  const withoutNames = value.replace(/[a-z]{3}/gi, '');
  if (/[H?]/.test(withoutNames)) {
    // cron-parser's H is random per parse unless seeded, so replicas would disagree; ? means *.
    return `${field.name}: H and ? are not supported, use a number, a range, a step or *`;
  }
  const probe = ['0', '*', '*', '*', '*', '*'];
  probe[index] = value;
  try {
    CronExpressionParser.parse(probe.join(' '), { tz: 'UTC', currentDate: 0 });
    return null;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : '';
    const plain = `${field.name} must be ${field.accepts}`;
    if (message.includes('min(')) return `${plain}; a range goes from low to high, as in 1-5`;
    if (message.includes('cannot repeat')) return `${plain}; a step must be 1 or more, as in */15`;
    if (message.includes('list value')) return `${plain}; a list has no empty items, as in 1,15`;
    return plain;
  }
}

/** Day-of-month forms whose days depend on the month, and day-of-week forms that name a week of it. */
export const MONTH_DEPENDENT_DOM = /[LW]/i;
export const MONTH_DEPENDENT_DOW = /[L#]/i;

/**
 * Why `daysMatch: 'both'` cannot apply to an expression (one day field must be a plain set of days,
 * without `L`, `W` or `#`), or undefined when it can.
 */
export function bothDaysProblem(expression: string): string | undefined {
  const fields = expression.split(' ');
  const [dom = '*', dow = '*'] = fields.length === 6 ? [fields[3], fields[5]] : [fields[2], fields[4]];
  if (MONTH_DEPENDENT_DOM.test(dom) && MONTH_DEPENDENT_DOW.test(dow)) {
    return `days_match: both needs one day field without L, W or #; "${dom}" and "${dow}" both have one`;
  }
  return undefined;
}

/** Whether both day fields of an expression returned by parseCron are restricted (neither is `*`). */
export function restrictsBothDays(expression: string): boolean {
  const fields = expression.split(' ');
  const [dom, dow] = fields.length === 6 ? [fields[3], fields[5]] : [fields[2], fields[4]];
  return dom !== '*' && dow !== '*';
}

/**
 * Whether an expression under `days_match: both` can never fire: no date of its months has both a day of
 * month and a weekday it allows. Dates and weekdays line up the same way every 28 years (leap days too),
 * so 2000–2027 has every case. A weekday field of `N#k` items is judged by the days the k-th weekday can
 * fall on; other forms with L, W or # are not judged here (a schedule that never fires then finds no next
 * fire, once: src/schedule/cron-matcher.ts remembers it).
 */
export function bothDaysNeverMatch(expression: string): boolean {
  const fields = expression.split(' ');
  const six = fields.length === 6 ? fields : ['0', ...fields];
  const nth = /^(?:[0-7]|[a-z]{3})#([1-5])$/i;
  if (!MONTH_DEPENDENT_DOM.test(six[3]!) && six[5]!.split(',').every((item) => nth.test(item))) {
    // The k-th weekday of a month (MON#1) falls on days 7k-6 to 7k.
    const days = CronExpressionParser.parse(['0', '0', '0', six[3], '*', '*'].join(' '), { tz: 'UTC', currentDate: 0 }).fields.dayOfMonth.values.map(Number);
    return !six[5]!.split(',').some((item) => {
      const k = Number(nth.exec(item)![1]);
      return days.some((d) => d >= 7 * k - 6 && d <= 7 * k);
    });
  }
  if (MONTH_DEPENDENT_DOM.test(six[3]!) || MONTH_DEPENDENT_DOW.test(six[5]!)) return false;
  const parsed = CronExpressionParser.parse(six.join(' '), { tz: 'UTC', currentDate: 0 });
  const days = parsed.fields.dayOfMonth.values.map(Number);
  const weekdays = new Set(parsed.fields.dayOfWeek.values.map((d) => Number(d) % 7));
  for (let year = 2000; year < 2028; year++) {
    for (const month of parsed.fields.month.values.map(Number)) {
      for (const day of days) {
        const date = new Date(Date.UTC(year, month - 1, day));
        if (date.getUTCMonth() === month - 1 && weekdays.has(date.getUTCDay())) return false;
      }
    }
  }
  return true;
}
