// The status page's ledger reads (src/db/status-queries.ts) against a real database, table-driven: which
// jobs are failing now (their last result failed or timed out; skipped, missed, cancelled, queued and
// running fires are no result), the last day's missed fires and failed runs, a page's timelines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { badFiresSince, FAILING_STATES, lastFiresOf, lastResultStates, timelineFiresOf } from '../../src/db/status-queries.ts';
import { freshDatabase } from '../helpers/db.ts';

const HOUR = 3_600_000;

/** Each job's fires, oldest first, an hour apart, the newest an hour ago. */
const LEDGER: Record<string, string[]> = {
  'failed-last': ['succeeded', 'failed'],
  'recovered': ['failed', 'succeeded'],
  'timed-out-then-skipped': ['succeeded', 'timed_out', 'skipped', 'missed', 'cancelled'],
  'partial-after-failure': ['failed', 'partial'],
  'running-after-failure': ['failed', 'running'],
  'never-failed': ['succeeded', 'succeeded'],
  'old-failure': ['failed', ...Array(30).fill('succeeded')],
};

test('failing now, missed and failed in the last day, and a page of timelines', async () => {
  const pool = new pg.Pool({ connectionString: await freshDatabase('status_queries') });
  try {
    await migrate(pool);
    for (const [job, states] of Object.entries(LEDGER)) {
      await pool.query(
        `INSERT INTO jobsd.fires (job_id, fire_time, run_id, state, result)
         SELECT $1, now() - make_interval(hours => ($3::int - s.i + 1)::int), gen_random_uuid(), s.state, jsonb_build_object('message', s.state || ' ' || s.i, 'details', jsonb_build_object('output_tail', 'long output'))
           FROM unnest($2::text[]) WITH ORDINALITY AS s(state, i)`,
        [job, states, states.length],
      );
    }
    const states = await lastResultStates(pool, [...Object.keys(LEDGER), 'no-runs']);
    const failing = [...states].filter(([, s]) => FAILING_STATES.includes(s)).map(([id]) => id).sort();
    assert.deepEqual(failing, ['failed-last', 'running-after-failure', 'timed-out-then-skipped']);
    assert.equal(states.get('partial-after-failure'), 'partial');
    assert.equal(states.has('no-runs'), false);

    const bad = await badFiresSince(pool, Date.now() - 24 * HOUR);
    assert.deepEqual(bad.get('timed-out-then-skipped'), { missed: 1, failed: 1 });
    assert.deepEqual(bad.get('recovered'), { missed: 0, failed: 1 });
    assert.equal(bad.get('old-failure'), undefined, 'its failure was 31 hours ago');
    assert.equal(bad.get('never-failed'), undefined);

    const last = await lastFiresOf(pool, ['recovered', 'no-runs']);
    assert.deepEqual([...last.keys()], ['recovered']);
    assert.deepEqual(last.get('recovered')!.result, { message: 'succeeded 2' }, "the list's last run: the message, not the output");

    const runs = await timelineFiresOf(pool, ['old-failure', 'recovered'], 5);
    assert.equal(runs.get('old-failure')!.length, 5, 'at most perJob runs a job');
    const lastHours = await timelineFiresOf(pool, ['old-failure'], 400, Date.now() - 3.5 * HOUR);
    assert.equal(lastHours.get('old-failure')!.length, 3, 'since the range start');
  } finally {
    await pool.end();
  }
});
