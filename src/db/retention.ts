// Pruning the fire ledger after the retention period, and each job's history past its own `history:`
// limits, in small batches so that no statement holds locks for long. One replica prunes at a time
// (advisory lock). Only finished fires go. One-time fires are never pruned, so an @once job cannot run
// again when its record ages out; nor is a job's latest scheduled fire pruned by its own limits, which
// catch-up starts from (and which stops a past `at` from running again).

import type pg from 'pg';
import type { HistoryPolicy } from '../definitions/types.ts';

/** A job's own history limits. */
export interface JobHistory extends HistoryPolicy {
  jobId: string;
}

const LOCK_KEY = 0x6a6f6274; // "jobt"
const BATCH = 1_000;
/** One-time fires are recorded before this instant (see onceFireTime in src/queue/fire-id.ts). */
const ONE_TIME_BEFORE = '2005-01-01T00:00:00Z';

const UNFINISHED = "('scheduled', 'queued', 'running')";

/**
 * A batch of finished fires past their job's `keep` newest or older than its `max_age`, one statement for
 * every job with limits: the policies go in as arrays, and a window over each job's finished fires ranks them.
 */
const JOB_HISTORY_BATCH = `
  WITH policy AS (
    SELECT * FROM unnest($1::text[], $2::integer[], $3::double precision[]) AS p(job_id, keep, max_age_s)
  ), ranked AS (
    SELECT f.ctid AS row_id, f.fire_time, p.keep, p.max_age_s,
           row_number() OVER (PARTITION BY f.job_id ORDER BY f.fire_time DESC) AS newest,
           max(f.fire_time) FILTER (WHERE NOT f.manual) OVER (PARTITION BY f.job_id) AS last_scheduled
      FROM jobsd.fires f JOIN policy p USING (job_id)
     WHERE f.fire_time >= $4 AND f.state NOT IN ${UNFINISHED}
  )
  DELETE FROM jobsd.fires WHERE ctid = ANY (ARRAY(
    SELECT row_id FROM ranked
     WHERE (newest > keep OR fire_time < now() - make_interval(secs => max_age_s))
       AND fire_time IS DISTINCT FROM last_scheduled
     LIMIT ${BATCH}))`;

/**
 * Deletes finished fires older than `retentionMs`, then those past the `history` limits of the jobs in
 * `jobs`; returns how many.
 */
export async function pruneLedger(pool: pg.Pool, retentionMs: number, jobs: readonly JobHistory[] = []): Promise<number> {
  const client = await pool.connect();
  const onError = () => undefined; // a dropped connection fails the next query instead of the process
  client.on('error', onError);
  let deleted = 0;
  try {
    const locked = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY]);
    if (!locked.rows[0]?.ok) return 0;
    try {
      for (;;) {
        const result = await client.query(
          `DELETE FROM jobsd.fires WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM jobsd.fires
              WHERE fire_time < now() - make_interval(secs => $1) AND fire_time >= $2
                AND state NOT IN ${UNFINISHED}
              LIMIT ${BATCH}))`,
          [retentionMs / 1000, ONE_TIME_BEFORE],
        );
        deleted += result.rowCount ?? 0;
        if ((result.rowCount ?? 0) < BATCH) break;
      }
      const limited = jobs.filter((j) => j.keep !== undefined || j.maxAgeMs !== undefined);
      const args = [
        limited.map((j) => j.jobId),
        limited.map((j) => j.keep ?? null),
        limited.map((j) => (j.maxAgeMs === undefined ? null : j.maxAgeMs / 1000)),
        ONE_TIME_BEFORE,
      ];
      while (limited.length > 0) {
        const result = await client.query(JOB_HISTORY_BATCH, args);
        deleted += result.rowCount ?? 0;
        if ((result.rowCount ?? 0) < BATCH) break;
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  } finally {
    client.off('error', onError);
    client.release();
  }
  return deleted;
}
