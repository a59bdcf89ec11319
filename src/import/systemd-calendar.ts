// systemd calendar events (`OnCalendar=`, systemd.time(7)) → cron expressions with seconds, where they
// can be written exactly; otherwise a reason. `Mon..Fri *-*-* 02:30:00`, `daily`, `*:0/15`, a time zone last.

export interface CalendarCron {
  /** Six fields: second minute hour day-of-month month day-of-week. */
  fields: [string, string, string, string, string, string];
  timezone?: string;
  /** A weekday and a day of the month together: systemd fires on a day that matches both. */
  daysMatch?: 'both';
  /** From a year or a range of years: the first and last instant (wall time, in `timezone`). */
  start_at?: string;
  end_at?: string;
}

const SHORTHANDS: Record<string, string> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  yearly: '*-01-01 00:00:00',
  annually: '*-01-01 00:00:00',
  quarterly: '*-01,04,07,10-01 00:00:00',
  semiannually: '*-01,07-01 00:00:00',
};
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const LONG_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

type Range = { min: number; max: number };
const RANGES = { month: { min: 1, max: 12 }, day: { min: 1, max: 31 }, hour: { min: 0, max: 23 }, minute: { min: 0, max: 59 }, second: { min: 0, max: 59 } };

/** `isZone` decides whether a last word is a time zone (the caller knows the IANA names). */
export function calendarToCron(text: string, isZone: (name: string) => boolean): CalendarCron | { error: string } {
  let words = text.trim().split(/\s+/).filter(Boolean);
  let timezone: string | undefined;
  const last = words[words.length - 1];
  if (words.length > 1 && last !== undefined && !/[:*]/.test(last) && !/^\d/.test(last) && isZone(last)) {
    timezone = last;
    words = words.slice(0, -1);
  }
  if (words.length === 1 && SHORTHANDS[words[0]!.toLowerCase()]) words = SHORTHANDS[words[0]!.toLowerCase()]!.split(' ');
  if (words.length === 0) return { error: 'empty calendar event' };
  let weekdays = '*';
  if (/^[a-z]/i.test(words[0]!)) {
    const parsed = weekdaysToCron(words[0]!);
    if (typeof parsed !== 'string') return parsed;
    weekdays = parsed;
    words = words.slice(1);
  }
  let date = '*-*-*';
  let time = '00:00:00';
  for (const word of words) {
    if (word.includes(':')) time = word;
    else if (/[-~]/.test(word)) date = word;
    else return { error: `"${word}" is neither a date (Y-M-D) nor a time (H:M:S)` };
  }
  if (words.length > 2) return { error: `"${text}": expected [WEEKDAYS] [DATE] [TIME] [ZONE]` };

  const lastDay = date.includes('~');
  const dateParts = date.split(/[-~]/);
  if (dateParts.length === 2) dateParts.unshift('*');
  if (dateParts.length !== 3) return { error: `date "${date}" must be YEAR-MONTH-DAY or MONTH-DAY` };
  const [year, month, day] = dateParts as [string, string, string];
  const timeParts = time.split(':');
  if (timeParts.length === 2) timeParts.push('00');
  if (timeParts.length !== 3) return { error: `time "${time}" must be HOUR:MINUTE[:SECOND]` };
  const [hour, minute, second] = timeParts as [string, string, string];

  const out: Record<string, string> = {};
  for (const [name, value] of [['month', month], ['hour', hour], ['minute', minute], ['second', second]] as const) {
    const field = componentToCron(value, RANGES[name], name);
    if (typeof field !== 'string') return field;
    out[name] = field;
  }
  if (lastDay) {
    if (!/^0*1$/.test(day)) return { error: `"~${day}" (the ${day}th last day of the month) has no cron equivalent; only ~01, the last day (cron's L), has` };
    out.day = 'L';
  } else {
    const field = componentToCron(day, RANGES.day, 'day');
    if (typeof field !== 'string') return field;
    out.day = field;
  }
  // A weekday and a day of the month together mean both in systemd (`Sat *-*-1..7`: the first Saturday).
  const both = weekdays !== '*' && out.day !== '*' ? { daysMatch: 'both' as const } : {};
  const result: CalendarCron = { fields: [out.second!, out.minute!, out.hour!, out.day!, out.month!, weekdays], ...both, ...(timezone ? { timezone } : {}) };
  if (year !== '*') {
    const m = /^(\d{4})(?:\.\.(\d{4}))?$/.exec(year);
    if (!m) return { error: `year "${year}": only one year or a range of years (2027..2028) can be carried over, as start_at/end_at` };
    result.start_at = `${m[1]}-01-01T00:00:00`;
    result.end_at = `${m[2] ?? m[1]}-12-31T23:59:59`;
  }
  return result;
}

