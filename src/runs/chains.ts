// Firing chained jobs (`schedule: { after: UPSTREAM, on: [...] }`): when a run of the upstream job ends
// (no retry left) in one of a downstream job's `on` states, the downstream job fires. Its fire is
// identified by (downstream id, upstream fire time), so the ledger's key makes it once across replicas,
// whichever agent recorded the upstream end, and a retry of this step cannot run it twice. The agent that
// ran the upstream attempt fires it right after the end is written; at start, every agent fires what an
// agent that died in between left unfired (upstream ends within the downstream's catch-up window).

import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { JobDefinition } from '../definitions/types.ts';
import type { Logger } from '../log.ts';
import { enqueueFire } from '../queue/enqueue-batch.ts';
import type { UpstreamRun } from '../workers/result.ts';

export interface ChainContext {
  pool: pg.Pool;
  boss: PgBoss;
  instance: string;
  logger: Logger;
  /** The definitions in force with the ids of chained jobs in error (a missing upstream, a cycle). */
  definitions: () => readonly JobDefinition[];
  /** The chained jobs whose `after` names a job (every run's end asks: not a scan of every definition). */
  chainedAfter?: (upstreamId: string) => readonly JobDefinition[];
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
  const candidates = ctx.chainedAfter ? ctx.chainedAfter(upstream.job) : ctx.definitions();
  if (candidates.length === 0) return;
  for (const def of downstreamOf(candidates, ctx.broken(), upstream.job, upstream.status)) {
    const outcome = await enqueueFire(ctx.pool, ctx.boss, { definition: def, fireTimeMs, dueAtMs: Date.now(), instance: ctx.instance, upstream });
    if (outcome === 'queued') ctx.queued(def);
    ctx.logger.info({ job: def.id, fire: upstream.fireTime, upstream_job: upstream.job, upstream_run: upstream.runId, upstream_status: upstream.status, outcome }, `chained fire after ${upstream.job} ${upstream.status}: ${outcome}`);
  }
}

/** At start: upstream runs that ended within each chained job's catch-up window and have not fired it. */
export async function fireUnfiredDownstream(ctx: ChainContext): Promise<void> {
  const broken = ctx.broken();
  for (const def of ctx.definitions()) {
    const t = def.schedule.trigger;
    if (t.kind !== 'after' || !def.enabled || broken.has(def.id)) continue;
    const { rows } = await ctx.pool.query<{ fire_time: Date; run_id: string; state: string }>(
      `SELECT u.fire_time, u.run_id, u.state FROM jobsd.fires u
        WHERE u.job_id = $1 AND u.state = ANY($2::text[]) AND u.finished_at > now() - make_interval(secs => $3)
          AND NOT EXISTS (SELECT 1 FROM jobsd.fires d WHERE d.job_id = $4 AND d.fire_time = u.fire_time)
        ORDER BY u.fire_time`,
      [t.job, t.on, def.schedule.catchupWindowMs / 1000, def.id],
    );
    for (const r of rows) await fireDownstream({ ...ctx, definitions: () => [def], chainedAfter: () => [def] }, { job: t.job, fireTime: r.fire_time.toISOString(), runId: r.run_id, status: r.state });
  }
}
