// The fire ledger (jobsd.fires): the durable record of which fires happened and how they ended, as read
// by the CLI, the API and catch-up. pg-boss deletes finished jobs after its retention period; the ledger
// keeps the history. Its rows are written by src/db/fire-transitions.ts alone.

import type pg from 'pg';

export type FireState = 'scheduled' | 'queued' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'skipped' | 'missed' | 'partial';

export type Queryable = Pick<pg.ClientBase, 'query'> | Pick<pg.Pool, 'query'>;

/**
 * A value as JSON text for a `jsonb` parameter. PostgreSQL's jsonb cannot hold the NUL character
 * (`\u0000`): a command that printed one would fail the statement, and with it the other runs' rows
 * written by the same statement. NUL becomes U+FFFD, the replacement character.
 */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  // An escape is `\u0000` after an even run of backslashes (each pair an escaped backslash of the text).
  return text.includes('\\u0000') ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : text;
}

/**
 * Many rows as one `jsonb` parameter, read with jsonb_to_recordset: one array per column (unnest) is
 * built by pg in JavaScript, escaping every element, which was the largest allocation of a busy agent.
 * Instants go as ISO 8601 text (millisecond precision, as pg sends a Date).
 */
export function rowsJson(rows: readonly object[]): string {
  return jsonText(rows);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export interface FireRow {
  job_id: string;
  fire_time: Date;
  run_id: string;
  manual: boolean;
  state: FireState;
  attempts: number;
  definition_hash: string | null;
  due_at: Date | null;
  enqueued_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  instance: string | null;
  result: Record<string, unknown> | null;
  /** The run was a backfill's (`jobsd backfill`). */
  backfill?: boolean;
}

export async function fireHistory(db: Queryable, jobId: string, limit: number): Promise<FireRow[]> {
  const result = await db.query<FireRow>('SELECT * FROM jobsd.fires WHERE job_id = $1 ORDER BY fire_time DESC LIMIT $2', [jobId, limit]);
  return result.rows;
}

/** The final state of the job's last finished run before `fireTimeMs` (for recovery notifications). */
export async function previousFinalState(db: Queryable, jobId: string, fireTimeMs: number): Promise<string | undefined> {
  const result = await db.query<{ state: string }>(
    `SELECT state FROM jobsd.fires WHERE job_id = $1 AND fire_time < $2 AND state IN ('succeeded', 'failed', 'timed_out', 'partial')
      ORDER BY fire_time DESC LIMIT 1`,
    [jobId, new Date(fireTimeMs)],
  );
  return result.rows[0]?.state;
}

/** The newest fire of each job, for `jobsd list`. */
export async function lastFires(db: Queryable): Promise<Map<string, FireRow>> {
  const result = await db.query<FireRow>(
    `SELECT DISTINCT ON (job_id) * FROM jobsd.fires WHERE state NOT IN ('scheduled') ORDER BY job_id, fire_time DESC`,
  );
  return new Map(result.rows.map((r) => [r.job_id, r]));
}

/** The newest scheduled (not manual) fire of every job: where catch-up starts from. */
export async function lastScheduledFires(db: Queryable): Promise<Map<string, number>> {
  const result = await db.query<{ job_id: string; last: Date }>('SELECT job_id, max(fire_time) AS last FROM jobsd.fires WHERE NOT manual GROUP BY job_id');
  return new Map(result.rows.map((r) => [r.job_id, r.last.getTime()]));
}

/** The state of one fire, or undefined when it has no row. */
export async function fireState(db: Queryable, jobId: string, fireTimeMs: number): Promise<FireState | undefined> {
  const result = await db.query<{ state: FireState }>('SELECT state FROM jobsd.fires WHERE job_id = $1 AND fire_time = $2', [jobId, new Date(fireTimeMs)]);
  return result.rows[0]?.state;
}

export async function fireAt(db: Queryable, jobId: string, fireTimeMs: number): Promise<FireRow | undefined> {
  const result = await db.query<FireRow>('SELECT * FROM jobsd.fires WHERE job_id = $1 AND fire_time = $2', [jobId, new Date(fireTimeMs)]);
  return result.rows[0];
}

export async function fireByRunId(db: Queryable, runId: string): Promise<FireRow | undefined> {
  const result = await db.query<FireRow>('SELECT * FROM jobsd.fires WHERE run_id = $1', [runId]);
  return result.rows[0];
}
