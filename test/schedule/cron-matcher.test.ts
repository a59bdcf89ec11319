import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCron } from '../../src/definitions/cron.ts';
import { CronExpressionParser } from 'cron-parser';
import { compileCron } from '../../src/schedule/cron-matcher.ts';

test('parseCron accepts 5 fields, 6 with seconds first, and macros; wild is cronie\'s rule', () => {
  // [written, expression, wild, fields]
  const rows: Array<[string, string, boolean, 5 | 6]> = [
    ['30 2 * * *', '30 2 * * *', false, 5],
    ['  30   2 * *\t* ', '30 2 * * *', false, 5],
    ['*/15 * * * *', '*/15 * * * *', true, 5],
    ['0 * * * *', '0 * * * *', true, 5], // hour starts with *
    ['* 2 * * *', '* 2 * * *', true, 5], // minute starts with *
    ['0 */2 * * *', '0 */2 * * *', true, 5],
    ['0-59 2 * * *', '0-59 2 * * *', false, 5], // every minute of 02:xx, but written fixed
    ['0 9 * * MON-FRI', '0 9 * * MON-FRI', false, 5],
    ['0 0 1 jan,jul *', '0 0 1 jan,jul *', false, 5],
    ['15-45/15 8,20 * * 7', '15-45/15 8,20 * * 7', false, 5],
    ['0 0 L * *', '0 0 L * *', false, 5], // cron-parser extensions L and # pass through
    ['0 0 * * 5#2', '0 0 * * 5#2', false, 5],
    ['*/10 30 2 * * *', '*/10 30 2 * * *', false, 6], // seconds wild, minute and hour fixed
    ['0 * * * * *', '0 * * * * *', true, 6],
    ['@hourly', '0 * * * *', true, 5],
    ['@daily', '0 0 * * *', false, 5],
    ['@midnight', '0 0 * * *', false, 5],
    ['@weekly', '0 0 * * 0', false, 5],
    ['@monthly', '0 0 1 * *', false, 5],
    ['@yearly', '0 0 1 1 *', false, 5],
    ['@annually', '0 0 1 1 *', false, 5],
    ['@DAILY', '0 0 * * *', false, 5],
  ];
  for (const [written, expression, wild, fields] of rows) {
    assert.deepEqual(parseCron(written), { expression, wild, fields }, written);
  }
});

test('parseCron errors name the field and what it accepts', () => {
  const fieldsHelp = 'expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first)';
  const rows: Array<[string, string]> = [
    ['* * * *', `"* * * *": ${fieldsHelp}, got 4`],
    ['', `"": ${fieldsHelp}, got 0`],
    ['0 0 0 * * * *', `"0 0 0 * * * *": ${fieldsHelp}, got 7`],
    ['61 * * * *', '"61 * * * *": minute must be 0-59'],
    ['* 24 * * *', '"* 24 * * *": hour must be 0-23'],
    ['0 0 0 * *', '"0 0 0 * *": day of month must be 1-31'],
    ['0 0 32 * *', '"0 0 32 * *": day of month must be 1-31'],
    ['0 0 * 13 *', '"0 0 * 13 *": month must be 1-12 or JAN-DEC'],
    ['0 0 * FOO *', '"0 0 * FOO *": month must be 1-12 or JAN-DEC'],
    ['0 0 * MON *', '"0 0 * MON *": month must be 1-12 or JAN-DEC'],
    ['0 0 * * 8', '"0 0 * * 8": day of week must be 0-7 or SUN-SAT'],
    ['0 0 * * FUN', '"0 0 * * FUN": day of week must be 0-7 or SUN-SAT'],
    ['0 0 * * JAN', '"0 0 * * JAN": day of week must be 0-7 or SUN-SAT'],
    ['MON * * * *', '"MON * * * *": minute must be 0-59'],
    ['60 * * * * *', '"60 * * * * *": second must be 0-59'],
    ['*/0 * * * *', '"*/0 * * * *": minute must be 0-59; a step must be 1 or more, as in */15'],
    ['5-1 * * * *', '"5-1 * * * *": minute must be 0-59; a range goes from low to high, as in 1-5'],
    ['1,,2 * * * *', '"1,,2 * * * *": minute must be 0-59; a list has no empty items, as in 1,15'],
    ['H * * * *', '"H * * * *": minute: H and ? are not supported, use a number, a range, a step or *'],
    ['0 0 ? * *', '"0 0 ? * *": day of month: H and ? are not supported, use a number, a range, a step or *'],
    ['0 0 30 2 *', '"0 0 30 2 *": day of month 30 never occurs in month 2'],
    ['@often', '"@often": unknown macro, use one of @yearly @annually @monthly @weekly @daily @midnight @hourly'],
  ];
  for (const [written, error] of rows) assert.deepEqual(parseCron(written), { error }, written);
  assert.match((parseCron('@reboot') as { error: string }).error, /^"@reboot": unknown macro, .*once: true/);
});

test('parseCron accepts THU although H is rejected', () => {
  assert.deepEqual(parseCron('0 0 * * THU'), { expression: '0 0 * * THU', wild: false, fields: 5 });
});

