// The fire ledger (jobsd.fires): the durable record of which fires happened and how they ended.
// pg-boss deletes finished jobs after its retention period; the ledger keeps the history.

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

export interface NewFire {
  jobId: string;
  fireTimeMs: number;
  runId: string;
  manual: boolean;
  definitionHash: string;
  dueAtMs: number;
  instance: string;
}

/** Records a fire; false when another replica (or an earlier run of this one) already did. */
export async function insertFire(db: Queryable, fire: NewFire): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO jobsd.fires (job_id, fire_time, run_id, manual, state, definition_hash, due_at, enqueued_at, instance)
     VALUES ($1, $2, $3, $4, 'scheduled', $5, $6, now(), $7)
     ON CONFLICT (job_id, fire_time) DO NOTHING`,
    [fire.jobId, new Date(fire.fireTimeMs), fire.runId, fire.manual, fire.definitionHash, new Date(fire.dueAtMs), fire.instance],
  );
  return result.rowCount === 1;
}

export interface FireUpdate {
  state: FireState;
  attempts?: number;
  instance?: string;
  started?: boolean;
  finished?: boolean;
  result?: unknown;
}

export async function updateFire(db: Queryable, jobId: string, fireTimeMs: number, update: FireUpdate): Promise<void> {
  await db.query(
    `UPDATE jobsd.fires SET state = $3,
       attempts = COALESCE($4, attempts),
       instance = COALESCE($5, instance),
       started_at = CASE WHEN $6 THEN now() ELSE started_at END,
       finished_at = CASE WHEN $7 THEN now() ELSE NULL END,
       result = COALESCE($8, result)
     WHERE job_id = $1 AND fire_time = $2`,
    [
      jobId,
      new Date(fireTimeMs),
      update.state,
      update.attempts ?? null,
      update.instance ?? null,
      update.started === true,
      update.finished === true,
      update.result === undefined ? null : jsonText(update.result),
    ],
  );
}

/**
 * Several fires' updates in one statement (each row as updateFire would write it). An update that names
 * its attempt leaves a row alone that a later attempt has written already.
 */
export async function updateFires(db: Queryable, items: readonly { jobId: string; fireTimeMs: number; update: FireUpdate }[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `UPDATE jobsd.fires f SET state = v.state,
       attempts = COALESCE(v.attempts, f.attempts),
       instance = COALESCE(v.instance, f.instance),
       started_at = CASE WHEN v.started THEN now() ELSE f.started_at END,
       finished_at = CASE WHEN v.finished THEN now() ELSE NULL END,
       result = COALESCE(v.result, f.result)
     FROM jsonb_to_recordset($1::jsonb)
       AS v(job_id text, fire_time timestamptz, state text, attempts int, instance text, started bool, finished bool, result jsonb)
     WHERE f.job_id = v.job_id AND f.fire_time = v.fire_time AND (v.attempts IS NULL OR f.attempts <= v.attempts)`,
    [
      rowsJson(
        items.map((i) => ({
          job_id: i.jobId,
          fire_time: isoTime(i.fireTimeMs),
          state: i.update.state,
          attempts: i.update.attempts,
          instance: i.update.instance,
          started: i.update.started === true,
          finished: i.update.finished === true,
          result: i.update.result,
        })),
      ),
    ],
  );
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
}

export async function fireHistory(db: Queryable, jobId: string, limit: number): Promise<FireRow[]> {
  const result = await db.query<FireRow>('SELECT * FROM jobsd.fires WHERE job_id = $1 ORDER BY fire_time DESC LIMIT $2', [jobId, limit]);
  return result.rows;
}

/** Every job's fires since `sinceMs`, newest first (the status page's timelines). */
export async function recentFires(db: Queryable, sinceMs: number, limit: number): Promise<FireRow[]> {
  const result = await db.query<FireRow>('SELECT * FROM jobsd.fires WHERE fire_time >= $1 ORDER BY fire_time DESC LIMIT $2', [new Date(sinceMs), limit]);
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

/**
 * Records fires that will not run, with their result JSON: `missed` (catch-up) or `failed` (a fire that
 * could not be queued); existing rows win. Returns the fires this call recorded.
 */
export async function recordNotRun(
  db: Queryable,
  state: 'missed' | 'failed',
  rows: { jobId: string; fireTimeMs: number; runId: string; definitionHash: string; result: unknown }[],
  instance: string,
): Promise<number[]> {
  if (rows.length === 0) return [];
  const result = await db.query(
    `INSERT INTO jobsd.fires (job_id, fire_time, run_id, state, definition_hash, finished_at, instance, result)
     SELECT r.job_id, r.fire_time, r.run_id, $3, r.hash, now(), $2, r.result
       FROM jsonb_to_recordset($1::jsonb) AS r(job_id text, fire_time timestamptz, run_id uuid, hash text, result jsonb)
     ON CONFLICT (job_id, fire_time) DO NOTHING
     RETURNING fire_time`,
    [rowsJson(rows.map((r) => ({ job_id: r.jobId, fire_time: isoTime(r.fireTimeMs), run_id: r.runId, hash: r.definitionHash, result: r.result }))), instance, state],
  );
  return (result.rows as Array<{ fire_time: Date }>).map((r) => r.fire_time.getTime()).sort((a, b) => a - b);
}

/** The state of one fire, or undefined when it has no row. */
export async function fireState(db: Queryable, jobId: string, fireTimeMs: number): Promise<FireState | undefined> {
  const result = await db.query<{ state: FireState }>('SELECT state FROM jobsd.fires WHERE job_id = $1 AND fire_time = $2', [jobId, new Date(fireTimeMs)]);
  return result.rows[0]?.state;
}

export async function fireByRunId(db: Queryable, runId: string): Promise<FireRow | undefined> {
  const result = await db.query<FireRow>('SELECT * FROM jobsd.fires WHERE run_id = $1', [runId]);
  return result.rows[0];
}
