// Backfill progress (jobsd.backfills): written by the `jobsd backfill` that drives it, read by the status
// page. The fires themselves are ledger rows like any other (their `backfill` column set).

import type { Queryable } from './ledger.ts';

export interface BackfillProgress {
  id: string;
  jobId: string;
  fromMs: number;
  toMs: number;
  total: number;
  done: number;
  failed: number;
  startedAtMs: number;
  updatedAtMs: number;
}

/** A backfill whose driver has not written for this long is shown as abandoned, not in progress. */
export const BACKFILL_STALE_MS = 120_000;

export async function startBackfill(db: Queryable, b: Pick<BackfillProgress, 'id' | 'jobId' | 'fromMs' | 'toMs' | 'total'>): Promise<void> {
  await db.query('INSERT INTO jobsd.backfills (id, job_id, from_time, to_time, total) VALUES ($1, $2, $3, $4, $5)', [b.id, b.jobId, new Date(b.fromMs), new Date(b.toMs), b.total]);
}

export async function updateBackfill(db: Queryable, id: string, done: number, failed: number, outcome?: string): Promise<void> {
  await db.query(
    `UPDATE jobsd.backfills SET done = $2, failed = $3, updated_at = now(), finished_at = CASE WHEN $4::text IS NULL THEN NULL ELSE now() END, outcome = $4 WHERE id = $1`,
    [id, done, failed, outcome ?? null],
  );
}

/** Backfills in progress: not finished, and their driver wrote within BACKFILL_STALE_MS. */
export async function backfillsInProgress(db: Queryable): Promise<BackfillProgress[]> {
  const { rows } = await db.query<{ id: string; job_id: string; from_time: Date; to_time: Date; total: number; done: number; failed: number; started_at: Date; updated_at: Date }>(
    `SELECT * FROM jobsd.backfills WHERE finished_at IS NULL AND updated_at > now() - make_interval(secs => $1) ORDER BY started_at`,
    [BACKFILL_STALE_MS / 1000],
  );
  return rows.map((r) => ({ id: r.id, jobId: r.job_id, fromMs: r.from_time.getTime(), toMs: r.to_time.getTime(), total: r.total, done: r.done, failed: r.failed, startedAtMs: r.started_at.getTime(), updatedAtMs: r.updated_at.getTime() }));
}
