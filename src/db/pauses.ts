// The pause records (jobsd.pauses): one row per paused job, written by `jobsd pause`, the API and
// pause_after_failures, read by every replica. A pause with an `until` ends by itself at that instant:
// fires due from then on run. A resume ends it the same way. The row stays (one per job at most).
// What a pause does to fires is src/queue/pause.ts and the enqueue transaction (src/queue/enqueue-batch.ts).

import type { Queryable } from './ledger.ts';

export interface Pause {
  jobId: string;
  pausedAtMs: number;
  /** Resumes by itself at this instant; undefined: until `jobsd resume`. */
  untilMs?: number;
  reason?: string;
  /** Who paused it: `operator` (CLI, API), or `pause_after_failures`. */
  by: string;
}

interface PauseRow {
  job_id: string;
  paused_at: Date;
  until: Date | null;
  reason: string | null;
  paused_by: string;
}

const fromRow = (r: PauseRow): Pause => ({
  jobId: r.job_id,
  pausedAtMs: r.paused_at.getTime(),
  ...(r.until ? { untilMs: r.until.getTime() } : {}),
  ...(r.reason !== null ? { reason: r.reason } : {}),
  by: r.paused_by,
});

/** Records (or replaces) the job's pause. */
export async function writePause(db: Queryable, pause: Omit<Pause, 'pausedAtMs'>): Promise<Pause> {
  const { rows } = await db.query<PauseRow>(
    `INSERT INTO jobsd.pauses (job_id, until, reason, paused_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (job_id) DO UPDATE SET paused_at = now(), until = EXCLUDED.until, reason = EXCLUDED.reason, paused_by = EXCLUDED.paused_by
     RETURNING *`,
    [pause.jobId, pause.untilMs === undefined ? null : new Date(pause.untilMs), pause.reason ?? null, pause.by],
  );
  return fromRow(rows[0]!);
}

/**
 * Ends the job's pause now; returns whether one was in force. The row stays, ended: its `until` is where
 * pause_after_failures starts counting again.
 */
export async function endPause(db: Queryable, jobId: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE jobsd.pauses SET until = now() WHERE job_id = $1 AND (until IS NULL OR until > now())', [jobId]);
  return (rowCount ?? 0) > 0;
}

/** The pauses in force now, by job id. */
export async function activePauses(db: Queryable): Promise<Map<string, Pause>> {
  const { rows } = await db.query<PauseRow>('SELECT * FROM jobsd.pauses WHERE until IS NULL OR until > now()');
  return new Map(rows.map((r) => [r.job_id, fromRow(r)]));
}

/**
 * Of these fires, the ones due while their job is paused: the enqueue transaction records them `skipped`.
 * Runs after the fires' own insert in that transaction (see src/queue/pause.ts for why).
 */
export async function pausedAmong(db: Queryable, fires: readonly { jobId: string; dueAtMs: number }[]): Promise<Map<number, Pause>> {
  const out = new Map<number, Pause>();
  if (fires.length === 0) return out;
  const ids = [...new Set(fires.map((f) => f.jobId))];
  const { rows } = await db.query<PauseRow>('SELECT * FROM jobsd.pauses WHERE job_id = ANY($1::text[])', [ids]);
  if (rows.length === 0) return out;
  const byJob = new Map(rows.map((r) => [r.job_id, fromRow(r)]));
  fires.forEach((f, i) => {
    const pause = byJob.get(f.jobId);
    if (pause && (pause.untilMs === undefined || pause.untilMs > f.dueAtMs)) out.set(i, pause);
  });
  return out;
}

/** The ledger's message for a fire skipped by a pause. */
export function pausedMessage(pause: Pause): string {
  const until = pause.untilMs === undefined ? '' : ` until ${new Date(pause.untilMs).toISOString()}`;
  return `paused${until} by ${pause.by}${pause.reason ? `: ${pause.reason}` : ''}`;
}

/** A job's pause as the API, `list --json` and the status page show it: `paused: false`, or when it ends (null: until resumed), why and by whom. */
export function pauseJson(pause: Pause | undefined) {
  if (!pause) return { paused: false as const };
  return { paused: true as const, paused_at: new Date(pause.pausedAtMs).toISOString(), until: pause.untilMs === undefined ? null : new Date(pause.untilMs).toISOString(), reason: pause.reason ?? null, paused_by: pause.by };
}
