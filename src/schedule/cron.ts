// Cron expressions: parsing with messages a person can act on, and matching over wall-clock time.
// cron-parser does the field arithmetic; we count the fields ourselves (it silently reads four
// fields as "every minute"), reject what would make replicas disagree, and apply Vixie's day rule.
// Time zones are not handled here: next.ts maps wall-clock time to instants (see nextWall).

import { CronExpressionParser, type CronExpression } from 'cron-parser';

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
  for (const [index, value] of six.entries()) {
    const problem = fieldProblem(index, value);
    if (problem !== null) return { error: `${quoted}: ${problem}` };
  }
  try {
    CronExpressionParser.parse(six.join(' '), { tz: 'UTC', currentDate: 0 });
  } catch (cause) {
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
    fields: given.length,
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

/** A cron expression ready to step through wall-clock time. */
export interface CompiledCron {
  readonly wild: boolean;
  /**
   * The first matching wall-clock time strictly after `afterWallMs`, or null when there is none.
   * Wall-clock times are encoded as if they were UTC instants ("naive" time): 02:30 on
   * 2026-03-29 in any zone is Date.UTC(2026, 2, 29, 2, 30).
   */
  nextWall(afterWallMs: number): number | null;
}

const compiled = new Map<string, CompiledCron>();
const CACHE_LIMIT = 1000;
const DAY_MS = 86_400_000;

/** Compiles an expression returned by parseCron (cached per expression). Throws when invalid. */
export function compileCron(expression: string): CompiledCron {
  const cached = compiled.get(expression);
  if (cached !== undefined) return cached;
  const parsed = parseCron(expression);
  if ('error' in parsed) throw new Error(parsed.error);
  const given = parsed.expression.split(' ');
  const six = given.length === 6 ? given : ['0', ...given];
  const full = CronExpressionParser.parse(six.join(' '), { tz: 'UTC', currentDate: 0 });
  // Vixie cron: when day of month or day of week starts with `*` the two must both match;
  // otherwise either may match. cron-parser treats only a bare `*` that way, reading `*/2` as
  // restricted (so `0 0 */2 * 1` would be "odd days or Mondays"). For such a field we let
  // cron-parser see a bare `*` and check the field's values ourselves.
  const dom = six[3] ?? '*';
  const dow = six[5] ?? '*';
  const both = (dom.startsWith('*') || dow.startsWith('*')) && dom !== '*' && dow !== '*';
  const domDays = both && dom.startsWith('*') ? new Set(full.fields.dayOfMonth.values) : null;
  const dowDays = both && dow.startsWith('*') ? new Set(full.fields.dayOfWeek.values.map((d) => Number(d) % 7)) : null;
  if (domDays !== null) six[3] = '*';
  if (dowDays !== null) six[5] = '*';
  const expr = domDays || dowDays ? CronExpressionParser.parse(six.join(' '), { tz: 'UTC', currentDate: 0 }) : full;
  const result: CompiledCron = {
    wild: parsed.wild,
    nextWall(afterWallMs) {
      let from = afterWallMs;
      for (let guard = 0; guard < 5000; guard++) {
        const wall = step(expr, from);
        if (wall === null) return null;
        const day = new Date(wall);
        if ((domDays === null || domDays.has(day.getUTCDate())) && (dowDays === null || dowDays.has(day.getUTCDay()))) {
          return wall;
        }
        from = Math.floor(wall / DAY_MS) * DAY_MS + DAY_MS - 1; // the last millisecond of that day
      }
      return null;
    },
  };
  if (compiled.size >= CACHE_LIMIT) compiled.clear();
  compiled.set(expression, result);
  return result;
}

/** One cron-parser step in UTC, reusing the parsed expression. */
function step(expr: CronExpression, afterMs: number): number | null {
  try {
    expr.reset(new Date(afterMs));
    return expr.next().getTime();
  } catch {
    return null; // no further match (cron-parser's loop limit)
  }
}
