// Enqueueing a fire: record it in the ledger and send the pg-boss job in ONE transaction. The ledger
// insert decides which replica enqueues; the deterministic job id makes a duplicate send a no-op;
// the queue policy refuses a fire that would overlap (recorded `skipped`).

import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { JobDefinition } from '../definitions/types.ts';
import { insertFire, updateFire } from '../db/ledger.ts';
import { withClient } from '../db/pg-guard.ts';
import { DEFAULT_LEASE_MS, failoverSeconds } from '../definitions/lease.ts';
import { fireId } from './fire-id.ts';
import { cancelRuns } from './cancel.ts';
import { notRunResult } from './not-run-result.ts';
import { queueFor } from './queues.ts';

/** What a queued run carries: the definition it was queued with, so a reload does not change it. */
export interface FireData {
  jobId: string;
  fireTime: string;
  /** The fire time plus its jitter: a run claimed ahead (src/queue/ahead.ts) starts then. Absent in runs queued by older versions. */
  dueAt?: string;
  runId: string;
  manual: boolean;
  definition: JobDefinition;
}

/** `refused`: the queue policy refused it and, as asked, nothing was recorded (try again later). */
export type EnqueueOutcome = 'queued' | 'skipped' | 'duplicate' | 'refused';

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

export async function enqueueFire(pool: pg.Pool, boss: PgBoss, request: EnqueueRequest): Promise<EnqueueOutcome> {
  const { definition: def, fireTimeMs } = request;
  const runId = request.runId ?? fireId(def.id, fireTimeMs);
  const spec = queueFor(def.overlap);
  return withClient(pool, async (client) => {
    try {
      await client.query('BEGIN');
      const recorded = await insertFire(client, {
        jobId: def.id,
        fireTimeMs,
        runId,
        manual: request.manual === true,
        definitionHash: def.hash,
        dueAtMs: request.dueAtMs,
        instance: request.instance,
      });
      if (!recorded) {
        await client.query('ROLLBACK');
        return 'duplicate';
      }
      // A run of a newer fire (queued ahead of its time) is left alone: this older fire is then refused.
      if (def.overlap === 'replace') {
        await cancelRuns(client, boss, spec.name, def.id, ['created', 'retry', 'active'], 'replaced by a newer fire (overlap: replace)', fireTimeMs);
      }
      const data: FireData = fireData(request, runId);
      const sent = await boss.send(spec.name, data, {
        id: runId,
        ...(spec.keyed ? { singletonKey: def.id } : {}),
        ...retryOptions(def),
        expireInSeconds: expireInSeconds(def),
        // The worker renews the run's lease while it is active: when its agent dies, the queue check
        // fails the job once the lease has lapsed (plus its margin) and a live replica retries it,
        // instead of waiting for the whole timeout. The renewal is also how the replica that runs a
        // cancelled job learns of it (overlap: replace).
        heartbeatSeconds: heartbeatSeconds(def),
        db: { executeSql: (text: string, values?: unknown[]) => client.query(text, values as unknown[]) },
      });
      if (sent === null && request.retryWhenRefused) {
        await client.query('ROLLBACK');
        return 'refused';
      }
      if (sent === null) {
        await updateFire(client, def.id, fireTimeMs, { state: 'skipped', finished: true, result: skippedResult(def, fireTimeMs, runId, request.instance) });
      } else {
        await updateFire(client, def.id, fireTimeMs, { state: 'queued' });
      }
      await client.query('COMMIT');
      return sent === null ? 'skipped' : 'queued';
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

export function fireData(request: EnqueueRequest, runId: string): FireData {
  const { definition, fireTimeMs, dueAtMs } = request;
  return { jobId: definition.id, fireTime: new Date(fireTimeMs).toISOString(), dueAt: new Date(dueAtMs).toISOString(), runId, manual: request.manual === true, definition };
}

/** The result JSON of a fire the queue policy refused. */
export function skippedResult(def: JobDefinition, fireTimeMs: number, runId: string, instance: string) {
  return notRunResult(def, fireTimeMs, runId, instance, 'skipped', `a run of this job was still queued or active (overlap: ${def.overlap})`);
}
