// The fixed, small set of pg-boss queues: one per overlap mode, whatever the number of jobs.
// The queue policy enforces the overlap mode in the database, across every replica.

import type { OverlapMode } from '../definitions/types.ts';

export interface QueueSpec {
  name: string;
  policy: 'standard' | 'stately' | 'exclusive';
  /** Whether sends carry the job id as singletonKey (the policy's unit). */
  keyed: boolean;
}

export const QUEUES: Record<OverlapMode, QueueSpec> = {
  // One queued or active run per job: a fire that comes meanwhile is refused (recorded `skipped`).
  skip: { name: 'jobsd-skip', policy: 'exclusive', keyed: true },
  // One active plus one waiting run per job.
  queue: { name: 'jobsd-queue', policy: 'stately', keyed: true },
  // No limit.
  allow: { name: 'jobsd-allow', policy: 'standard', keyed: false },
  // The active run is cancelled before the new fire is sent; then one run per job.
  replace: { name: 'jobsd-replace', policy: 'exclusive', keyed: true },
};

export function queueFor(overlap: OverlapMode): QueueSpec {
  return QUEUES[overlap];
}
