// Firing chained jobs (`schedule: { after: UPSTREAM, on: [...] }`): when a run of the upstream job ends
// (no retry left) in one of a downstream job's `on` states, the downstream job fires. Its fire is
// identified by (downstream id, upstream fire time), so the ledger's key makes it once across replicas,
// whichever agent recorded the upstream end, and a retry of this step cannot run it twice. The agent that
// ran the upstream attempt fires it right after the end is written; at start and every 10 s, every agent
// fires what was left unfired (upstream ends within the downstream's catch-up window).

import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { JobDefinition } from '../definitions/types.ts';
import type { Logger } from '../log.ts';
import { enqueueFire } from '../queue/enqueue-batch.ts';
import { ONCE_FIRES_BEFORE_MS } from '../queue/fire-id.ts';
import type { UpstreamRun } from '../workers/result.ts';

export interface ChainContext {
  pool: pg.Pool;
  boss: PgBoss;
  instance: string;
  logger: Logger;
  /** The chained jobs in force (others are ignored), and the ids of those in error (a missing upstream, a cycle). */
  definitions: () => JobDefinition[];
  broken: () => ReadonlySet<string>;
  /** A downstream fire was queued (wake the local worker). */
  queued: (def: JobDefinition) => void;
}

/** The enabled jobs that run after `upstreamId` ends in `status`. */
export function downstreamOf(definitions: readonly JobDefinition[], broken: ReadonlySet<string>, upstreamId: string, status: string): JobDefinition[] {
  return definitions.filter((d) => {
    const t = d.schedule.trigger;
    return t.kind === 'after' && t.job === upstreamId && (t.on as readonly string[]).includes(status) && d.enabled && !broken.has(d.id);
  });
}

/** Fires the jobs chained to this upstream run's end. */
export async function fireDownstream(ctx: ChainContext, upstream: UpstreamRun): Promise<void> {
  const fireTimeMs = Date.parse(upstream.fireTime);
  for (const def of downstreamOf(ctx.definitions(), ctx.broken(), upstream.job, upstream.status)) {
    const outcome = await enqueueFire(ctx.pool, ctx.boss, { definition: def, fireTimeMs, dueAtMs: Date.now(), instance: ctx.instance, upstream });
    if (outcome === 'queued') ctx.queued(def);
    ctx.logger.info({ job: def.id, fire: upstream.fireTime, upstream_job: upstream.job, upstream_run: upstream.runId, upstream_status: upstream.status, outcome }, `chained fire after ${upstream.job} ${upstream.status}: ${outcome}`);
  }
}

/** How often an agent looks for upstream ends that fired nothing, and how long it leaves the normal path. */
export const UNFIRED_SWEEP_MS = 10_000;
export const UNFIRED_SETTLE_MS = 5_000;

/**
 * Upstream runs that ended within each chained job's catch-up window and have not fired it: at start,
 * and every UNFIRED_SWEEP_MS on every agent, for ends at least `settledMs` old. Catches what the normal
 * path (the agent that ran the upstream attempt, right after its end) did not: an agent that died in
 * between, a database that failed the downstream's enqueue, and an upstream run ended by a live
 * replica's queue check because its agent was lost ("heartbeat lost", with `on: [failed]`). No job
 * chained: no statement.
 */
export async function fireUnfiredDownstream(ctx: ChainContext, chained: readonly JobDefinition[], settledMs = 0): Promise<void> {
  if (chained.length === 0) return;
  const broken = ctx.broken();
  for (const def of chained) {
    const t = def.schedule.trigger;
    if (t.kind !== 'after' || !def.enabled || broken.has(def.id)) continue;
    const { rows } = await ctx.pool.query<{ fire_time: Date; run_id: string; state: string }>(
      `SELECT u.fire_time, u.run_id, u.state FROM jobsd.fires u
        WHERE u.job_id = $1 AND u.state = ANY($2::text[])
          AND u.finished_at > now() - make_interval(secs => $3) AND u.finished_at <= now() - make_interval(secs => $5)
          AND (u.fire_time > now() - make_interval(secs => $3 + 86400) OR u.fire_time < $6)
          AND NOT EXISTS (SELECT 1 FROM jobsd.fires d WHERE d.job_id = $4 AND d.fire_time = u.fire_time)
        ORDER BY u.fire_time`,
      [t.job, t.on, def.schedule.catchupWindowMs / 1000, def.id, settledMs / 1000, new Date(ONCE_FIRES_BEFORE_MS)],
    );
    for (const r of rows) await fireDownstream({ ...ctx, definitions: () => [def] }, { job: t.job, fireTime: r.fire_time.toISOString(), runId: r.run_id, status: r.state });
  }
}
