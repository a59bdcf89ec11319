import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronExpressionParser } from 'cron-parser';
import type { Schedule, Trigger } from '../../src/definitions/types.ts';
import { firesBetween, nextFire, nextFires } from '../../src/schedule/next.ts';

const ms = (iso: string) => Date.parse(iso);
const iso = (list: number[]) => list.map((at) => new Date(at).toISOString());
const schedule = (trigger: Trigger, timezone = 'UTC', window: Partial<Schedule> = {}): Schedule => ({
  trigger, timezone, jitterMs: 0, catchup: 'skip', catchupWindowMs: 3_600_000, ...window,
});
const cron = (expression: string, timezone = 'UTC', window: Partial<Schedule> = {}) =>
  schedule({ kind: 'cron', expression, source: expression }, timezone, window);
const every = (intervalMs: number, anchorMs = 0, window: Partial<Schedule> = {}) =>
  schedule({ kind: 'every', intervalMs, anchorMs }, 'Europe/Berlin', window);

// [expression, zone, after, expected fires]; the comments give the wall-clock times.
type Row = [string, string, string, string[]];
const check = (rows: Row[]) => {
  for (const [expression, zone, after, expected] of rows) {
    assert.deepEqual(iso(nextFires(cron(expression, zone), ms(after), expected.length)), expected, `${expression} in ${zone} after ${after}`);
  }
};

test('the spring-forward case of the design: 30 2 * * * in Europe/Berlin fires at 03:00 CEST', () => {
  assert.deepEqual(iso(nextFires(cron('30 2 * * *', 'Europe/Berlin'), ms('2026-03-28T12:00:00Z'), 3)),
    ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
});

test('spring forward: fixed-time fires in the gap fire once at its end; wild jobs skip it', () => {
  check([
    // Europe/Berlin 2026-03-29: 02:00 CET (01:00Z) becomes 03:00 CEST.
    ['10,40 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', ['2026-03-29T01:00:00.000Z', '2026-03-30T00:10:00.000Z', '2026-03-30T00:40:00.000Z']],
    ['30 2,3 * * *', 'Europe/Berlin', '2026-03-29T00:00:00Z', ['2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']], // 03:00, 03:30 CEST
    ['*/20 30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-30T00:30:20.000Z']],
    ['30 2 * * *', 'Europe/Berlin', '2026-03-29T01:00:00Z', ['2026-03-30T00:30:00.000Z']], // strictly after the gap fire
    ['*/15 * * * *', 'Europe/Berlin', '2026-03-29T00:30:00Z', ['2026-03-29T00:45:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:15:00.000Z']], // 01:45 CET, 03:00, 03:15 CEST
    ['30 * * * *', 'Europe/Berlin', '2026-03-29T00:00:00Z', ['2026-03-29T00:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-29T02:30:00.000Z']], // 01:30 CET, 03:30, 04:30 CEST
    ['* 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', ['2026-03-30T00:00:00.000Z', '2026-03-30T00:01:00.000Z']], // no 02:xx on the 29th
    ['* * * * * *', 'Europe/Berlin', '2026-03-29T00:59:58Z', ['2026-03-29T00:59:59.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:00:01.000Z']],
    // America/New_York 2026-03-08: 02:00 EST (07:00Z) becomes 03:00 EDT.
    ['30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']],
    ['*/30 * * * *', 'America/New_York', '2026-03-08T06:00:00Z', ['2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z']], // 01:30 EST, 03:00, 03:30 EDT
    // Australia/Lord_Howe 2026-10-04: 02:00 +10:30 (Oct 3 15:30Z) becomes 02:30 +11.
    ['15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', ['2026-10-03T15:30:00.000Z', '2026-10-04T15:15:00.000Z']],
    ['*/20 * * * *', 'Australia/Lord_Howe', '2026-10-03T15:00:00Z', ['2026-10-03T15:10:00.000Z', '2026-10-03T15:40:00.000Z', '2026-10-03T16:00:00.000Z']], // 01:40, (no 02:00, 02:20), 02:40, 03:00
  ]);
});

