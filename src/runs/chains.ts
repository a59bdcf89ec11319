// Firing chained jobs (`schedule: { after: UPSTREAM, on: [...] }`): when a run of the upstream job ends
// (no retry left) in one of a downstream job's `on` states, the downstream job fires. Its fire is
// identified by (downstream id, upstream fire time), so the ledger's key makes it once across replicas,
// whichever agent recorded the upstream end, and a retry of this step cannot run it twice. The agent that
// ran the upstream attempt fires it right after the end is written; what that misses, every agent fires
// after the fact (UnfiredChains).

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

/** How often an agent looks for upstream ends that fired nothing, and how long it leaves the normal path. */
export const UNFIRED_SWEEP_MS = 10_000;
export const UNFIRED_SETTLE_MS = 5_000;

/**
 * Upstream ends that fired nothing, fired after the fact: what the normal path (the agent that ran the
 * upstream attempt, right after its end) did not do because that agent died in between, the database failed
 * the enqueue, or the upstream run was lost with its agent and ended by a live replica's queue check
 * ("heartbeat lost", for `on: [failed]`). Only ends newer than the chained job's latest fire count, so a
 * pruned history (`history: keep`) is not fired again; no job chained, no statement.
 *
 * - `sweep()`, every UNFIRED_SWEEP_MS: ends at least UNFIRED_SETTLE_MS old, and after this agent first saw
 *   the chained job enabled (a job added or enabled now does not fire for the ends before it).
 * - `atStart()`: ends after the chained job's latest fire (a job that never fired has none), within its
 *   `catchup_window`, under its catch-up policy: no agent ran when they ended (`skip` fires none, `latest`
 *   the newest, `all` each).
 */
export class UnfiredChains {
  readonly #ctx: ChainContext;
  readonly #chained: () => readonly JobDefinition[];
  /** Per chained job, since when this agent has seen it enabled. */
  readonly #since = new Map<string, number>();

  constructor(ctx: ChainContext, chained: () => readonly JobDefinition[]) {
    this.#ctx = ctx;
    this.#chained = chained;
  }

  async atStart(): Promise<void> {
    for (const { def, rows } of await this.#unfired(0, false)) {
      const chosen = def.schedule.catchup === 'all' ? rows : def.schedule.catchup === 'latest' ? rows.slice(-1) : [];
      if (rows.length > chosen.length) this.#ctx.logger.info({ job: def.id, upstream_ends: rows.length, fired: chosen.length }, `chained fires left unfired while no agent ran: catchup ${def.schedule.catchup}`);
      await this.#fire(def, chosen);
    }
  }

  async sweep(): Promise<void> {
    for (const { def, rows } of await this.#unfired(UNFIRED_SETTLE_MS, true)) await this.#fire(def, rows);
  }

  async #unfired(settledMs: number, sweeping: boolean): Promise<{ def: JobDefinition; rows: { fire_time: Date; run_id: string; state: string }[] }[]> {
    const now = Date.now();
    const enabled = this.#chained().filter((d) => d.enabled);
    for (const id of this.#since.keys()) if (!enabled.some((d) => d.id === id)) this.#since.delete(id);
    if (enabled.length === 0) return [];
    const broken = this.#ctx.broken();
    const out = [];
    for (const def of enabled) {
      const t = def.schedule.trigger;
      const since = this.#since.get(def.id);
      if (since === undefined) this.#since.set(def.id, now);
      if (t.kind !== 'after' || broken.has(def.id) || (sweeping && since === undefined)) continue;
      const { rows } = await this.#ctx.pool.query<{ fire_time: Date; run_id: string; state: string }>(
        `SELECT u.fire_time, u.run_id, u.state FROM jobsd.fires u
          WHERE u.job_id = $1 AND u.state = ANY($2::text[])
            AND u.finished_at > now() - make_interval(secs => $3) AND u.finished_at <= now() - make_interval(secs => $5)
            AND (u.fire_time > now() - make_interval(secs => $3 + 86400) OR u.fire_time < $6)
            AND u.fire_time > COALESCE((SELECT max(d.fire_time) FROM jobsd.fires d WHERE d.job_id = $4 AND NOT d.manual), $7::timestamptz)
            AND u.finished_at > $8
            AND NOT EXISTS (SELECT 1 FROM jobsd.fires d WHERE d.job_id = $4 AND d.fire_time = u.fire_time)
          ORDER BY u.fire_time`,
        [t.job, t.on, def.schedule.catchupWindowMs / 1000, def.id, settledMs / 1000, new Date(ONCE_FIRES_BEFORE_MS), sweeping ? '-infinity' : 'infinity', new Date(sweeping ? since! : 0)],
      );
      if (rows.length) out.push({ def, rows });
    }
    return out;
  }

  async #fire(def: JobDefinition, rows: readonly { fire_time: Date; run_id: string; state: string }[]): Promise<void> {
    const t = def.schedule.trigger;
    if (t.kind !== 'after') return;
    for (const r of rows) await fireDownstream({ ...this.#ctx, definitions: () => [def], chainedAfter: () => [def] }, { job: t.job, fireTime: r.fire_time.toISOString(), runId: r.run_id, status: r.state });
  }
}
