// Backfill: every fire of a job's schedule in a range that has no successful record is run, oldest first,
// one at a time unless the job allows overlap, through the queue (a running agent executes each run, and
// its ledger row is re-opened: exactly once across replicas like any fire, src/db/fire-transitions.ts
// reopenQueued). `jobsd backfill` drives it in the foreground; stopped, it is continued by running it again
// (fires that succeeded meanwhile are not run twice).

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { FireState } from '../db/ledger.ts';
import type { JobDefinition } from '../definitions/types.ts';
import { firesBetween } from '../schedule/next.ts';
import { enqueueFire } from './enqueue-batch.ts';
import { queueFor } from './queues.ts';

/** At most this many fires in one backfill: a wider range is refused, to be split. */
export const MAX_BACKFILL_FIRES = 10_000;
/** Runs in flight at once for a job that allows overlap. */
const ALLOW_IN_FLIGHT = 16;
const POLL_MS = 250;
const FINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed', 'partial']);

export interface BackfillFire {
  fireTimeMs: number;
  /** Its ledger state now, if it has a row. */
  state?: FireState;
}

export interface BackfillPlan {
  /** Every fire of the schedule in the range, oldest first. */
  all: number[];
  /** The ones to run: no row, or a row whose outcome was not a success. */
  toRun: BackfillFire[];
  succeeded: number;
  /** Queued or running now: left alone. */
  inFlight: number;
}

/** The plan of a backfill over [fromMs, toMs]; throws when the range holds more than MAX_BACKFILL_FIRES fires. */
export async function planBackfill(pool: pg.Pool, def: JobDefinition, fromMs: number, toMs: number): Promise<BackfillPlan> {
  const all = firesBetween(def.schedule, fromMs - 1, toMs, MAX_BACKFILL_FIRES + 1);
  if (all.length > MAX_BACKFILL_FIRES) throw new RangeError(`more than ${MAX_BACKFILL_FIRES} fires in the range: split it`);
  const { rows } = await pool.query<{ fire_time: Date; state: FireState }>(
    'SELECT fire_time, state FROM jobsd.fires WHERE job_id = $1 AND fire_time >= $2 AND fire_time <= $3',
    [def.id, new Date(fromMs), new Date(toMs)],
  );
  const states = new Map(rows.map((r) => [r.fire_time.getTime(), r.state]));
  let succeeded = 0;
  let inFlight = 0;
  const toRun: BackfillFire[] = [];
  for (const fireTimeMs of all) {
    const state = states.get(fireTimeMs);
    if (state === 'succeeded') succeeded++;
    else if (state === 'queued' || state === 'running' || state === 'scheduled') inFlight++;
    else toRun.push({ fireTimeMs, ...(state ? { state } : {}) });
  }
  return { all, toRun, succeeded, inFlight };
}

export interface BackfillContext {
  pool: pg.Pool;
  boss: PgBoss;
  instance: string;
  /** Aborted: no further fire is queued (the runs in flight go on). */
  signal: AbortSignal;
  /** Called when a fire's run ended (or another run of that fire took it). */
  ended: (fireTimeMs: number, state: string) => void;
}

/**
 * Runs the fires, oldest first: one at a time (each queued once the job has no run in flight, and waited
 * for) unless the job allows overlap. With `waitLast` false, returns once the last fire is queued.
 */
export async function runBackfill(ctx: BackfillContext, def: JobDefinition, fires: readonly number[], waitLast: boolean): Promise<void> {
  const parallel = !queueFor(def.overlap).keyed;
  const inFlight = new Set<Promise<void>>();
  for (const [i, fireTimeMs] of fires.entries()) {
    if (ctx.signal.aborted) break;
    const last = i === fires.length - 1;
    const runId = await queueOne(ctx, def, fireTimeMs);
    if (runId === undefined) break; // stopped while waiting for the job's slot
    const ending = untilFinal(ctx, def.id, fireTimeMs).then((state) => ctx.ended(fireTimeMs, state));
    if (!parallel) {
      if (!last || waitLast) await ending;
      continue;
    }
    const tracked = ending.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= ALLOW_IN_FLIGHT) await Promise.race(inFlight);
  }
  if (waitLast || ctx.signal.aborted) await Promise.all(inFlight);
}

/** Queues the fire's run once the job's slot is free (a live run, or another backfill's, holds it meanwhile). */
async function queueOne(ctx: BackfillContext, def: JobDefinition, fireTimeMs: number): Promise<string | undefined> {
  const keyed = queueFor(def.overlap).keyed;
  for (;;) {
    if (keyed) await untilNoRunInFlight(ctx, def.id);
    if (ctx.signal.aborted) return undefined;
    const runId = randomUUID();
    const outcome = await enqueueFire(ctx.pool, ctx.boss, { definition: def, fireTimeMs, dueAtMs: Date.now(), manual: true, backfill: true, reopen: 'unless-succeeded', runId, instance: ctx.instance });
    if (outcome === 'queued' || outcome === 'duplicate') return runId; // duplicate: another run of this fire took it; its end is waited for
    await sleep(POLL_MS); // refused by the queue policy (a live fire got the slot first): it is tried again
  }
}

async function untilNoRunInFlight(ctx: BackfillContext, jobId: string): Promise<void> {
  while (!ctx.signal.aborted) {
    const { rows } = await ctx.pool.query("SELECT 1 FROM jobsd.fires WHERE job_id = $1 AND state IN ('queued', 'running') LIMIT 1", [jobId]);
    if (rows.length === 0) return;
    await sleep(POLL_MS);
  }
}

async function untilFinal(ctx: BackfillContext, jobId: string, fireTimeMs: number): Promise<string> {
  for (;;) {
    const { rows } = await ctx.pool.query<{ state: string }>('SELECT state FROM jobsd.fires WHERE job_id = $1 AND fire_time = $2', [jobId, new Date(fireTimeMs)]);
    const state = rows[0]?.state;
    if (state !== undefined && FINAL.has(state)) return state;
    await sleep(POLL_MS);
  }
}
