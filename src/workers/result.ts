// The result of one run (design §4): stored in the ledger, printed by `jobsd exec` and `history --json`.
import type { Logger } from '../log.ts';
import type { JobDefinition } from '../definitions/types.ts';
import type { Spawner } from './spawner.ts';

export const RUN_STATUSES = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
  'missed',
  'partial',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface RunResult {
  job_id: string;
  run_id: string;
  /** ISO 8601 UTC with milliseconds. */
  fire_time: string;
  /** 1-based. */
  attempt: number;
  instance: string;
  status: RunStatus;
  message: string;
  started_at: string;
  completed_at: string;
  execution_time_seconds: number;
  details: Record<string, unknown>;
  /** Present when the run failed, timed out, was cancelled or was partial. */
  error?: string;
}

const FAILURE_STATUSES: ReadonlySet<RunStatus> = new Set(['failed', 'timed_out', 'cancelled', 'partial']);

/** What a worker knows about the run it executes, besides the definition. */
export interface RunContext {
  runId: string;
  fireTimeMs: number;
  /** 1-based. */
  attempt: number;
  /** This agent, e.g. `host-a:1234`. */
  instance: string;
  /** Aborted on cancellation, queue expiry or shutdown: the task must stop and clean up. */
  signal?: AbortSignal;
  /** Aborted when the agent must stop now (a second SIGTERM/SIGINT): a command's group is killed without its kill_grace. */
  urgent?: AbortSignal;
  logger: Logger;
  /** The agent's own database (vm-extract writes there when the job names none). */
  databaseUrl?: string;
  /** Told the process group of a command once it is spawned (the lease watchdog watches it). */
  onGroup?: (pgid: number) => void;
  /** A chained job's fire: the upstream run that fired it (`schedule.after`). */
  upstream?: UpstreamRun;
  /** Forks the commands (the spawn helper, src/workers/spawner.ts); without it the agent forks them itself. */
  spawner?: Spawner;
}

/** The upstream run of a chained job's fire (src/runs/chains.ts). */
export interface UpstreamRun {
  job: string;
  fireTime: string;
  runId: string;
  status: string;
}

export interface Outcome {
  status: RunStatus;
  message: string;
  startedMs: number;
  completedMs: number;
  details?: Record<string, unknown>;
  /** Defaults to `message` for failed, timed_out, cancelled and partial runs. */
  error?: string;
}

export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

/** What identifies a run in its result and its log lines. */
export type RunIdentity = Pick<RunContext, 'runId' | 'fireTimeMs' | 'attempt' | 'instance'>;

export function buildResult(def: Pick<JobDefinition, 'id'>, ctx: RunIdentity, outcome: Outcome): RunResult {
  const result: RunResult = {
    job_id: def.id,
    run_id: ctx.runId,
    fire_time: isoUtc(ctx.fireTimeMs),
    attempt: ctx.attempt,
    instance: ctx.instance,
    status: outcome.status,
    message: outcome.message,
    started_at: isoUtc(outcome.startedMs),
    completed_at: isoUtc(outcome.completedMs),
    execution_time_seconds: Math.max(0, outcome.completedMs - outcome.startedMs) / 1000,
    details: outcome.details ?? {},
  };
  if (FAILURE_STATUSES.has(outcome.status)) result.error = outcome.error ?? outcome.message;
  return result;
}

/** Log fields that tie a line to its run. */
export function runFields(def: Pick<JobDefinition, 'id'>, ctx: RunIdentity): { job: string; run: string; fire: string; attempt: number } {
  return { job: def.id, run: ctx.runId, fire: isoUtc(ctx.fireTimeMs), attempt: ctx.attempt };
}

/** Human-readable duration for messages: `1.5s`, `250ms`. */
export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
