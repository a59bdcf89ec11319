// What an enqueued fire carries and the pg-boss options it is sent with. The transaction that records
// fires in the ledger and sends them (one or many: a single fire is a batch of one) is
// src/queue/enqueue-batch.ts.

import type { JobDefinition } from '../definitions/types.ts';
import type { Reopen } from '../db/fire-transitions.ts';
import type { UpstreamRun } from '../workers/result.ts';
import { DEFAULT_LEASE_MS, failoverSeconds } from '../definitions/lease.ts';

/**
 * What a queued run carries: a reference to the definition it was queued with (its job's id and hash),
 * never the definition itself, so that the database holds no secret value. The agent that runs it
 * resolves the reference from its own jobs.d (src/catalog/versions.ts).
 */
export interface FireData {
  jobId: string;
  fireTime: string;
  /** The fire time plus its jitter: a run claimed ahead (src/queue/ahead.ts) starts then. Absent in runs queued by older versions. */
  dueAt?: string;
  runId: string;
  manual: boolean;
  /** The hash of the definition it was queued with. Absent in runs queued by older versions, which carry `definition`. */
  definitionHash?: string;
  /** The lease the run is held with (the claim is renewed before the definition is resolved). */
  leaseMs?: number;
  /** Its retry limit in pg-boss: whether a failed attempt is retried, told before the definition is resolved. */
  retries?: number;
  /** Runs queued by versions before the reference carry the whole definition: only its hash, lease and retries are read. */
  definition?: JobDefinition;
  /** A chained job's fire: the upstream run that fired it. */
  upstream?: UpstreamRun;
}

/**
 * `refused`: the queue policy refused it and, as asked, nothing was recorded (try again later); `paused`:
 * recorded skipped because its job is paused (src/queue/pause.ts).
 */
export type EnqueueOutcome = 'queued' | 'skipped' | 'duplicate' | 'refused' | 'paused';

/**
 * pg-boss's heartbeat_seconds of a run: the database fails it over this long after its holder's last
 * accepted renewal (the lease plus its margin, src/definitions/lease.ts). Runs queued by older versions
 * carry no lease: the default applies.
 */
export function heartbeatSeconds(def: JobDefinition): number {
  return failoverSeconds(def.leaseMs ?? DEFAULT_LEASE_MS);
}

export interface EnqueueRequest {
  definition: JobDefinition;
  fireTimeMs: number;
  dueAtMs: number;
  manual?: boolean;
  /** Queued ahead: when the run becomes claimable (src/queue/ahead.ts). */
  claimableAtMs?: number;
  /** Defaults to the deterministic fire id. */
  runId?: string;
  /** When the queue policy refuses the fire, record nothing and return `refused` (catch-up waits and retries). */
  retryWhenRefused?: boolean;
  /**
   * A run at a chosen fire instant (`run --at`, a backfill): an earlier final row of that fire is replaced
   * (one that succeeded only when forced); give it a fresh `runId`, as pg-boss keeps the ids it ran.
   */
  reopen?: Reopen;
  /** The run is a backfill's (the ledger says so). */
  backfill?: boolean;
  /** A chained job's fire: the upstream run that fired it. */
  upstream?: UpstreamRun;
  instance: string;
}

/** pg-boss expiry: the job's timeout, plus the kill grace, plus a margin for the worker's own work. */
export function expireInSeconds(def: JobDefinition): number {
  const killGrace = def.task.type === 'command' ? def.task.killGraceMs : 0;
  return Math.min(86_400, Math.ceil((def.timeoutMs + killGrace) / 1000) + 30);
}

export function retryOptions(def: JobDefinition) {
  const { attempts, delayMs, backoff, maxDelayMs } = def.retry;
  return {
    retryLimit: attempts,
    retryDelay: Math.ceil(delayMs / 1000),
    retryBackoff: backoff > 1,
    ...(backoff > 1 ? { retryDelayMax: Math.max(1, Math.ceil(maxDelayMs / 1000)) } : {}),
  };
}

export function fireData(request: EnqueueRequest, runId: string): FireData {
  const { definition, fireTimeMs, dueAtMs } = request;
  return {
    jobId: definition.id,
    fireTime: new Date(fireTimeMs).toISOString(),
    dueAt: new Date(dueAtMs).toISOString(),
    runId,
    manual: request.manual === true,
    definitionHash: definition.hash,
    leaseMs: definition.leaseMs ?? DEFAULT_LEASE_MS,
    retries: definition.retry.attempts,
    ...(request.upstream ? { upstream: request.upstream } : {}),
  };
}