function componentToCron(text: string, range: Range, name: string): string | { error: string } {
  if (text === '*') return '*';
  const items: string[] = [];
  for (const item of text.split(',')) {
    const m = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+(?:\.\d+)?))?$/.exec(item);
    if (!m) return { error: `${name} "${item}" is not understood (values, a..b ranges and /steps are)` };
    if (m[3] !== undefined && !/^\d+$/.test(m[3])) return { error: `${name} "${item}": fractional steps have no cron equivalent` };
    if (m[1] === '*' && m[2] !== undefined) return { error: `${name} "${item}" is not understood` };
    const from = m[1] === '*' ? range.min : Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : undefined;
    if (from < range.min || from > range.max || (to !== undefined && (to < from || to > range.max))) {
      return { error: `${name} "${item}" is out of range ${range.min}..${range.max}` };
    }
    if (m[3] !== undefined) {
      const step = Number(m[3]);
      if (step < 1) return { error: `${name} "${item}": step must be at least 1` };
      items.push(from === range.min && to === undefined ? `*/${step}` : `${from}-${to ?? range.max}/${step}`);
    } else items.push(to !== undefined ? `${from}-${to}` : String(from));
  }
  return items.join(',');
}

function weekdaysToCron(text: string): string | { error: string } {
  const index = (name: string) => {
    const t = name.toLowerCase();
    const i = DAYS.indexOf(t) >= 0 ? DAYS.indexOf(t) : LONG_DAYS.indexOf(t);
    return i;
  };
  const days = new Set<number>();
  for (const item of text.split(',')) {
    const [a, b] = item.includes('..') ? item.split('..') : item.split('-');
    const from = index(a ?? '');
    const to = b === undefined ? from : index(b);
    if (from < 0 || to < 0) return { error: `"${item}" is not a weekday (Mon..Sun)` };
    // systemd ranges run Monday first: Sat..Mon is not a range.
    const mondayFirst = (d: number) => (d + 6) % 7;
    if (mondayFirst(to) < mondayFirst(from)) return { error: `weekday range "${item}" runs backwards` };
    for (let d = mondayFirst(from); d <= mondayFirst(to); d++) days.add((d + 1) % 7);
  }
  return [...days].sort((x, y) => x - y).join(',');
}

/** Calendar events that differ in at most one field, as one; undefined when they cannot be merged. */
export function mergeCalendars(events: CalendarCron[]): CalendarCron | undefined {
  const [first, ...rest] = events;
  if (!first) return undefined;
  if (rest.some((e) => e.timezone !== first.timezone || e.start_at !== first.start_at || e.end_at !== first.end_at || e.daysMatch !== first.daysMatch)) return undefined;
  const differing = new Set<number>();
  for (const e of rest) e.fields.forEach((f, i) => f !== first.fields[i] && differing.add(i));
  if (differing.size === 0) return first;
  if (differing.size > 1) return undefined;
  const [index] = [...differing] as [number];
  if (index === 5 || index === 3) {
    // day-of-month and day-of-week: a list keeps the either/or rule only when the other field is *.
    if (events.some((e) => e.fields[index === 5 ? 3 : 5] !== '*')) return undefined;
  }
  const values = events.map((e) => e.fields[index]!);
  const merged = values.includes('*') ? '*' : [...new Set(values.flatMap((v) => v.split(',')))].join(',');
  const fields = [...first.fields] as CalendarCron['fields'];
  fields[index] = merged;
  return { ...first, fields };
}
