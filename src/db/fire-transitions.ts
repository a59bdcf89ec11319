// The one writer of the fire ledger's rows (jobsd.fires): every transition of docs/fire-lifecycle.md,
// each fenced as that table says. Callers ask for a transition; they write no SQL of their own on the
// ledger. (Retention, src/db/retention.ts, deletes old history and changes no fire.) Each function takes
// the connection or transaction it runs in, so a transition commits with the pg-boss change it goes with.

import { isoTime, jsonText, rowsJson, type FireState, type Queryable } from './ledger.ts';
import { notRunResult, type NotRunStatus } from './not-run-result.ts';

export interface FireKey {
  jobId: string;
  fireTimeMs: number;
}

const key = (jobId: string, ms: number) => `${jobId}@${ms}`;

export interface QueuedFire extends FireKey {
  runId: string;
  manual: boolean;
  definitionHash: string;
  dueAtMs: number;
}

/**
 * (none) → `queued`: records the fires, in key order (every replica inserts the same keys at the same
 * instant; in different orders two of them deadlock). Returns the keys this call won: a fire another
 * replica recorded first is not this one's.
 */
export async function recordQueued(db: Queryable, fires: readonly QueuedFire[], instance: string): Promise<Set<string>> {
  const won = await db.query<{ job_id: string; fire_time: Date }>(
    `INSERT INTO jobsd.fires (job_id, fire_time, run_id, manual, state, definition_hash, due_at, enqueued_at, instance)
     SELECT job_id, fire_time, run_id, manual, 'queued', definition_hash, due_at, now(), $2
       FROM jsonb_to_recordset($1::jsonb)
            AS f(job_id text, fire_time timestamptz, run_id uuid, manual boolean, definition_hash text, due_at timestamptz)
      ORDER BY job_id COLLATE "C", fire_time
     ON CONFLICT (job_id, fire_time) DO NOTHING
     RETURNING job_id, fire_time`,
    [
      rowsJson(fires.map((f) => ({ job_id: f.jobId, fire_time: isoTime(f.fireTimeMs), run_id: f.runId, manual: f.manual, definition_hash: f.definitionHash, due_at: isoTime(f.dueAtMs) }))),
      instance,
    ],
  );
  return new Set(won.rows.map((r) => key(r.job_id, r.fire_time.getTime())));
}

export const fireKey = (f: FireKey) => key(f.jobId, f.fireTimeMs);

/**
 * The rows of a jsonb parameter as a relation whose size the planner knows, for a join on the ledger's
 * key: it estimates 100 rows for any function, and for the 8 ends of one turn of an agent it chose a hash
 * join over a sequential scan of the whole ledger (2.8 ms at 12,000 rows, growing with the history: the
 * largest PostgreSQL cost per fire in `npm run bench -- agents`) over 8 probes of the primary key (0.2 ms).
 * `LIMIT` with the number of rows (all of them) makes the estimate exact, up to 100 rows.
 */
const recordset = (rows: string, count: string, columns: string) => `(SELECT * FROM jsonb_to_recordset(${rows}::jsonb) AS r(${columns}) LIMIT ${count})`;

/** Which earlier outcomes a fire run again at its instant (`run --at`, a backfill) may replace. */
export type Reopen = 'unless-succeeded' | 'force';

/**
 * (none) or a final state → `queued`: a run at a chosen fire instant (`jobsd run --at`, a backfill). A row
 * that is queued or running is never taken (that fire is in flight), nor one that succeeded unless forced;
 * otherwise the row starts again (attempts 0, no result) under the new run id. Concurrent callers serialise
 * on the row: one wins, the other finds it queued. Returns the keys this call won.
 */
