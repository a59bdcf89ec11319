// Pruning the fire ledger after the retention period, in small batches so that no statement holds
// locks for long. One replica prunes at a time (advisory lock); one-time fires are never pruned, so
// an @once job cannot run again when its record ages out.

import type pg from 'pg';

const LOCK_KEY = 0x6a6f6274; // "jobt"
const BATCH = 1_000;
/** One-time fires are recorded before this instant (see onceFireTime in src/queue/fire-id.ts). */
const ONE_TIME_BEFORE = '2005-01-01T00:00:00Z';

/** Deletes finished fires older than `retentionMs`; returns how many. */
export async function pruneLedger(pool: pg.Pool, retentionMs: number): Promise<number> {
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
                AND state NOT IN ('scheduled', 'queued', 'running')
              LIMIT ${BATCH}))`,
          [retentionMs / 1000, ONE_TIME_BEFORE],
        );
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
