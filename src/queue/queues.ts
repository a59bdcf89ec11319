// The fixed, small set of pg-boss queues: one per overlap mode, whatever the number of jobs.
// The queue policy enforces the overlap mode in the database, across every replica.

import type { OverlapMode } from '../definitions/types.ts';

/**
 * A queue, and what its overlap mode does differently, as data: the modules that enqueue, claim and run
 * fires read these fields instead of comparing the mode's name.
 */
export interface QueueSpec {
  name: string;
  policy: 'standard' | 'stately' | 'exclusive';
  /** Whether sends carry the job id as singletonKey (the policy's unit). */
  keyed: boolean;
  /**
   * A due fire first cancels the job's queued and active runs of fires at or before its own, in the
   * transaction that sends it; a run held until due checks once more that it was not cancelled meanwhile.
   */
  cancelBeforeSend: boolean;
  /** How often the leases of active runs are renewed at most (a cancellation reaches the run then). */
  renewMs: number;
  /** A run's end makes the job's waiting run claimable: its agent fetches again at once. */
  fetchAfterEnd: boolean;
  /** Catch-up runs of one job go one after another (each after the previous one ended). */
  sequentialCatchUp: boolean;
}

export const QUEUES: Record<OverlapMode, QueueSpec> = {
  // One queued or active run per job: a fire that comes meanwhile is refused (recorded `skipped`).
  skip: { name: 'jobsd-skip', policy: 'exclusive', keyed: true, cancelBeforeSend: false, renewMs: 5_000, fetchAfterEnd: false, sequentialCatchUp: true },
  // One active plus one waiting run per job.
  queue: { name: 'jobsd-queue', policy: 'stately', keyed: true, cancelBeforeSend: false, renewMs: 5_000, fetchAfterEnd: true, sequentialCatchUp: true },
  // No limit.
  allow: { name: 'jobsd-allow', policy: 'standard', keyed: false, cancelBeforeSend: false, renewMs: 5_000, fetchAfterEnd: false, sequentialCatchUp: false },
  // The active run is cancelled before the new fire is sent; then one run per job.
  replace: { name: 'jobsd-replace', policy: 'exclusive', keyed: true, cancelBeforeSend: true, renewMs: 1_000, fetchAfterEnd: false, sequentialCatchUp: true },
};

export function queueFor(overlap: OverlapMode): QueueSpec {
  return QUEUES[overlap];
}

/** The spec of a queue by its name (a claimed run knows its queue's name). */
export function queueNamed(name: string): QueueSpec | undefined {
  return Object.values(QUEUES).find((q) => q.name === name);
}
