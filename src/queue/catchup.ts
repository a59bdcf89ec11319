// Applying catch-up: missed fires are recorded `missed` or run, as the job's policy says. Every
// replica computes the same plan; the ledger's primary key decides who records or runs each fire.

import { setTimeout as sleep } from 'node:timers/promises';
import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import { fireState } from '../db/ledger.ts';
import { recordNotRun } from '../db/fire-transitions.ts';
import type { JobDefinition } from '../definitions/types.ts';
import type { Logger } from '../log.ts';
import { planCatchUp } from '../schedule/catchup.ts';
import { enqueueFire } from './enqueue-batch.ts';
import type { EnqueueOutcome } from './enqueue.ts';
import { fireId } from './fire-id.ts';
import { queueFor } from './queues.ts';

/** How long a catch-up run waits for a live run of its job to end before it is sent anyway. */
const SLOT_WAIT_MS = 60_000;
const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed', 'partial']);

export interface CatchUpContext {
  pool: pg.Pool;
  boss: PgBoss;
  instance: string;
  logger: Logger;
  /** Called after a fire is queued (to wake the local worker, now or when the run becomes claimable). */
  queued: (def: JobDefinition, claimableAtMs?: number) => void;
  /** Called with what became of each fire this agent recorded: queued, skipped or missed (metrics). */
  outcome?: (def: JobDefinition, state: 'queued' | 'skipped' | 'missed', count?: number, fires?: number[]) => void;
}

function missedMessage(def: JobDefinition, why: string): string {
  return `${why} (catchup: ${def.schedule.catchup}, catchup_window: ${def.schedule.catchupWindowMs / 1000}s)`;
}

/**
 * Handles the fires of `def` in (sinceMs, nowMs]. Runs of `all` go one at a time, each after the
 * previous one ended, unless the job allows overlap; a chain stops when another replica owns it.
 */
export async function catchUp(ctx: CatchUpContext, def: JobDefinition, sinceMs: number, nowMs: number, why: string): Promise<void> {
  const plan = planCatchUp(def.schedule, def.id, sinceMs, nowMs);
  if (plan.run.length === 0 && plan.missed.length === 0) return;
  const recorded = await recordNotRun(
    ctx.pool,
    'missed',
    plan.missed.map((f) => ({ jobId: def.id, fireTimeMs: f, runId: fireId(def.id, f), definitionHash: def.hash, message: missedMessage(def, why) })),
    ctx.instance,
  );
  if (recorded.length > 0) ctx.outcome?.(def, 'missed', recorded.length, recorded);
  if (recorded.length > 0 || plan.run.length > 0) {
    ctx.logger.info({ job: def.id, missed: recorded.length, to_run: plan.run.map((f) => new Date(f).toISOString()), reason: why }, 'catch-up');
  }
  const sequential = queueFor(def.overlap).sequentialCatchUp;
  for (const fireTimeMs of plan.run) {
    // A live fire may hold the job's slot: the queue policy then refuses the catch-up run; wait for
    // the slot rather than record the missed fire as skipped.
    const request = { definition: def, fireTimeMs, dueAtMs: nowMs, instance: ctx.instance };
    let outcome: EnqueueOutcome = 'refused';
    for (let waited = 0; outcome === 'refused'; waited += 250) {
      outcome = await enqueueFire(ctx.pool, ctx.boss, { ...request, retryWhenRefused: sequential && waited < SLOT_WAIT_MS });
      if (outcome === 'refused') await sleep(250);
    }
    if (outcome === 'duplicate') return; // another replica handles this job's catch-up
    if (outcome === 'paused') ctx.outcome?.(def, 'skipped');
    if (outcome === 'queued') {
      ctx.queued(def);
      ctx.outcome?.(def, 'queued');
    }
    if (!sequential || fireTimeMs === plan.run.at(-1)) continue;
    for (;;) {
      const state = await fireState(ctx.pool, def.id, fireTimeMs);
      if (state === undefined || FINAL.has(state)) break;
      await sleep(500);
    }
  }
}
