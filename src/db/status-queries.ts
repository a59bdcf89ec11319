// The status page's reads of the ledger and the instances registry, each bounded by the jobs on the page
// or by aggregate SQL, never by the number of runs kept: per job an index probe of the primary key
// (job_id, fire_time), and the last 24 hours' failures through the partial index of failed, timed out and
// missed fires, fires_bad (migration 006).

import type { FireRow, FireState, Queryable } from './ledger.ts';
import { STALE_AFTER_SECONDS } from './instances.ts';

/** The columns of a fire without its result: a run's output stays out of the page's lists. */
const FIRE_COLUMNS = 'job_id, fire_time, run_id, manual, state, attempts, definition_hash, due_at, enqueued_at, started_at, finished_at, instance, backfill';
/** The result reduced to its message (at most 300 characters). */
const MESSAGE_ONLY = `CASE WHEN result ? 'message' THEN jsonb_build_object('message', left(result->>'message', 300)) END AS result`;

/** The states of a run that ended with a result (as previousFinalState reads them). */
export const FINAL_STATES: readonly FireState[] = ['succeeded', 'failed', 'timed_out', 'partial'];
/** A job whose last result is one of these is failing now. */
export const FAILING_STATES: readonly FireState[] = ['failed', 'timed_out'];

/**
 * Job id → the state of its last run that ended with a result, for these jobs: one probe of the primary key
 * each, newest first, whatever the number of runs kept. (Reading the failures instead, through fires_bad,
 * cost more on a realistic ledger: their rows are spread over the whole table.)
 */
export async function lastResultStates(db: Queryable, jobIds: readonly string[]): Promise<Map<string, FireState>> {
  if (jobIds.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; state: FireState }>(
    `SELECT j.id, f.state FROM unnest($1::text[]) AS j(id)
       CROSS JOIN LATERAL (SELECT state FROM jobsd.fires WHERE job_id = j.id AND state = ANY($2::text[]) ORDER BY fire_time DESC LIMIT 1) f`,
    [jobIds, FINAL_STATES],
  );
  return new Map(rows.map((r) => [r.id, r.state]));
}

/** The newest fire of each of these jobs (not a scheduled one), its result reduced to the message. */
export async function lastFiresOf(db: Queryable, jobIds: readonly string[]): Promise<Map<string, FireRow>> {
  if (jobIds.length === 0) return new Map();
  const { rows } = await db.query<FireRow>(
    `SELECT f.* FROM unnest($1::text[]) AS j(id)
       CROSS JOIN LATERAL (SELECT ${FIRE_COLUMNS}, ${MESSAGE_ONLY} FROM jobsd.fires WHERE job_id = j.id AND state <> 'scheduled' ORDER BY fire_time DESC LIMIT 1) f`,
    [jobIds],
  );
  return new Map(rows.map((r) => [r.job_id, r]));
}

/**
 * The fires of each of these jobs for its timeline, newest first: at most `perJob` of them, since `sinceMs`
 * when given. A one-time job's fire (its instant is an identity before 2005) is kept whatever `sinceMs`.
 */
export async function timelineFiresOf(db: Queryable, jobIds: readonly string[], perJob: number, sinceMs?: number): Promise<Map<string, FireRow[]>> {
  const out = new Map<string, FireRow[]>();
  if (jobIds.length === 0) return out;
  const since = sinceMs === undefined ? '' : `AND (fire_time >= $3 OR fire_time < '2005-01-01T00:00:00Z')`;
  const { rows } = await db.query<FireRow>(
    `SELECT f.* FROM unnest($1::text[]) AS j(id)
       CROSS JOIN LATERAL (SELECT ${FIRE_COLUMNS}, ${MESSAGE_ONLY} FROM jobsd.fires
                            WHERE job_id = j.id AND state <> 'scheduled' ${since} ORDER BY fire_time DESC LIMIT $2) f`,
    sinceMs === undefined ? [jobIds, perJob] : [jobIds, perJob, new Date(sinceMs)],
  );
  for (const row of rows) out.set(row.job_id, [...(out.get(row.job_id) ?? []), row]);
  return out;
}

export interface BadFires {
  missed: number;
  failed: number;
}

/** Job id → its missed fires and failed (or timed out) runs since `sinceMs`: through the partial index fires_bad. */
export async function badFiresSince(db: Queryable, sinceMs: number): Promise<Map<string, BadFires>> {
  const { rows } = await db.query<{ job_id: string; missed: number; failed: number }>(
    `SELECT job_id, count(*) FILTER (WHERE state = 'missed')::int AS missed, count(*) FILTER (WHERE state <> 'missed')::int AS failed
       FROM jobsd.fires WHERE fire_time >= $1 AND state IN ('failed', 'timed_out', 'missed') GROUP BY job_id`,
    [new Date(sinceMs)],
  );
  return new Map(rows.map((r) => [r.job_id, { missed: r.missed, failed: r.failed }]));
}

export interface AgentHeartbeat {
  name: string;
  hostname: string;
  role: string;
  version: string;
  jobs: number;
  heartbeatAgeSeconds: number;
  /** Its heartbeat is overdue (STALE_AFTER_SECONDS): likely dead. */
  stale: boolean;
}

/** The agents in jobsd.instances and how fresh their heartbeat is (without their catalogs, which can be large). */
export async function agentHeartbeats(db: Queryable): Promise<AgentHeartbeat[]> {
  const { rows } = await db.query<{ name: string; hostname: string; role: string; version: string; jobs: number; age: number; stale: boolean }>(
    `SELECT name, hostname, role, version, jobs, EXTRACT(EPOCH FROM now() - heartbeat_at)::float AS age,
            heartbeat_at < now() - make_interval(secs => $1) AS stale FROM jobsd.instances ORDER BY name`,
    [STALE_AFTER_SECONDS],
  );
  return rows.map((r) => ({ name: r.name, hostname: r.hostname, role: r.role, version: r.version, jobs: r.jobs, heartbeatAgeSeconds: r.age, stale: r.stale }));
}