const wall = (iso: string) => Date.parse(`${iso}Z`); // wall-clock time encoded as UTC
const walls = (expression: string, fromIso: string, count: number): string[] => {
  const cron = compileCron(expression);
  const out: string[] = [];
  for (let at: number | null = wall(fromIso); out.length < count; ) {
    at = cron.nextWall(at);
    if (at === null) break;
    out.push(new Date(at).toISOString().slice(0, 19));
  }
  return out;
};

test('compileCron steps through wall-clock time: names, ranges, steps, lists, seconds', () => {
  const rows: Array<[string, string, string[]]> = [
    // 2026-01-02 is a Friday.
    ['0 9 * * MON-FRI', '2026-01-02T10:00:00', ['2026-01-05T09:00:00', '2026-01-06T09:00:00']],
    ['0 0 1 JAN,JUL *', '2026-01-01T00:00:00', ['2026-07-01T00:00:00', '2027-01-01T00:00:00']],
    ['15-45/15 8 * * *', '2026-01-01T00:00:00', ['2026-01-01T08:15:00', '2026-01-01T08:30:00', '2026-01-01T08:45:00', '2026-01-02T08:15:00']],
    ['0 0 * * sun', '2026-01-01T00:00:00', ['2026-01-04T00:00:00']],
    ['0 0 * * 7', '2026-01-01T00:00:00', ['2026-01-04T00:00:00']], // 7 is Sunday too
    ['*/20 * * * * *', '2026-01-01T00:00:00', ['2026-01-01T00:00:20', '2026-01-01T00:00:40', '2026-01-01T00:01:00']],
    ['30 0 12 * * *', '2026-01-01T00:00:00', ['2026-01-01T12:00:30']],
    ['0 0 29 2 *', '2026-01-01T00:00:00', ['2028-02-29T00:00:00', '2032-02-29T00:00:00']],
    ['0 0 L * *', '2026-02-01T00:00:00', ['2026-02-28T00:00:00', '2026-03-31T00:00:00']],
  ];
  for (const [expression, from, expected] of rows) assert.deepEqual(walls(expression, from, expected.length), expected, expression);
});

test('day of month and day of week: either matches, unless one starts with * (Vixie cron)', () => {
  const rows: Array<[string, string, string[]]> = [
    // Both restricted: the 15th OR a Friday. 2026-03-01 is a Sunday, so the 15th is a Sunday.
    ['0 0 15 * 5', '2026-03-01T00:00:00', ['2026-03-06T00:00:00', '2026-03-13T00:00:00', '2026-03-15T00:00:00', '2026-03-20T00:00:00']],
    // Day of month starts with *: odd days AND Mondays (Jan 12 and 26, Feb 2 and 16 are even).
    ['0 0 */2 * 1', '2026-01-01T00:00:00', ['2026-01-05T00:00:00', '2026-01-19T00:00:00', '2026-02-09T00:00:00', '2026-02-23T00:00:00']],
    // Day of week starts with *: the 1st AND a Sunday, Tuesday, Thursday or Saturday
    // (2026: Jan 1 Thu, Feb 1 Sun, Mar 1 Sun, Apr 1 Wed, May 1 Fri, Jun 1 Mon, Jul 1 Wed, Aug 1 Sat).
    ['0 0 1 * */2', '2025-12-31T12:00:00', ['2026-01-01T00:00:00', '2026-02-01T00:00:00', '2026-03-01T00:00:00', '2026-08-01T00:00:00']],
    // A bare * leaves the other field alone.
    ['0 0 * * 1', '2026-01-01T00:00:00', ['2026-01-05T00:00:00', '2026-01-12T00:00:00']],
    ['0 0 13 * *', '2026-01-01T00:00:00', ['2026-01-13T00:00:00', '2026-02-13T00:00:00']],
  ];
  for (const [expression, from, expected] of rows) assert.deepEqual(walls(expression, from, expected.length), expected, expression);
});

test('compileCron reuses one compiled expression per string', () => {
  assert.equal(compileCron('0 3 * * *'), compileCron('0 3 * * *'));
  assert.throws(() => compileCron('* * * *'), /got 4/);
});

test('nextWall answers the same whatever order it is asked in (the last answer is reused only within its span)', () => {
  // A job's answer is reused for the next job with the same expression; asked out of order, on the
  // match itself, or just before the span, it must still give cron-parser's own answer.
  const start = Date.UTC(2026, 2, 1);
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (const expression of ['*/7 * * * *', '0 3 * * *', '30 2 * * 1-5', '*/10 30 2 * * *']) {
    const fields = expression.split(' ');
    const parser = CronExpressionParser.parse((fields.length === 5 ? ['0', ...fields] : fields).join(' '), { tz: 'UTC' });
    const cron = compileCron(expression);
    const queries: number[] = [];
    for (let i = 0; i < 300; i++) {
      const after = start + Math.floor(random() * 10 * 86_400_000);
      queries.push(after, after, after - 1);
      const match = cron.nextWall(after)!;
      queries.push(match, match - 1, match + 1); // on the match the answer is the following one
    }
    for (const after of queries) {
      parser.reset(new Date(after));
      assert.equal(cron.nextWall(after), parser.next().getTime(), `${expression} after ${new Date(after).toISOString()}`);
    }
  }
});
