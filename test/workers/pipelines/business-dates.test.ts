import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  advanceWatermark,
  businessDatesBetween,
  chunks,
  collectPlan,
  currentBusinessDate,
  dateMs,
  extractWindow,
  isBusinessDay,
} from '../../../src/workers/pipelines/business-dates.ts';

const at = (iso: string) => Date.parse(iso);

describe('business dates (weekdays in UTC)', () => {
  it('tells weekdays from weekends', () => {
    assert.deepEqual(
      ['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23'].map(isBusinessDay),
      [true, false, false, true], // Fri, Sat, Sun, Mon
    );
  });

  it('the current business date is today in UTC, or the last Friday on a weekend', () => {
    const cases: Array<[string, string]> = [
      ['2026-11-24T00:00:00Z', '2026-11-24'], // Tuesday
      ['2026-11-23T23:59:59.999Z', '2026-11-23'], // Monday, last millisecond
      ['2026-11-21T10:00:00Z', '2026-11-20'], // Saturday
      ['2026-11-22T23:00:00Z', '2026-11-20'], // Sunday
      ['2026-11-22T23:30:00-05:00', '2026-11-23'], // Sunday evening in New York is Monday in UTC
    ];
    for (const [now, expected] of cases) assert.equal(currentBusinessDate(at(now)), expected, now);
  });

  it('lists the business dates between two dates, skipping the weekend', () => {
    assert.deepEqual(businessDatesBetween('2026-11-19', '2026-11-24'), ['2026-11-19', '2026-11-20', '2026-11-23', '2026-11-24']);
    assert.deepEqual(businessDatesBetween('2026-11-21', '2026-11-22'), []);
  });

  it('rejects dates that do not exist', () => {
    assert.ok(Number.isNaN(dateMs('2026-02-30')));
    assert.ok(Number.isNaN(dateMs('2026-1-5')));
    assert.equal(dateMs('2026-01-05'), Date.UTC(2026, 0, 5));
  });
});

describe('collect plan', () => {
  const tuesday = at('2026-11-24T12:00:00Z');
  const cases: Array<{ name: string; watermark?: string; window?: number; now?: number; dates: string[] }> = [
    { name: 'no watermark: from the start date', dates: ['2026-11-19', '2026-11-20', '2026-11-23', '2026-11-24'] },
    { name: 'after the watermark, across the weekend', watermark: '2026-11-20', dates: ['2026-11-23', '2026-11-24'] },
    { name: 'up to date', watermark: '2026-11-24', dates: [] },
    { name: 'sliding window re-processes dates at or before the watermark', watermark: '2026-11-23', window: 2, dates: ['2026-11-20', '2026-11-23', '2026-11-24'] },
    { name: 'the window never reaches before the start date', watermark: '2026-11-20', window: 5, dates: ['2026-11-19', '2026-11-20', '2026-11-23', '2026-11-24'] },
    { name: 'on a Sunday the current business date is Friday', watermark: '2026-11-19', now: at('2026-11-22T08:00:00Z'), dates: ['2026-11-20'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(collectPlan(c.watermark, '2026-11-19', c.window ?? 0, c.now ?? tuesday).dates, c.dates);
    });
  }
});

describe('watermark advance', () => {
  const ok = (date: string) => ({ date, ok: true });
  const bad = (date: string) => ({ date, ok: false });
  const cases: Array<{ name: string; old?: string; outcomes: Array<{ date: string; ok: boolean }>; expected?: string }> = [
    { name: 'all succeed', old: '2026-11-18', outcomes: [ok('2026-11-19'), ok('2026-11-20')], expected: '2026-11-20' },
    { name: 'stops before the first failure', old: '2026-11-18', outcomes: [ok('2026-11-19'), bad('2026-11-20'), ok('2026-11-23')], expected: '2026-11-19' },
    { name: 'the first date fails', old: '2026-11-18', outcomes: [bad('2026-11-19'), ok('2026-11-20')], expected: '2026-11-18' },
    { name: 'no watermark yet and the first date fails', outcomes: [bad('2026-11-19'), ok('2026-11-20')] },
    { name: 'a failed re-processed date never moves it back', old: '2026-11-20', outcomes: [bad('2026-11-19'), ok('2026-11-20'), ok('2026-11-23')], expected: '2026-11-23' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(advanceWatermark(c.old, c.outcomes), c.expected));
});

describe('extract window and chunks', () => {
  it('covers the business dates from offset calendar days before the current one', () => {
    assert.deepEqual(extractWindow(at('2026-11-24T12:00:00Z'), 5), ['2026-11-19', '2026-11-20', '2026-11-23', '2026-11-24']);
    assert.deepEqual(extractWindow(at('2026-11-22T12:00:00Z'), 0), ['2026-11-20']);
  });
  it('splits into chunks of at most n', () => {
    assert.deepEqual(chunks([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(chunks([], 7), []);
  });
});
