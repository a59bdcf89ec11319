// Fires queued ahead of their time. Enqueueing a fire (one transaction) and claiming it (one more
// statement) take milliseconds that a fire decided at its instant would start late by. So the ticker
// enqueues a fire ENQUEUE_LEAD_MS ahead, with pg-boss's `startAfter` set CLAIM_AHEAD_MS before it is due: a
// worker claims it then, holds it, and starts it at its due time. A `command` is queued further ahead, up
// to COMMAND_ENQUEUE_LEAD_MS, and claimable CLAIM_AHEAD_MS after it is queued: its process is spawned while
// the run is held, and started with a write to a pipe. An edit or removal of the job before it is claimed
// takes the fire back (src/queue/recall.ts).
//
// The overlap rules still decide at the fire instant. `allow` has none. With `skip` and `queue`, a fire
// the queue policy refuses ahead of time (an earlier run still holds the job) is not recorded: it is
// enqueued again at its due time, when the earlier run may have ended. A fire it accepts holds the job's
// slot from then on, as it would from its instant. `replace` is queued ahead the same way when nothing
// is queued or running (its queue is `exclusive`); otherwise it is refused ahead of time and enqueued
// when due, cancelling the run it replaces then, not earlier. So that the run of the fire before has
// usually ended by then, a command whose overlap has rules is queued no earlier than half its gap to that fire.
//
// pg-boss does not notify for a job whose start is in the future, so the enqueuing agent notifies
// itself, with the times the queued runs become claimable: `<queue>@<ms>,<ms>` on pg-boss's channel
// (its own notifications carry the bare queue name).

import type { JobDefinition, Schedule } from '../definitions/types.ts';
import { nextFire } from '../schedule/next.ts';

/** How long before a fire is due the ticker enqueues it. */
export const ENQUEUE_LEAD_MS = 500;
/** How long before a fire is due a worker may claim it; it starts the run at the due time. */
export const CLAIM_AHEAD_MS = 100;
/**
 * How long before a `command` fire is due the ticker enqueues it, at most. Its worker spawns the process
 * while it holds the run: 200 commands due at one instant on a 2-core machine took 400–600 ms to spawn
 * (docs/benchmarks.md, "Commands queued further ahead").
 */
export const COMMAND_ENQUEUE_LEAD_MS = 950;
/** How long before a `command` fire is due a worker may claim it, at most. */
export const COMMAND_CLAIM_AHEAD_MS = COMMAND_ENQUEUE_LEAD_MS - CLAIM_AHEAD_MS;

/** The longest lead a fire is queued with: gaps (less the jitter) longer than twice it do not change a lead. */
const LONGEST_GAP_THAT_MATTERS_MS = 2 * COMMAND_ENQUEUE_LEAD_MS;
/** Fires looked at before the one being queued, at most: a jitter of hours on a cron of seconds would be thousands. */
const MAX_LOOK_BACK_STEPS = 8;

/**
 * The shortest time there can be between the due time of the fire at `fireTimeMs` and that of a fire next
 * to it, before or after: the interval, or for a cron with a seconds field the shorter of its gaps to the
 * fires around it (`0,1 * * * * *` fires a second after one fire and 59 s before the next; a gap of two
 * leads or more counts as that); a cron of minutes fires at most once a minute. Less the jitter. Pure.
 */
function shortestGapMs(schedule: Schedule, fireTimeMs: number): number {
  const { trigger } = schedule;
  const seconds = (expression: string) => expression.trim().split(/\s+/).length === 6;
  let gapMs = Number.POSITIVE_INFINITY;
  if (trigger.kind === 'every') gapMs = trigger.intervalMs;
  else if ((trigger.kind === 'cron' && seconds(trigger.expression)) || (trigger.kind === 'crons' && trigger.crons.some((c) => seconds(c.expression)))) {
    const next = nextFire(schedule, fireTimeMs);
    if (next !== null) gapMs = next - fireTimeMs;
    // The fire before, if it is near enough to matter, stepping from the earliest instant it could be (a
    // cron's finest step is a second, so a few steps; past MAX_LOOK_BACK_STEPS, taken as near).
    let steps = 0;
    for (let t = nextFire(schedule, fireTimeMs - LONGEST_GAP_THAT_MATTERS_MS - schedule.jitterMs - 1); t !== null && t < fireTimeMs && gapMs - schedule.jitterMs > 2 * ENQUEUE_LEAD_MS; t = nextFire(schedule, t)) {
      gapMs = ++steps > MAX_LOOK_BACK_STEPS ? 0 : Math.min(gapMs, fireTimeMs - t);
    }
  } else if (trigger.kind === 'cron' || trigger.kind === 'crons') gapMs = 60_000;
  return gapMs - schedule.jitterMs;
}

