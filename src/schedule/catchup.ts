// Catch-up: what to do with the fires missed while no agent could enqueue them (downtime, a database
// outage, a stalled event loop). Pure, so every replica reaches the same decision.

import type { Schedule } from '../definitions/types.ts';
import { jitterDelay } from './jitter.ts';
import { firesBetween } from './next.ts';

/** At most this many missed fires per job are considered (and recorded): the most recent ones. */
export const CATCHUP_LIMIT = 100;

export interface CatchUpPlan {
  /** Fires to run now, oldest first. */
  run: number[];
  /** Fires to record as `missed`, oldest first. */
  missed: number[];
}

/**
 * The missed fires in (sinceMs, nowMs] and what becomes of them under the job's policy:
 * `skip` runs none; `latest` runs the most recent one inside `catchup_window`; `all` runs every one
 * inside the window, oldest first. The rest are missed. A fire whose nominal time has passed but whose
 * jittered due time has not is not missed: it is still to come (the ticker fires it when due), and
 * another replica may be waiting out its jitter.
 */
export function planCatchUp(schedule: Schedule, jobId: string, sinceMs: number, nowMs: number): CatchUpPlan {
  const fires = firesBetween(schedule, sinceMs, nowMs, CATCHUP_LIMIT).filter((f) => f + jitterDelay(jobId, f, schedule.jitterMs) <= nowMs);
  const windowStart = nowMs - schedule.catchupWindowMs;
  const inWindow = fires.filter((f) => f > windowStart);
  let run: number[];
  switch (schedule.catchup) {
    case 'skip':
      run = [];
      break;
    case 'latest':
      run = inWindow.slice(-1);
      break;
    case 'all':
      run = inWindow;
      break;
  }
  const running = new Set(run);
  return { run, missed: fires.filter((f) => !running.has(f)) };
}
