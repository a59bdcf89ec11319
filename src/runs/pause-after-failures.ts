// pause_after_failures: N in a job file pauses the job (src/queue/pause.ts) once its last N runs ended
// failed (failed, timed_out or partial, each with no retry left). Checked by the agent whose run just ended
// failed, after its end is written, so that the ledger holds it. The count starts again when a pause ends
// (`jobsd resume`, or its `until`): runs that ended before it do not count.

import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { JobDefinition } from '../definitions/types.ts';
import { activePauses } from '../db/pauses.ts';
import { pauseJob } from '../queue/pause.ts';
import { FAILURE_STATES } from './notify.ts';

/** The states that count as a run's outcome: a skipped, missed or cancelled fire neither breaks nor extends a streak. */
const RUN_OUTCOMES = ['succeeded', 'failed', 'timed_out', 'partial'];

/** Pauses the job when its last `pauseAfterFailures` runs failed; returns the pause's reason, or undefined. */
export async function pauseAfterFailures(pool: pg.Pool, boss: PgBoss, def: JobDefinition): Promise<string | undefined> {
  const n = def.pauseAfterFailures;
  if (n === undefined) return undefined;
  const { rows } = await pool.query<{ state: string; finished_at: Date }>(
    `SELECT state, finished_at FROM jobsd.fires
      WHERE job_id = $1 AND finished_at IS NOT NULL AND state = ANY($2::text[])
        AND finished_at > COALESCE((SELECT until FROM jobsd.pauses WHERE job_id = $1), '-infinity')
      ORDER BY finished_at DESC LIMIT $3`,
    [def.id, RUN_OUTCOMES, n],
  );
  if (rows.length < n || !rows.every((r) => FAILURE_STATES.has(r.state))) return undefined;
  if ((await activePauses(pool)).has(def.id)) return undefined;
  const reason = `${n} consecutive failed runs`;
  await pauseJob(pool, boss, { jobId: def.id, reason, by: 'pause_after_failures' });
  return reason;
}
