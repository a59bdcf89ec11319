// The result JSON of a fire that never ran (skipped by its overlap policy, missed by catch-up, or
// failed before it could be queued): one builder, so that every such row reads the same.

export type NotRunStatus = 'skipped' | 'missed' | 'failed' | 'cancelled';

export function notRunResult(jobId: string, fireTimeMs: number, runId: string, instance: string, status: NotRunStatus, message: string, error?: string) {
  const now = new Date().toISOString();
  return {
    job_id: jobId,
    run_id: runId,
    fire_time: new Date(fireTimeMs).toISOString(),
    attempt: 0,
    instance,
    status,
    message: `${status}: ${message}`,
    ...(error !== undefined ? { error } : {}),
    started_at: now,
    completed_at: now,
    execution_time_seconds: 0,
    details: {},
  };
}
