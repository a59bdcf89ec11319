// The period the agent exports for the dead man's switch (jobsd_job_period_seconds): table-tested.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Schedule, Trigger } from '../../src/definitions/types.ts';
import { PeriodCache, periodMs } from '../../src/schedule/period.ts';

const ms = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const schedule = (trigger: Trigger, timezone = 'UTC', window: Partial<Schedule> = {}): Schedule => ({
  trigger, timezone, jitterMs: 0, catchup: 'skip', catchupWindowMs: H, ...window,
});
const cron = (expression: string, timezone = 'UTC', window: Partial<Schedule> = {}) => schedule({ kind: 'cron', expression, source: expression }, timezone, window);

test('every: the interval; cron: the largest gap around now (last two fires and the next)', () => {
  const rows: Array<[string, Schedule, string, number | undefined]> = [
    ['every 90 s', schedule({ kind: 'every', intervalMs: 90_000, anchorMs: 0 }), '2026-06-10T12:00:00Z', 90_000],
    ['hourly', cron('0 * * * *'), '2026-06-10T12:30:00Z', H],
    ['daily at 03:00', cron('0 3 * * *', 'Europe/Berlin'), '2026-06-10T12:00:00Z', 24 * H],
    // Berlin's fall-back day has 25 hours: the gap over it.
    ['daily over the fall-back', cron('0 3 * * *', 'Europe/Berlin'), '2026-10-25T12:00:00Z', 25 * H],
    // Weekdays at 09:00: the weekend gap while it lasts (Friday 09:00 to Monday 09:00) and on Monday
    // morning (the last two fires are Friday's and Monday's), a day from Tuesday on.
    ['weekdays on Saturday', cron('0 9 * * 1-5'), '2026-06-13T12:00:00Z', 72 * H],
    ['weekdays on Monday 10:00', cron('0 9 * * 1-5'), '2026-06-15T10:00:00Z', 72 * H],
    ['weekdays on Tuesday 10:00', cron('0 9 * * 1-5'), '2026-06-16T10:00:00Z', 24 * H],
    // Every 15 min in office hours, Monday 09:01 (a run of 09:00 may still be going): the weekend.
    ['office hours, Monday 09:01', cron('*/15 9-17 * * 1-5'), '2026-06-15T09:01:00Z', ms('2026-06-15T09:00:00Z') - ms('2026-06-12T17:45:00Z')],
    ['office hours, Monday 11:01', cron('*/15 9-17 * * 1-5'), '2026-06-15T11:01:00Z', 15 * 60_000],
    ['several crons: the union', schedule({ kind: 'crons', crons: [{ expression: '0 6 * * *', source: '0 6 * * *' }, { expression: '0 18 * * *', source: '0 18 * * *' }] }), '2026-06-10T12:00:00Z', 12 * H],
    ['once', schedule({ kind: 'once' }), '2026-06-10T12:00:00Z', undefined],
    ['at', schedule({ kind: 'at', atMs: ms('2026-07-01T00:00:00Z') }), '2026-06-10T12:00:00Z', undefined],
    ['chained', schedule({ kind: 'after', job: 'up', on: ['succeeded'] }), '2026-06-10T12:00:00Z', undefined],
    ['not started yet', cron('0 * * * *', 'UTC', { startAtMs: ms('2026-07-01T00:00:00Z') }), '2026-06-10T12:00:00Z', undefined],
    ['ended', cron('0 * * * *', 'UTC', { endAtMs: ms('2026-06-01T00:00:00Z') }), '2026-06-10T12:00:00Z', undefined],
    ['first fire passed, one gap known', cron('0 * * * *', 'UTC', { startAtMs: ms('2026-06-10T12:00:00Z') }), '2026-06-10T12:30:00Z', H],
  ];
  for (const [what, s, now, expected] of rows) assert.equal(periodMs(s, ms(now)), expected, what);
});

test('cheap on every scrape: remembered until the next fire, 10,000 cron jobs', (t) => {
  const jobs = Array.from({ length: 10_000 }, (_, i) => cron(`${i % 60} ${i % 24} * * *`, i % 2 ? 'Europe/Berlin' : 'UTC'));
  const cache = new PeriodCache();
  const now = ms('2026-06-10T12:00:00Z');
  const timed = (at: number) => {
    const start = performance.now();
    for (const s of jobs) cache.periodMs(s, at);
    return performance.now() - start;
  };
  const first = timed(now);
  const again = timed(now + 15_000);
  t.diagnostic(`10,000 daily crons (120 distinct): first scrape ${first.toFixed(0)} ms, the next ${again.toFixed(1)} ms`);
  assert.ok(again < 50, `${again} ms`);
  // 10,000 jobs of one schedule (each its own object, as the catalog makes them): one computation.
  const nightly = Array.from({ length: 10_000 }, () => cron('0 3 * * *', 'Europe/Berlin'));
  const shared = new PeriodCache();
  const start = performance.now();
  for (const s of nightly) assert.equal(shared.periodMs(s, now), 24 * H);
  const same = performance.now() - start;
  t.diagnostic(`10,000 jobs of one schedule: ${same.toFixed(0)} ms`);
  assert.ok(same < 200, `${same} ms`);
  // Past a job's next fire, the value is recomputed: one fire later the hourly gap has become a daily one.
  const hourlyThenNight = cron('0 8-20 * * *');
  assert.equal(cache.periodMs(hourlyThenNight, ms('2026-06-10T19:30:00Z')), H);
  assert.equal(cache.periodMs(hourlyThenNight, ms('2026-06-10T20:30:00Z')), 12 * H);
});
