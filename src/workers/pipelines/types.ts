// What a pipeline (collect.ts, extract.ts) receives and returns; run.ts turns it into a RunResult.

/** The logging a pipeline does: pino's shape, so a pino logger or a message port can stand behind it. */
export interface PipelineLog {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface PipelineRun<T> {
  jobId: string;
  task: T;
  /** Aborted on cancellation or timeout: stop at the next unit and report what was done. */
  signal: AbortSignal;
  log: PipelineLog;
  /** The fire's scheduled time: the business dates are taken from it, so a retry processes the same dates. */
  nowMs: number;
  /** The agent's own database, for vm-extract without `database.url`. */
  databaseUrl?: string;
  /** Delays before each retry of a failed GET (default DEFAULT_RETRY_DELAYS_MS). */
  retryDelaysMs?: readonly number[];
  /** How long vm-collect waits for its own writes to show (default VISIBILITY_WAIT_MS). */
  visibilityWaitMs?: number;
}

export type PipelineOutcome =
  | { status: 'succeeded' | 'partial' | 'failed'; message: string; details: Record<string, unknown>; error?: string }
  | { aborted: true; message: string; details: Record<string, unknown> };