export async function reopenQueued(db: Queryable, fires: readonly (QueuedFire & { backfill: boolean })[], instance: string, reopen: Reopen): Promise<Set<string>> {
  const reopenable = reopen === 'force' ? ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed', 'partial'] : ['failed', 'timed_out', 'cancelled', 'skipped', 'missed', 'partial'];
  const won = await db.query<{ job_id: string; fire_time: Date }>(
    `INSERT INTO jobsd.fires AS f (job_id, fire_time, run_id, manual, state, definition_hash, due_at, enqueued_at, instance, backfill)
     SELECT job_id, fire_time, run_id, manual, 'queued', definition_hash, due_at, now(), $2, backfill
       FROM jsonb_to_recordset($1::jsonb)
            AS q(job_id text, fire_time timestamptz, run_id uuid, manual boolean, definition_hash text, due_at timestamptz, backfill boolean)
      ORDER BY job_id COLLATE "C", fire_time
     ON CONFLICT (job_id, fire_time) DO UPDATE SET
       run_id = EXCLUDED.run_id, manual = EXCLUDED.manual, state = 'queued', attempts = 0, definition_hash = EXCLUDED.definition_hash,
       due_at = EXCLUDED.due_at, enqueued_at = now(), started_at = NULL, finished_at = NULL, instance = EXCLUDED.instance,
       result = NULL, backfill = EXCLUDED.backfill
       WHERE f.state = ANY($3::text[])
     RETURNING job_id, fire_time`,
    [
      rowsJson(fires.map((f) => ({ job_id: f.jobId, fire_time: isoTime(f.fireTimeMs), run_id: f.runId, manual: f.manual, definition_hash: f.definitionHash, due_at: isoTime(f.dueAtMs), backfill: f.backfill }))),
      instance,
      reopenable,
    ],
  );
  return new Set(won.rows.map((r) => key(r.job_id, r.fire_time.getTime())));
}

/**
 * `queued` → (none): a fire not decided yet, in the transaction that recorded it (refused ahead of its
 * time, or asked to wait for the job's slot), or taken back before it was claimed (`cancelled` too: another
 * replica's removal of the job got there first).
 */
export async function forgetFires(db: Queryable, fires: readonly FireKey[]): Promise<void> {
  if (fires.length === 0) return;
  await db.query(
    `DELETE FROM jobsd.fires f USING ${recordset('$1', '$2', 'job_id text, fire_time timestamptz')} AS q
      WHERE f.job_id = q.job_id AND f.fire_time = q.fire_time AND f.state IN ('queued', 'cancelled')`,
    [rowsJson(fires.map((f) => ({ job_id: f.jobId, fire_time: isoTime(f.fireTimeMs) }))), fires.length],
  );
}

/** `queued` → `skipped`, in the transaction that recorded them: the queue policy refused them, or the job is paused. */
export async function recordSkipped(db: Queryable, fires: readonly (FireKey & { runId: string; message: string })[], instance: string): Promise<void> {
  if (fires.length === 0) return;
  await db.query(
    `UPDATE jobsd.fires f SET state = 'skipped', finished_at = now(), result = q.result
       FROM ${recordset('$1', '$2', 'job_id text, fire_time timestamptz, result jsonb')} AS q
      WHERE f.job_id = q.job_id AND f.fire_time = q.fire_time AND f.state = 'queued'`,
    [
      rowsJson(
        fires.map((f) => ({
          job_id: f.jobId,
          fire_time: isoTime(f.fireTimeMs),
          result: notRunResult(f.jobId, f.fireTimeMs, f.runId, instance, 'skipped', f.message),
        })),
      ),
      fires.length,
    ],
  );
}

export interface NotRunFire extends FireKey {
  runId: string;
  definitionHash: string;
  message: string;
  error?: string;
}

/**
 * (none) → `missed` (catch-up) or `failed` (a fire the database refused for its data): existing rows win.
 * Returns the fires this call recorded.
 */
export async function recordNotRun(db: Queryable, state: 'missed' | 'failed', fires: readonly NotRunFire[], instance: string): Promise<number[]> {
  if (fires.length === 0) return [];
  const result = await db.query(
    `INSERT INTO jobsd.fires (job_id, fire_time, run_id, state, definition_hash, finished_at, instance, result)
     SELECT r.job_id, r.fire_time, r.run_id, $3, r.hash, now(), $2, r.result
       FROM jsonb_to_recordset($1::jsonb) AS r(job_id text, fire_time timestamptz, run_id uuid, hash text, result jsonb)
     ON CONFLICT (job_id, fire_time) DO NOTHING
     RETURNING fire_time`,
    [
      rowsJson(
        fires.map((f) => ({
          job_id: f.jobId,
          fire_time: isoTime(f.fireTimeMs),
          run_id: f.runId,
          hash: f.definitionHash,
          result: notRunResult(f.jobId, f.fireTimeMs, f.runId, instance, state, f.message, f.error),
        })),
      ),
      instance,
      state,
    ],
  );
  return (result.rows as Array<{ fire_time: Date }>).map((r) => r.fire_time.getTime()).sort((a, b) => a - b);
}

