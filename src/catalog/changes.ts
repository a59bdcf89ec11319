// What changed between two versions of a job, for the "job changed" log line.

import type { JobDefinition } from '../definitions/types.ts';

/** Bookkeeping fields that differ between any two versions and say nothing of what the job does. */
const IGNORED = new Set(['hash', 'file', 'secrets']);

/** The top-level fields of the definition whose values differ, in a stable order. */
export function changedFields(previous: JobDefinition, next: JobDefinition): string[] {
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  const before = previous as unknown as Record<string, unknown>;
  const after = next as unknown as Record<string, unknown>;
  return [...keys].filter((k) => !IGNORED.has(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

/** The fields of a "job changed" line: which fields changed, and the schedule before and after when it did. */
export function changeFields(previous: JobDefinition, next: JobDefinition): Record<string, unknown> {
  const changed = changedFields(previous, next);
  return { changed, ...(changed.includes('schedule') ? { schedule_before: previous.schedule, schedule_after: next.schedule } : {}) };
}
