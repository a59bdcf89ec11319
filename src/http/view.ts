// What the HTTP endpoint needs from the agent: a read-only view of its state and the one action it offers.
// src/agent-view.ts implements it over the agent's subsystems; the HTTP code imports none of them.
import type { FireRow } from '../db/ledger.ts';
import type { FileError } from '../definitions/errors.ts';
import type { JobDefinition } from '../definitions/types.ts';
import type { Pause } from '../db/pauses.ts';
import type { BackfillProgress } from '../db/backfills.ts';
import type { AgentHeartbeat, BadFires } from '../db/status-queries.ts';

export type ManualRun = { run_id: string; fire_time: string; state: 'queued' | 'skipped' | 'duplicate' };

export interface AgentView {
  instance: string;
  version: string;
  jobs(): JobDefinition[];
  job(id: string): JobDefinition | undefined;
  fileErrors(): FileError[];
  /** The next fire of a scheduled job (nominal ms), or undefined (disabled, one-time, past its end). */
  nextFire(id: string): number | undefined;
  lastRuns(): Promise<Map<string, FireRow>>;
  runs(id: string, limit: number): Promise<FireRow[]>;
  /** The status page's reads (src/db/status-queries.ts), bounded by the jobs asked for. */
  /** Job id → the state of its last run that ended with a result. */
  lastResultStates(ids: readonly string[]): Promise<Map<string, FireRow['state']>>;
  /** The newest fire of each of these jobs, its result reduced to the message. */
  lastRunsOf(ids: readonly string[]): Promise<Map<string, FireRow>>;
  /** Each job's fires for its timeline, newest first: at most `perJob`, since `sinceMs` when given. */
  timelines(ids: readonly string[], perJob: number, sinceMs?: number): Promise<Map<string, FireRow[]>>;
  /** Job id → missed fires and failed runs since `sinceMs`. */
  badFires(sinceMs: number): Promise<Map<string, BadFires>>;
  /** The agents registered in the database, with their heartbeat's age. */
  agents(): Promise<AgentHeartbeat[]>;
  runNow(def: JobDefinition): Promise<ManualRun>;
  /** The pauses in force, by job id (every replica's: they are in the database). */
  pauses(): Promise<Map<string, Pause>>;
  /** `held`: runs claimed ahead of their time that their agent did not stop (started, or undecided after 2 s). */
  pause(def: JobDefinition, pause: { untilMs?: number; reason?: string }): Promise<{ pause: Pause; skipped: number; held: number }>;
  /** Whether a pause was in force. */
  resume(def: JobDefinition): Promise<boolean>;
  /** A job file written through the API (PUT /api/jobs/:id): the status and body of the answer. */
  writeJob(id: string, text: string, format: 'yaml' | 'json'): Promise<{ status: number; body: Record<string, unknown> }>;
  /** DELETE /api/jobs/:id: only a file the API wrote. */
  deleteJob(id: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Backfills in progress (driven by a `jobsd backfill` that is still running). */
  backfills(): Promise<BackfillProgress[]>;
  /** Resolves to null when ready, or to the reason it is not. */
  readiness(): Promise<string | null>;
  metrics(): Promise<string>;
}