test('fall back: fixed-time fires at the first pass only; wild jobs fire in both', () => {
  check([
    // Europe/Berlin 2026-10-25: 03:00 CEST (01:00Z) becomes 02:00 CET; 02:00-02:59 happens twice.
    ['30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']], // 02:30 CEST, next day 02:30 CET
    ['0,30 2 * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z', ['2026-10-26T01:00:00.000Z']],
    ['30 2 * * *', 'Europe/Berlin', '2026-10-25T01:10:00Z', ['2026-10-26T01:30:00.000Z']], // asked during the second pass
    ['0 3 * * *', 'Europe/Berlin', '2026-10-25T00:00:00Z', ['2026-10-25T02:00:00.000Z']], // 03:00 CET
    ['*/15 * * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z', ['2026-10-25T00:45:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:15:00.000Z',
      '2026-10-25T01:30:00.000Z', '2026-10-25T01:45:00.000Z', '2026-10-25T02:00:00.000Z']], // 02:45 CEST, 02:00 ... 03:00 CET
    ['30 * * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', ['2026-10-24T23:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T02:30:00.000Z']],
    ['0 */30 2 * * *', 'Europe/Berlin', '2026-10-24T23:59:00Z', ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z']],
    // America/New_York 2026-11-01: 02:00 EDT (06:00Z) becomes 01:00 EST.
    ['30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']],
    ['30 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', ['2026-11-01T04:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z', '2026-11-01T07:30:00.000Z']],
    // Australia/Lord_Howe 2026-04-05: 02:00 +11 (Apr 4 15:00Z) becomes 01:30 +10:30.
    ['45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T12:00:00Z', ['2026-04-04T14:45:00.000Z', '2026-04-05T15:15:00.000Z']],
    ['15 1 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z', ['2026-04-04T14:15:00.000Z', '2026-04-05T14:45:00.000Z']], // 01:15 is not repeated
    ['*/10 * * * *', 'Australia/Lord_Howe', '2026-04-04T14:35:00Z', ['2026-04-04T14:40:00.000Z', '2026-04-04T14:50:00.000Z', '2026-04-04T15:00:00.000Z',
      '2026-04-04T15:10:00.000Z', '2026-04-04T15:20:00.000Z', '2026-04-04T15:30:00.000Z', '2026-04-04T15:40:00.000Z']], // 01:40 +11 ... 01:30 +10:30 ... 02:10
  ]);
});