/**
 * How long before the fire at `fireTimeMs` is due the ticker enqueues it. Pure. With `allow` a fire may be
 * handed over before the one before it is due: the ticker keeps each until due (an edit takes back all).
 */
export function enqueueLeadMs(definition: JobDefinition, fireTimeMs: number): number {
  if (definition.task.type !== 'command') return ENQUEUE_LEAD_MS;
  if (definition.overlap === 'allow') return COMMAND_ENQUEUE_LEAD_MS;
  const half = shortestGapMs(definition.schedule, fireTimeMs) / 2;
  return Math.round(Math.min(COMMAND_ENQUEUE_LEAD_MS, Math.max(ENQUEUE_LEAD_MS, half)));
}

/**
 * The rule of the leads above, as agents tell one another (DispatchLease): agents whose rules differ (a
 * rolling upgrade) would read one another's hand-over ranges wrongly, so they confirm none of each other's
 * fires by range, only by key, and each dispatches the rest itself (a duplicate is a no-op).
 */
export const HANDOVER_RULE = 'h3';

/** A fire as the ticker hands it over: `leadMs` before it is due (none: when due). */
interface AheadFire {
  definition: JobDefinition;
  dueAtMs: number;
  leadMs?: number;
}

/** When the ticker hands the fire over. */
export function handoverAt(fire: AheadFire): number {
  return fire.dueAtMs - (fire.leadMs ?? 0);
}

/** When a fire queued ahead becomes claimable: CLAIM_AHEAD_MS before it is due, a command's once it is queued. */
export function claimableAt(fire: AheadFire): number {
  const aheadMs = fire.definition.task.type === 'command' ? Math.max(CLAIM_AHEAD_MS, (fire.leadMs ?? ENQUEUE_LEAD_MS) - CLAIM_AHEAD_MS) : CLAIM_AHEAD_MS;
  return fire.dueAtMs - aheadMs;
}

/**
 * Wake-up times are rounded up (never down: a fetch before a run is claimable misses it) to 10 ms,
 * so that one fetch claims the fires of one bucket; when that still leaves more times than a
 * notification holds (PostgreSQL's limit is 8,000 bytes), to whole seconds.
 */
const BUCKETS_MS = [10, 1_000];
const MAX_TIMES = 400;

/** The instant a worker fetches a run claimable at `ms`. */
export function wakeTime(ms: number, bucketMs = BUCKETS_MS[0]!): number {
  return Math.ceil(ms / bucketMs) * bucketMs;
}

export function wakePayload(queue: string, claimableAtMs: readonly number[]): string {
  let times: number[] = [];
  for (const bucket of BUCKETS_MS) {
    times = [...new Set(claimableAtMs.map((ms) => wakeTime(ms, bucket)))].sort((a, b) => a - b);
    if (times.length <= MAX_TIMES) break;
  }
  return `${queue}@${times.join(',')}`;
}

/** A notification's queue, and the times runs become claimable in it (none: claimable now). */
export function parseWakePayload(payload: string): { queue: string; times: number[] } {
  const at = payload.indexOf('@');
  if (at < 0) return { queue: payload, times: [] };
  const times = payload
    .slice(at + 1)
    .split(',')
    .map(Number)
    .filter((ms) => Number.isFinite(ms));
  return { queue: payload.slice(0, at), times };
}
