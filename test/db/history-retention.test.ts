// Per-job history limits (`history: { keep, max_age }`, src/db/retention.ts) against a real database:
// each job's oldest finished fires past `keep`, or older than `max_age`, are deleted; unfinished fires,
// one-time fires, the latest scheduled fire and jobs without limits are kept; the agent-wide period applies too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { pruneLedger } from '../../src/db/retention.ts';
import { freshDatabase } from '../helpers/db.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function withLedger(label: string, fn: (pool: pg.Pool) => Promise<void>): Promise<void> {
  const pool = new pg.Pool({ connectionString: await freshDatabase(label) });
  try {
    await migrate(pool);
    await fn(pool);
  } finally {
    await pool.end();
  }
}

/** `count` hourly fires of `job`, the newest `hoursAgo` hours ago, in `state`. */
async function fires(pool: pg.Pool, job: string, count: number, state = 'succeeded', hoursAgo = 1, manual = false): Promise<void> {
  await pool.query(
    `INSERT INTO jobsd.fires (job_id, fire_time, run_id, state, manual)
     SELECT $1, now() - make_interval(hours => $3 + g - 1), gen_random_uuid(), $2, $5 FROM generate_series(1, $4) g`,
    [job, state, hoursAgo, count, manual],
  );
}

async function left(pool: pg.Pool, job: string): Promise<{ count: number; states: string[] }> {
  const { rows } = await pool.query<{ state: string }>('SELECT state FROM jobsd.fires WHERE job_id = $1 ORDER BY fire_time DESC', [job]);
  return { count: rows.length, states: [...new Set(rows.map((r) => r.state))].sort() };
}

test('keep: N leaves the newest N finished fires of that job, in batches, and never an unfinished one', async () => {
  await withLedger('history_keep', async (pool) => {
    await fires(pool, 'busy', 2_600, 'succeeded', 3); // more than two batches
    await fires(pool, 'busy', 1, 'queued', 0);
    await fires(pool, 'busy', 1, 'running', 1);
    await pool.query(`INSERT INTO jobsd.fires (job_id, fire_time, run_id, state) VALUES ('busy', now() - interval '10 days', gen_random_uuid(), 'running')`);
    await fires(pool, 'other', 50);
    const deleted = await pruneLedger(pool, 30 * DAY, [{ jobId: 'busy', keep: 10 }]);
    assert.equal(deleted, 2_590);
    const busy = await pool.query<{ state: string; hours: number }>(
      `SELECT state, round(extract(epoch FROM now() - fire_time) / 3600)::int AS hours FROM jobsd.fires WHERE job_id = 'busy' ORDER BY fire_time DESC`,
    );
    assert.deepEqual(busy.rows.map((r) => `${r.state}@${r.hours}`), [
      'queued@0', 'running@1', ...Array.from({ length: 10 }, (_, i) => `succeeded@${i + 3}`), 'running@240',
    ], 'the 10 newest finished, and every unfinished one however old');
    assert.equal((await left(pool, 'other')).count, 50, 'a job without limits is untouched');
    assert.equal(await pruneLedger(pool, 30 * DAY, [{ jobId: 'busy', keep: 10 }]), 0, 'a second pass deletes nothing');
  });
});

test('max_age deletes the older finished fires but the latest scheduled one; with keep, either limit deletes', async () => {
  await withLedger('history_age', async (pool) => {
    await fires(pool, 'aged', 48, 'failed'); // 1 h … 48 h ago
    await fires(pool, 'both', 48); // 1 h … 48 h ago
    await fires(pool, 'rare', 3, 'succeeded', 30); // a job whose newest fire is older than its max_age
    await fires(pool, 'rare', 2, 'succeeded', 2, true); // manual runs since
    await fires(pool, 'at', 1, 'succeeded', 40); // a one-time `at`, long past
    await pool.query(`INSERT INTO jobsd.fires (job_id, fire_time, run_id, state) VALUES ('setup', '1990-01-01T00:00:00Z', gen_random_uuid(), 'succeeded')`);
    const deleted = await pruneLedger(pool, 30 * DAY, [
      { jobId: 'aged', maxAgeMs: 12 * HOUR + 30 * 60_000 },
      { jobId: 'both', keep: 20, maxAgeMs: 6 * HOUR + 30 * 60_000 },
      { jobId: 'rare', maxAgeMs: 24 * HOUR },
      { jobId: 'at', maxAgeMs: HOUR },
      { jobId: 'setup', keep: 1, maxAgeMs: HOUR },
    ]);
    assert.equal((await left(pool, 'aged')).count, 12, 'fires 1 h … 12 h ago');
    assert.equal((await left(pool, 'both')).count, 6, 'max_age is the tighter one here');
    const rare = await pool.query<{ manual: boolean }>(`SELECT manual FROM jobsd.fires WHERE job_id = 'rare' ORDER BY fire_time DESC`);
    assert.deepEqual(rare.rows.map((r) => r.manual), [true, true, false], 'the manual runs, and the latest scheduled fire, which catch-up starts from');
    assert.equal((await left(pool, 'at')).count, 1, 'a past `at` keeps its record, so it cannot run again');
    assert.equal((await left(pool, 'setup')).count, 1, 'a one-time fire is never pruned');
    assert.equal(deleted, 36 + 42 + 2);
  });
});

test('the agent-wide period still applies to jobs with limits; keep does not extend it', async () => {
  await withLedger('history_wide', async (pool) => {
    await fires(pool, 'long', 10, 'succeeded', 24 * 40); // 40 days ago and older
    await fires(pool, 'long', 5); // recent
    assert.equal(await pruneLedger(pool, 30 * DAY, [{ jobId: 'long', keep: 100 }]), 10);
    assert.equal((await left(pool, 'long')).count, 5);
  });
});
