import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { measureClockOffset } from '../../src/db/clock.ts';
import { migrate } from '../../src/db/migrate.ts';
import { pruneLedger } from '../../src/db/retention.ts';
import { freshDatabase } from '../helpers/db.ts';

test('retention prunes old finished fires in batches, keeps recent, unfinished and one-time ones', async () => {
  const pool = new pg.Pool({ connectionString: await freshDatabase('retention') });
  try {
    await migrate(pool);
    await pool.query(`INSERT INTO jobsd.fires (job_id, fire_time, run_id, state)
      SELECT 'old', now() - interval '40 days' - make_interval(secs => g), gen_random_uuid(), 'succeeded' FROM generate_series(1, 2500) g`);
    await pool.query(`INSERT INTO jobsd.fires (job_id, fire_time, run_id, state) VALUES
      ('old', now() - interval '41 days', gen_random_uuid(), 'running'),
      ('recent', now() - interval '1 day', gen_random_uuid(), 'succeeded'),
      ('once', '1990-01-01T00:00:00Z', gen_random_uuid(), 'succeeded')`);
    assert.equal(await pruneLedger(pool, 30 * 86_400_000), 2500);
    const left = await pool.query<{ job_id: string; state: string }>('SELECT job_id, state FROM jobsd.fires ORDER BY job_id');
    assert.deepEqual(left.rows.map((r) => `${r.job_id}:${r.state}`), ['old:running', 'once:succeeded', 'recent:succeeded']);
  } finally {
    await pool.end();
  }
});

test('the clock offset against the database is small on one machine, with its round trip', async () => {
  const pool = new pg.Pool({ connectionString: await freshDatabase('clock') });
  try {
    const sample = await measureClockOffset(pool);
    assert.ok(Math.abs(sample.offsetMs) < 50, `offset ${sample.offsetMs} ms`);
    assert.ok(sample.roundTripMs >= 0);
  } finally {
    await pool.end();
  }
});
