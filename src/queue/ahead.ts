// Fires queued ahead of their time. Enqueueing a fire (one transaction) and claiming it (one more
// statement) take milliseconds that a fire decided at its instant would start late by. So the ticker
// enqueues a fire ENQUEUE_LEAD_MS ahead, with pg-boss's `startAfter` set CLAIM_AHEAD_MS before it is due
// (COMMAND_CLAIM_AHEAD_MS for a command): a worker claims it then, holds it, and starts it at its due
// time. A command's process is spawned while it is held, and started with a write to a pipe. An edit or removal of the job before
// then takes the fire back (src/queue/recall.ts).
//
// The overlap rules still decide at the fire instant. `allow` has none. With `skip` and `queue`, a fire
// the queue policy refuses ahead of time (an earlier run still holds the job) is not recorded: it is
// enqueued again at its due time, when the earlier run may have ended. A fire it accepts holds the job's
// slot from then on, as it would from its instant. `replace` is queued ahead the same way when nothing
// is queued or running (its queue is `exclusive`); otherwise it is refused ahead of time and enqueued
// when due, cancelling the run it replaces then, not earlier.
//
// pg-boss does not notify for a job whose start is in the future, so the enqueuing agent notifies
// itself, with the times the queued runs become claimable: `<queue>@<ms>,<ms>` on pg-boss's channel
// (its own notifications carry the bare queue name).

import type { JobDefinition } from '../definitions/types.ts';

/** How long before a fire is due the ticker enqueues it. */
export const ENQUEUE_LEAD_MS = 500;
/** How long before a fire is due a worker may claim it; it starts the run at the due time. */
export const CLAIM_AHEAD_MS = 100;
/**
 * The same for a `command` task: the worker spawns its process while it holds the run (a spawn
 * forks the agent: about 10 ms each, spent before the fire rather than after it).
 */
export const COMMAND_CLAIM_AHEAD_MS = 400;

export function enqueueLeadMs(_definition: JobDefinition): number {
  return ENQUEUE_LEAD_MS;
}

/** When a fire queued ahead becomes claimable. */
export function claimableAt(definition: JobDefinition, dueAtMs: number): number {
  return dueAtMs - (definition.task.type === 'command' ? COMMAND_CLAIM_AHEAD_MS : CLAIM_AHEAD_MS);
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
