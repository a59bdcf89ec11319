import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CatchupPolicy, Schedule } from '../../src/definitions/types.ts';
import { planCatchUp } from '../../src/schedule/catchup.ts';

const ms = (iso: string) => Date.parse(iso);
const iso = (list: number[]) => list.map((t) => new Date(t).toISOString().slice(11, 19));

function hourly(catchup: CatchupPolicy, windowHours = 1): Schedule {
  return { trigger: { kind: 'cron', expression: '0 * * * *', source: '0 * * * *' }, timezone: 'UTC', jitterMs: 0, catchup, catchupWindowMs: windowHours * 3_600_000 };
}

test('catch-up policies over a 5-hour outage of an hourly job', () => {
  const since = ms('2026-11-23T01:00:00Z'); // the last fire that happened
  const now = ms('2026-11-23T06:30:00Z'); // fires at 02..06 were missed
  const table: [CatchupPolicy, number, string[], string[]][] = [
    ['skip', 1, [], ['02:00:00', '03:00:00', '04:00:00', '05:00:00', '06:00:00']],
    ['latest', 1, ['06:00:00'], ['02:00:00', '03:00:00', '04:00:00', '05:00:00']],
    ['latest', 0.25, [], ['02:00:00', '03:00:00', '04:00:00', '05:00:00', '06:00:00']],
    ['all', 3, ['04:00:00', '05:00:00', '06:00:00'], ['02:00:00', '03:00:00']],
    ['all', 24, ['02:00:00', '03:00:00', '04:00:00', '05:00:00', '06:00:00'], []],
  ];
  for (const [policy, window, run, missed] of table) {
    const plan = planCatchUp(hourly(policy, window), 'job', since, now);
    assert.deepEqual(iso(plan.run), run, `${policy} ${window}h run`);
    assert.deepEqual(iso(plan.missed), missed, `${policy} ${window}h missed`);
  }
});

test('a past one-time `at` with no record follows the policy; at most 100 fires are considered', () => {
  const at: Schedule = { ...hourly('latest'), trigger: { kind: 'at', atMs: ms('2026-11-23T06:00:00Z') } };
  assert.deepEqual(planCatchUp(at, 'job', -Infinity, ms('2026-11-23T06:10:00Z')).run, [ms('2026-11-23T06:00:00Z')]);
  assert.deepEqual(planCatchUp({ ...at, catchup: 'skip' }, 'job', -Infinity, ms('2026-11-23T06:10:00Z')).missed, [ms('2026-11-23T06:00:00Z')]);
  const everySecond: Schedule = { ...hourly('all', 24), trigger: { kind: 'every', intervalMs: 1000, anchorMs: 0 } };
  const plan = planCatchUp(everySecond, 'job', ms('2026-11-23T00:00:00Z'), ms('2026-11-23T06:00:00Z'));
  assert.equal(plan.run.length, 100);
  assert.equal(plan.run.at(-1), ms('2026-11-23T06:00:00Z'));
});

test('a fire whose nominal time has passed but whose jittered due time has not is not missed: it is still to come', async () => {
  const { jitterDelay } = await import('../../src/schedule/jitter.ts');
  const schedule: Schedule = { ...hourly('skip'), jitterMs: 30 * 60_000 };
  const fire = ms('2026-11-23T06:00:00Z');
  const due = fire + jitterDelay('job', fire, schedule.jitterMs);
  assert.ok(due - fire > 60_000, 'the job id has a jitter worth testing');
  const before = planCatchUp(schedule, 'job', ms('2026-11-23T04:30:00Z'), due - 1);
  assert.ok(!before.missed.includes(fire) && !before.run.includes(fire), 'not yet due: left to the ticker');
  assert.ok(before.missed.includes(ms('2026-11-23T05:00:00Z')), 'the fire before it was due before 05:30: missed');
  assert.ok(planCatchUp(schedule, 'job', ms('2026-11-23T04:30:00Z'), due).missed.includes(fire), 'once due, it was missed');
});