/**
 * `queued` → a final state, for runs that will not run again: cancelled (replaced, or the job removed) or
 * failed by a supervisor with no retries left (`heartbeat lost`). Only rows still `queued` or, with
 * `running`, `running`: an attempt that recorded its own end keeps it. Returns how many rows it ended.
 */
export async function recordEnded(
  db: Queryable,
  runIds: readonly string[],
  status: Extract<NotRunStatus, 'cancelled' | 'failed' | 'skipped'>,
  message: string,
  options: { running?: boolean; error?: string } = {},
): Promise<number> {
  if (runIds.length === 0) return 0;
  const states = options.running ? ['queued', 'running'] : ['queued', 'scheduled'];
  const { rows } = await db.query<{ job_id: string; fire_time: Date; run_id: string; attempts: number; instance: string | null }>(
    `SELECT job_id, fire_time, run_id, attempts, instance FROM jobsd.fires WHERE run_id = ANY($1::uuid[]) AND state = ANY($2::text[]) FOR UPDATE`,
    [runIds, states],
  );
  if (rows.length === 0) return 0;
  const result = await db.query(
    `UPDATE jobsd.fires f SET state = $2, finished_at = now(), result = COALESCE(f.result, '{}'::jsonb) || q.result
       FROM jsonb_to_recordset($1::jsonb) AS q(run_id uuid, result jsonb)
      WHERE f.run_id = q.run_id AND f.state = ANY($3::text[])`,
    [
      rowsJson(
        rows.map((r) => ({
          run_id: r.run_id,
          result: { ...notRunResult(r.job_id, r.fire_time.getTime(), r.run_id, r.instance ?? '', status, message, options.error), attempt: r.attempts },
        })),
      ),
      status,
      states,
    ],
  );
  return result.rowCount ?? 0;
}

/** What an attempt writes on its row: its start (`running`), its end, or that a retry follows (`queued`). */
export interface AttemptUpdate {
  state: FireState;
  attempts?: number;
  instance?: string;
  started?: boolean;
  /** When it started (the database's clock as the agent knows it); without it, the statement's now(). */
  startedAtMs?: number;
  finished?: boolean;
  result?: unknown;
}

/**
 * An attempt's transitions, for several fires in one statement: `queued` → `running`, `running` → a final
 * state or back to `queued` (a retry follows). Fenced by attempt: an update that names its attempt leaves
 * a row alone that a later attempt has written already (a late end of attempt N never overwrites N+1), and a
 * start lands only before its attempt's end (a late start mark of attempt N never overwrites N's end).
 */
export async function recordAttempts(db: Queryable, batch: readonly { jobId: string; fireTimeMs: number; update: AttemptUpdate }[]): Promise<void> {
  if (batch.length === 0) return;
  // Rows are locked in the order of the parameter (a probe of the key per row): in key order, as two agents
  // writing the same rows (an attempt's late end, its retry elsewhere) in different orders would deadlock.
  const items = [...batch].sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : a.fireTimeMs - b.fireTimeMs));
  await db.query(
    `UPDATE jobsd.fires f SET state = v.state,
       attempts = COALESCE(v.attempts, f.attempts),
       instance = COALESCE(v.instance, f.instance),
       started_at = CASE WHEN v.started THEN COALESCE(v.started_at, now()) ELSE f.started_at END,
       finished_at = CASE WHEN v.finished THEN now() ELSE NULL END,
       result = COALESCE(v.result, f.result)
     FROM ${recordset('$1', '$2', 'job_id text, fire_time timestamptz, state text, attempts int, instance text, started bool, started_at timestamptz, finished bool, result jsonb')} AS v
     WHERE f.job_id = v.job_id AND f.fire_time = v.fire_time AND (v.attempts IS NULL OR f.attempts <= v.attempts)
       -- A start lands only on a row its attempt has not moved past: a start mark delayed (held behind a
       -- connection during a database restart) must not turn the attempt's written end back into running.
       AND (v.state <> 'running' OR v.attempts IS NULL OR f.attempts < v.attempts OR f.state = 'running')`,
    [
      jsonText(
        items.map((i) => ({
          job_id: i.jobId,
          fire_time: isoTime(i.fireTimeMs),
          state: i.update.state,
          attempts: i.update.attempts,
          instance: i.update.instance,
          started: i.update.started === true,
          started_at: i.update.startedAtMs === undefined ? undefined : isoTime(i.update.startedAtMs),
          finished: i.update.finished === true,
          result: i.update.result,
        })),
      ),
      items.length,
    ],
  );
}
