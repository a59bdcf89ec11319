// Several crons per job: the union of the expressions' fires, each once, each with its own DST rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Problems } from '../../src/definitions/fields.ts';
import { normalizeSchedule } from '../../src/definitions/normalize-schedule.ts';
import type { Schedule } from '../../src/definitions/types.ts';
import { firedBy, firesBetween, nextFires } from '../../src/schedule/next.ts';

const ms = (iso: string) => Date.parse(iso);
const iso = (list: number[]) => list.map((at) => new Date(at).toISOString());

function parse(cron: string | string[], timezone = 'UTC'): Schedule {
  const problems = new Problems();
  const schedule = normalizeSchedule(problems, { cron, timezone }, 'UTC');
  assert.ok(schedule, problems.list.map((p) => p.message).join('; '));
  return schedule;
}

/** The fires in (from, to] of each expression alone, merged, sorted, without duplicates: the reference. */
function mergedFires(expressions: string[], zone: string, fromMs: number, toMs: number): number[] {
  const all = new Set<number>();
  for (const e of expressions) for (const f of firesBetween(parse(e, zone), fromMs, toMs, 100_000)) all.add(f);
  return [...all].sort((a, b) => a - b);
}

test('two crons fire at their union, an instant matched by both once', () => {
  const schedule = parse(['0 9 * * *', '0 */6 * * *']);
  assert.equal(schedule.trigger.kind, 'crons');
  assert.deepEqual(iso(nextFires(schedule, ms('2026-11-23T00:00:00Z'), 6)), [
    '2026-11-23T06:00:00.000Z',
    '2026-11-23T09:00:00.000Z',
    '2026-11-23T12:00:00.000Z',
    '2026-11-23T18:00:00.000Z',
    '2026-11-24T00:00:00.000Z',
    '2026-11-24T06:00:00.000Z',
  ]);
  const both = parse(['0 12 * * *', '0 */6 * * *']);
  assert.deepEqual(firedBy(both, ms('2026-11-23T12:00:00Z')), ['0 12 * * *', '0 */6 * * *']);
  assert.deepEqual(firedBy(both, ms('2026-11-23T18:00:00Z')), ['0 */6 * * *']);
  assert.deepEqual(firedBy(both, ms('2026-11-23T18:00:01Z')), [], 'not a fire');
  assert.deepEqual(iso(nextFires(both, ms('2026-11-23T11:00:00Z'), 2)), ['2026-11-23T12:00:00.000Z', '2026-11-23T18:00:00.000Z']);
});

test('a list of one is the single cron; a repeated expression (a macro and its expansion) is kept once', () => {
  assert.deepEqual(parse(['@daily']).trigger, { kind: 'cron', expression: '0 0 * * *', source: '@daily' });
  assert.deepEqual(parse(['@daily', '0 0 * * *']).trigger, { kind: 'cron', expression: '0 0 * * *', source: '@daily' });
  assert.deepEqual(parse(['@daily', '0 0 * * *', '0 12 * * *']).trigger, {
    kind: 'crons',
    crons: [{ expression: '0 0 * * *', source: '@daily' }, { expression: '0 12 * * *', source: '0 12 * * *' }],
  });
});

test('a bad expression in the list is located by its index; an empty list is an error', () => {
  const problems = new Problems();
  assert.equal(normalizeSchedule(problems, { cron: ['0 9 * * *', '61 * * * *'] }, 'UTC'), undefined);
  assert.deepEqual(problems.list.map((p) => [p.path, p.message]), [[['schedule', 'cron', 1], '"61 * * * *": minute must be 0-59']]);
  const bare = new Problems();
  assert.equal(normalizeSchedule(bare, ['0 9 * * *', '* * *'], 'UTC'), undefined);
  assert.deepEqual(bare.list.map((p) => p.path), [['schedule', 1]]);
  const empty = new Problems();
  assert.equal(normalizeSchedule(empty, { cron: [] }, 'UTC'), undefined);
  assert.match(empty.list[0]!.message, /at least one/);
});

