// The HTTP endpoint's view of a running agent (src/http/view.ts), over its subsystems: the catalog and
// the ticker for the jobs, the ledger for runs, the queue for a manual run, a database probe for readiness.

import { setTimeout as sleep } from 'node:timers/promises';
import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { Catalog } from './catalog/catalog.ts';
import type { AgentConfig } from './config.ts';
import { fireHistory, lastFires } from './db/ledger.ts';
import type { AgentView } from './http/view.ts';
import { fileErrorView } from './http/api.ts';
import { deleteJobFile, writeJobFile } from './files/api-writes.ts';
import { agentLoadOptions } from './scheduling.ts';
import type { Dispatcher } from './queue/dispatcher.ts';
import { activePauses } from './db/pauses.ts';
import { agentHeartbeats, badFiresSince, lastFiresOf, lastResultStates, timelineFiresOf } from './db/status-queries.ts';
import { backfillsInProgress } from './db/backfills.ts';
import { pauseJob, resumeJob } from './queue/pause.ts';
import { enqueueFire } from './queue/enqueue-batch.ts';
import { fireId } from './queue/fire-id.ts';
import { queueFor } from './queue/queues.ts';
import type { AgentMetrics } from './runs/metrics.ts';
import type { Ticker } from './ticker/ticker.ts';
import type { QueueWorkers } from './workers/queue-worker.ts';

export interface AgentViewParts {
  config: AgentConfig;
  version: string;
  pool: pg.Pool;
  boss: PgBoss;
  catalog: Catalog;
  ticker: Ticker;
  dispatcher: Dispatcher;
  workers: QueueWorkers;
  metrics: AgentMetrics;
  /** Whether the agent is shutting down (not ready). */
  stopping: () => boolean;
  /** Why the jobs directory cannot be read, while that lasts (not ready). */
  jobsDirProblem?: () => string | undefined;
}

/** How long a job written or deleted through the API waits for the watcher to load the change. */
const LOAD_WAIT_MS = 3_000;

async function untilLoaded(done: () => boolean): Promise<boolean> {
  for (const end = Date.now() + LOAD_WAIT_MS; Date.now() < end; await sleep(25)) if (done()) return true;
  return done();
}

/** How long the readiness probe waits for the database. */
const PROBE_TIMEOUT_MS = 2_000;

/** What the view reads from the database alone (the status page's benchmark uses it with no agent around). */
export type DatabaseReads = Pick<AgentView, 'lastRuns' | 'runs' | 'pauses' | 'backfills' | 'lastResultStates' | 'lastRunsOf' | 'timelines' | 'badFires' | 'agents'>;

export function databaseReads(pool: pg.Pool): DatabaseReads {
  return {
    lastRuns: () => lastFires(pool),
    runs: (id, limit) => fireHistory(pool, id, limit),
    pauses: () => activePauses(pool),
    backfills: () => backfillsInProgress(pool),
    lastResultStates: (ids) => lastResultStates(pool, ids),
    lastRunsOf: (ids) => lastFiresOf(pool, ids),
    timelines: (ids, perJob, sinceMs) => timelineFiresOf(pool, ids, perJob, sinceMs),
    badFires: (sinceMs) => badFiresSince(pool, sinceMs),
    agents: () => agentHeartbeats(pool),
  };
}

export function agentView(parts: AgentViewParts): AgentView {
  const { config, pool, boss, catalog, ticker, dispatcher, workers, metrics } = parts;
  const readiness = async (): Promise<string | null> => {
    if (parts.stopping()) return 'shutting down';
    if (dispatcher.outage) return 'database unreachable: fires wait for catch-up';
    const jobsDir = parts.jobsDirProblem?.();
    if (jobsDir) return jobsDir;
    try {
      const probe = pool.query('SELECT 1');
      probe.catch(() => undefined); // it may fail after the timeout below has answered
      await Promise.race([probe, sleep(PROBE_TIMEOUT_MS, undefined, { ref: false }).then(() => Promise.reject(new Error('no answer within 2 s')))]);
    } catch (error) {
      return `database unreachable: ${(error as Error).message}`;
    }
    return null;
  };
  return {
    instance: config.instance,
    version: parts.version,
    jobs: () => catalog.definitions(),
    job: (id) => catalog.get(id),
    fileErrors: () => catalog.fileErrors(),
    nextFire: (id) => ticker.nextFires().get(id)?.fireTimeMs,
    ...databaseReads(pool),
    runNow: async (def) => {
      const fireTimeMs = Date.now();
      const runId = fireId(def.id, fireTimeMs);
      const outcome = await enqueueFire(pool, boss, { definition: def, fireTimeMs, dueAtMs: fireTimeMs, manual: true, runId, instance: config.instance });
      if (outcome === 'queued') workers.wake(queueFor(def.overlap).name);
      return { run_id: runId, fire_time: new Date(fireTimeMs).toISOString(), state: outcome === 'queued' ? 'queued' : outcome === 'duplicate' ? 'duplicate' : 'skipped' };
    },
    pause: (def, { untilMs, reason }) => pauseJob(pool, boss, { jobId: def.id, ...(untilMs !== undefined ? { untilMs } : {}), ...(reason !== undefined ? { reason } : {}), by: 'operator' }),
    resume: (def) => resumeJob(pool, def.id),
    writeJob: async (id, text, format) => {
      const written = writeJobFile(config.jobsDir, id, text, format, agentLoadOptions(config), catalog.get(id)?.file);
      if (!written.ok) return { status: written.status, body: { error: { code: written.status === 409 ? 'conflict' : 'invalid_job', message: written.message }, ...(written.errors ? { errors: written.errors.map(fileErrorView) } : {}) } };
      const loaded = await untilLoaded(() => catalog.get(id)?.hash === written.definition.hash);
      const body = { job_id: id, file: written.file, loaded };
      if (!loaded) return { status: 202, body: { ...body, message: `written; not loaded yet: GET /api/jobs/${id} and /api/files show when it is` } };
      return { status: written.created ? 201 : 200, body };
    },
    deleteJob: async (id) => {
      const removed = deleteJobFile(config.jobsDir, id, catalog.get(id)?.file);
      if (!removed.ok) return { status: removed.status, body: { error: { code: removed.status === 409 ? 'conflict' : 'job_not_found', message: removed.message } } };
      const unloaded = await untilLoaded(() => catalog.get(id) === undefined);
      return { status: unloaded ? 200 : 202, body: { job_id: id, file: removed.file, removed: true, unloaded } };
    },
    readiness,
    metrics: () => metrics.text(),
  };
}
