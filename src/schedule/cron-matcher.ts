// Cron matching over wall-clock time, with Vixie's day rule. cron-parser does the field arithmetic.
// Time zones are not handled here: next.ts maps wall-clock time to instants (see nextWall).

import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { bothDaysProblem, MONTH_DEPENDENT_DOM, MONTH_DEPENDENT_DOW, parseCron } from '../definitions/cron.ts';

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

/**
 * Compiles an expression returned by parseCron (cached per expression and rule). Throws when invalid.
 * `daysMatch: 'both'`: a day must match both day fields when both are restricted (APScheduler's rule).
 */
export function compileCron(expression: string, daysMatch?: 'both'): CompiledCron {
  const key = daysMatch === 'both' ? `both:${expression}` : expression;
  const cached = compiled.get(key);
  if (cached !== undefined) return cached;
  const parsed = parseCron(expression);
  if ('error' in parsed) throw new Error(parsed.error);
  const given = parsed.expression.split(' ');
  const six = given.length === 6 ? given : ['0', ...given];
  const full = CronExpressionParser.parse(six.join(' '), { tz: 'UTC', currentDate: 0 });
  // Vixie cron: when day of month or day of week starts with `*` the two must both match;
  // otherwise either may match. cron-parser treats only a bare `*` that way, reading `*/2` as
  // restricted (so `0 0 */2 * 1` would be "odd days or Mondays"). For such a field we let
  // cron-parser see a bare `*` and check the field's values ourselves. With daysMatch 'both' every
  // restricted pair is read that way: the weekday field is checked by us (or, when it names a week
  // of the month, such as `MON#1`, the day of month is).
  const dom = six[3] ?? '*';
  const dow = six[5] ?? '*';
  const restricted = dom !== '*' && dow !== '*';
  const both = restricted && (daysMatch === 'both' || dom.startsWith('*') || dow.startsWith('*'));
  const checkDow = both && (daysMatch === 'both' ? !MONTH_DEPENDENT_DOW.test(dow) : dow.startsWith('*'));
  const checkDom = both && (daysMatch === 'both' ? !checkDow : dom.startsWith('*'));
  if (checkDom && MONTH_DEPENDENT_DOM.test(dom)) throw new Error(bothDaysProblem(parsed.expression));
  const domDays = checkDom ? new Set(full.fields.dayOfMonth.values.map(Number)) : null;
  const dowDays = checkDow ? new Set(full.fields.dayOfWeek.values.map((d) => Number(d) % 7)) : null;
  if (domDays !== null) six[3] = '*';
  if (dowDays !== null) six[5] = '*';
  const expr = domDays || dowDays ? CronExpressionParser.parse(six.join(' '), { tz: 'UTC', currentDate: 0 }) : full;
  // The last answer, as the span it holds for: no match lies in (lastAfter, lastMatch), so any
  // afterWallMs in [lastAfter, lastMatch) has lastMatch as its answer. Jobs sharing an expression
  // (10,000 daily jobs at a start, `*/5 * * * *` across a fleet) then cost one cron-parser walk.
  let lastAfter = Infinity;
  let lastMatch = -Infinity;
  const search = (afterWallMs: number): number | null => {
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
  };
  // A search that found nothing (an expression that never fires again) is not repeated for a later time.
  let noneAfter = Infinity;
  const result: CompiledCron = {
    wild: parsed.wild,
    nextWall(afterWallMs) {
      if (afterWallMs >= lastAfter && afterWallMs < lastMatch) return lastMatch;
      if (afterWallMs >= noneAfter) return null;
      const match = search(afterWallMs);
      if (match !== null) [lastAfter, lastMatch] = [afterWallMs, match];
      else noneAfter = afterWallMs;
      return match;
    },
  };
  if (compiled.size >= CACHE_LIMIT) compiled.clear();
  compiled.set(key, result);
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