test('a bare list as the schedule is a list of crons', () => {
  const problems = new Problems();
  const bare = normalizeSchedule(problems, ['0 9 * * 1-5', '0 12 * * 6,0'], 'UTC');
  assert.deepEqual(bare?.trigger, parse(['0 9 * * 1-5', '0 12 * * 6,0']).trigger);
  assert.deepEqual(iso(nextFires(bare!, ms('2026-11-27T10:00:00Z'), 3)), ['2026-11-28T12:00:00.000Z', '2026-11-29T12:00:00.000Z', '2026-11-30T09:00:00.000Z']);
});

test('DST in Europe/Berlin: each expression keeps its own rule (fixed-time in the gap at its end, wild on the new clock, first pass only on fall back)', () => {
  const spring = parse(['30 2 * * *', '*/20 * * * *'], 'Europe/Berlin');
  // 2026-03-29: 02:00 CET → 03:00 CEST (01:00Z).
  assert.deepEqual(iso(nextFires(spring, ms('2026-03-29T00:30:00Z'), 4)), [
    '2026-03-29T00:40:00.000Z', // 01:40 CET, wild
    '2026-03-29T01:00:00.000Z', // 03:00 CEST: the wild 03:00 and the fixed 02:30 in the gap, once
    '2026-03-29T01:20:00.000Z',
    '2026-03-29T01:40:00.000Z',
  ]);
  assert.deepEqual(firedBy(spring, ms('2026-03-29T01:00:00Z')), ['30 2 * * *', '*/20 * * * *']);
  const autumn = parse(['30 2 * * *', '0 * * * *'], 'Europe/Berlin');
  // 2026-10-25: 03:00 CEST → 02:00 CET (01:00Z); 02:30 occurs twice, the fixed job fires at the first.
  assert.deepEqual(iso(nextFires(autumn, ms('2026-10-24T23:30:00Z'), 4)), [
    '2026-10-25T00:00:00.000Z', // 02:00 CEST, hourly: wild (its hour is *), so it fires in both passes
    '2026-10-25T00:30:00.000Z', // 02:30 CEST, the fixed job's first occurrence
    '2026-10-25T01:00:00.000Z', // 02:00 CET, hourly again in the second pass
    '2026-10-25T02:00:00.000Z', // 03:00 CET
  ]);
});

// A small seeded generator (mulberry32), so that a failure names a reproducible case.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCron(next: () => number): string {
  const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)]!;
  const minute = pick(['0', '*/15', '*/20', '30', '5,35', '45', '*/7']);
  const hour = pick(['*', '2', '1-3', '*/5', '9', '0,12', '23']);
  const dom = pick(['*', '*', '1', '15', '*/2', '28-31']);
  const dow = pick(['*', '*', '0', '1-5', '6']);
  return `${minute} ${hour} ${dom} * ${dow}`;
}

test('property: the union of 2-4 random expressions equals the merged, sorted set of their fires, with no duplicates', () => {
  const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'];
  // Windows that hold a DST change in the zones above (northern spring and autumn, southern autumn and spring).
  const windows = ['2026-03-07T00:00:00Z', '2026-03-27T00:00:00Z', '2026-04-03T00:00:00Z', '2026-10-02T00:00:00Z', '2026-10-23T00:00:00Z', '2026-10-30T00:00:00Z'];
  const next = random(21);
  for (let round = 0; round < 40; round++) {
    const expressions = Array.from({ length: 2 + Math.floor(next() * 3) }, () => randomCron(next));
    const zone = zones[round % zones.length]!;
    const fromMs = ms(windows[Math.floor(next() * windows.length)]!);
    const toMs = fromMs + 4 * 86_400_000;
    const union = parse(expressions, zone);
    const expected = mergedFires(expressions, zone, fromMs, toMs);
    const label = `${JSON.stringify(expressions)} in ${zone} from ${new Date(fromMs).toISOString()}`;
    const got = firesBetween(union, fromMs, toMs, 100_000);
    assert.deepEqual(iso(got), iso(expected), label);
    assert.equal(new Set(got).size, got.length, `no duplicates: ${label}`);
    const n = Math.min(50, expected.length);
    assert.deepEqual(iso(nextFires(union, fromMs, n)), iso(expected.slice(0, n)), `nextFires: ${label}`);
    for (const fire of got.slice(0, 20)) assert.ok(firedBy(union, fire).length > 0, `every fire has a source: ${label}`);
  }
});