test('time zones, macros and Vixie day matching through nextFire', () => {
  check([
    ['@hourly', 'UTC', '2026-01-01T00:10:00Z', ['2026-01-01T01:00:00.000Z']],
    ['0 0 * * *', 'Europe/Berlin', '2026-01-01T00:00:00Z', ['2026-01-01T23:00:00.000Z']], // @daily: midnight CET
    ['0 0 * * 0', 'Europe/Berlin', '2026-01-01T00:00:00Z', ['2026-01-03T23:00:00.000Z']], // @weekly: Sunday Jan 4
    ['0 0 1 * *', 'Europe/Berlin', '2026-01-01T00:00:00Z', ['2026-01-31T23:00:00.000Z']], // @monthly
    ['0 0 1 1 *', 'Europe/Berlin', '2026-01-01T00:00:00Z', ['2026-12-31T23:00:00.000Z', '2027-12-31T23:00:00.000Z']], // @yearly
    ['0 0 29 2 *', 'Europe/Berlin', '2026-01-01T00:00:00Z', ['2028-02-28T23:00:00.000Z', '2032-02-28T23:00:00.000Z']],
    ['0 9 * * MON-FRI', 'America/New_York', '2026-01-02T15:00:00Z', ['2026-01-05T14:00:00.000Z']],
    ['0 0 */2 * 1', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-05T00:00:00.000Z', '2026-01-19T00:00:00.000Z']], // odd days AND Mondays
  ]);
});

test('cron-parser behaviour we deliberately do not follow (pinned, so an upgrade is noticed)', () => {
  const parse = (expression: string, tz: string, after: string) => CronExpressionParser.parse(expression, { tz, currentDate: after });
  // It fires a spring-forward 02:30 at 03:30 CEST; we fire at 03:00 CEST (01:00Z).
  assert.equal(parse('0 30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z').next().toISOString(), '2026-03-29T01:30:00.000Z');
  // It fires a fixed-time 02:30 again in the repeated hour; we fire next on the 26th.
  assert.equal(parse('0 30 2 * * *', 'Europe/Berlin', '2026-10-25T01:10:00Z').next().toISOString(), '2026-10-25T01:30:00.000Z');
  // It reads `*/2` in day of month as restricted: odd days OR Mondays (Jan 3 is a Saturday).
  assert.equal(parse('0 0 0 */2 * 1', 'UTC', '2026-01-01T00:00:00Z').next().toISOString(), '2026-01-03T00:00:00.000Z');
  // Both restricted: OR in cron-parser and in Vixie cron alike (Mar 6 2026 is a Friday).
  assert.equal(parse('0 0 0 15 * 5', 'UTC', '2026-03-01T00:00:00Z').next().toISOString(), '2026-03-06T00:00:00.000Z');
  // It reads four fields as "every minute"; parseCron rejects them (see cron.test.ts).
  assert.equal(parse('* * * *', 'UTC', '2026-01-01T00:00:00Z').next().toISOString(), '2026-01-01T00:01:00.000Z');
});

test('every: aligned to the anchor (default the Unix epoch), unaffected by DST', () => {
  const rows: Array<[Schedule, string, string[]]> = [
    [every(300_000), '2026-01-01T00:02:00Z', ['2026-01-01T00:05:00.000Z', '2026-01-01T00:10:00.000Z']],
    [every(300_000), '2026-01-01T00:05:00Z', ['2026-01-01T00:10:00.000Z']], // strictly after
    [every(3_600_000, ms('2026-01-01T00:00:07Z')), '2026-03-29T00:30:00Z',
      ['2026-03-29T01:00:07.000Z', '2026-03-29T02:00:07.000Z', '2026-03-29T03:00:07.000Z']],
    [every(86_400_000, ms('2030-01-01T06:00:00Z')), '2026-01-01T12:00:00Z', ['2026-01-02T06:00:00.000Z']], // anchor in the future
    [every(7_000), '1969-12-31T23:59:50Z', ['1969-12-31T23:59:53.000Z', '1970-01-01T00:00:00.000Z']],
  ];
  for (const [s, after, expected] of rows) assert.deepEqual(iso(nextFires(s, ms(after), expected.length)), expected, after);
});

test('at fires once; once never fires from the planner', () => {
  const at = schedule({ kind: 'at', atMs: ms('2026-12-01T01:00:00Z') });
  assert.equal(nextFire(at, ms('2026-11-30T00:00:00Z')), ms('2026-12-01T01:00:00Z'));
  assert.equal(nextFire(at, ms('2026-12-01T01:00:00Z')), null);
  assert.equal(nextFire(at, ms('2027-01-01T00:00:00Z')), null);
  assert.deepEqual(nextFires(at, 0, 5), [ms('2026-12-01T01:00:00Z')]);
  assert.equal(nextFire(schedule({ kind: 'once' }), 0), null);
});

test('start_at and end_at bound the fires, both inclusive', () => {
  const window = { startAtMs: ms('2026-01-01T05:00:00Z'), endAtMs: ms('2026-01-01T07:00:00Z') };
  const rows: Array<[Schedule, string, string[]]> = [
    [cron('0 * * * *', 'UTC', window), '2026-01-01T00:00:00Z', ['2026-01-01T05:00:00.000Z', '2026-01-01T06:00:00.000Z', '2026-01-01T07:00:00.000Z']],
    [cron('0 * * * *', 'UTC', window), '2026-01-01T07:00:00Z', []],
    [every(3_600_000, 0, window), '2026-01-01T05:30:00Z', ['2026-01-01T06:00:00.000Z', '2026-01-01T07:00:00.000Z']],
    [schedule({ kind: 'at', atMs: ms('2026-01-01T04:00:00Z') }, 'UTC', window), '2026-01-01T00:00:00Z', []],
    [schedule({ kind: 'at', atMs: ms('2026-01-01T08:00:00Z') }, 'UTC', window), '2026-01-01T00:00:00Z', []],
  ];
  for (const [s, after, expected] of rows) assert.deepEqual(iso(nextFires(s, ms(after), 10)), expected, `${s.trigger.kind} after ${after}`);
});

test('firesBetween: from exclusive, to inclusive, the most recent `limit` oldest first', () => {
  const rows: Array<[Schedule, string, string, number, string[]]> = [
    [cron('0 * * * *'), '2026-01-01T00:00:00Z', '2026-01-01T03:00:00Z', 100, ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']],
    [cron('0 * * * *'), '2026-01-01T00:00:00Z', '2026-01-01T05:00:00Z', 2, ['2026-01-01T04:00:00.000Z', '2026-01-01T05:00:00.000Z']],
    [cron('30 2 * * *', 'Europe/Berlin'), '2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z', 100,
      ['2026-03-27T01:30:00.000Z', '2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']],
    [every(300_000), '2026-01-01T00:00:00Z', '2026-01-01T00:20:00Z', 3, ['2026-01-01T00:10:00.000Z', '2026-01-01T00:15:00.000Z', '2026-01-01T00:20:00.000Z']],
    [every(300_000, 0, { endAtMs: ms('2026-01-01T00:12:00Z') }), '2026-01-01T00:00:00Z', '2026-01-01T00:20:00Z', 100, ['2026-01-01T00:05:00.000Z', '2026-01-01T00:10:00.000Z']],
    [schedule({ kind: 'at', atMs: ms('2026-01-01T00:10:00Z') }), '2026-01-01T00:00:00Z', '2026-01-01T00:20:00Z', 100, ['2026-01-01T00:10:00.000Z']],
    [schedule({ kind: 'once' }), '2026-01-01T00:00:00Z', '2026-01-01T00:20:00Z', 100, []],
    [cron('0 * * * *'), '2026-01-01T03:00:00Z', '2026-01-01T03:00:00Z', 100, []],
  ];
  for (const [s, from, to, limit, expected] of rows) assert.deepEqual(iso(firesBetween(s, ms(from), ms(to), limit)), expected, `${from}..${to}`);
});

test('a per-second cron across a transition and over a long outage (speed: npm run bench -- planner)', () => {
  const fires = nextFires(cron('* * * * * *', 'Europe/Berlin'), ms('2026-03-29T00:58:00Z'), 2000);
  assert.equal(fires.length, 2000);
  assert.ok(fires.every((at, i) => i === 0 || at - (fires[i - 1] ?? 0) === 1000), 'one per second of elapsed time');
  const missed = firesBetween(cron('* * * * * *', 'Europe/Berlin'), ms('2026-03-01T00:00:00Z'), ms('2026-03-29T01:00:30Z'), 100);
  assert.deepEqual(iso([missed[0] ?? 0, missed.at(-1) ?? 0]), ['2026-03-29T00:58:51.000Z', '2026-03-29T01:00:30.000Z']);
});
