// The scheduling side of an agent: jobs.d is loaded into the catalog, missed fires are caught up, and
// from then on every change the watch reports reaches the ticker (new schedules), the dispatcher (one-time
// jobs, fires queued ahead taken back) and the queue (a removed job's queued runs cancelled).

import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { Catalog, CatalogChange } from './catalog/catalog.ts';
import type { DefinitionVersions } from './catalog/versions.ts';
import { createReloader } from './catalog/reload.ts';
import type { AgentConfig } from './config.ts';
import type { LoadOptions } from './definitions/load.ts';
import { watchDirectory } from './files/watch.ts';
import { registerSecrets, type Logger } from './log.ts';
import { cancelQueuedRuns } from './queue/cancel.ts';
import type { Dispatcher } from './queue/dispatcher.ts';
import { onceFireTime } from './queue/fire-id.ts';
import type { AgentMetrics } from './runs/metrics.ts';
import type { Ticker } from './ticker/ticker.ts';

export interface SchedulingOptions {
  config: AgentConfig;
  catalog: Catalog;
  ticker: Ticker;
  dispatcher: Dispatcher;
  pool: pg.Pool;
  boss: PgBoss;
  metrics: AgentMetrics;
  /** The clock fires are judged by (the database's). */
  now: () => number;
  logger: Logger;
  /**
   * The catalog changed (or the file errors did), the first load included: the instance row should say so
   * at once, and report the changed jobs.
   */
  changed: (changes: readonly CatalogChange[]) => void;
  /** Fed every change, for the workers to resolve queued fires with (src/catalog/versions.ts). */
  versions: DefinitionVersions;
  /**
   * False on a worker-only agent: jobs.d is loaded and watched, for the runs it claims, but it fires
   * nothing (no ticker, no catch-up, no cancellations).
   */
  fires: boolean;
}

export interface Scheduling {
  /** Missed fires were caught up to this instant; the ticker fires the later ones. */
  caughtUpTo: number;
  /** Why the jobs directory cannot be read, while that lasts (the jobs loaded so far keep running). */
  jobsDirProblem(): string | undefined;
  close(): Promise<void>;
}

/** How the agent loads its job files (the API checks a job written through it the same way). */
export function agentLoadOptions(config: AgentConfig): LoadOptions {
  return {
    env: config.environment ? { ...process.env, JOBSD_ENV: config.environment } : process.env,
    ...(config.environment ? { environment: config.environment } : {}),
    defaultTimezone: config.timezone,
    allowInsecureFiles: config.allowInsecureFiles,
    maxFileBytes: config.maxFileBytes,
  };
}

/** Loads jobs.d, catches up, starts the ticker and the watch; resolves once the watch is ready. On a worker-only agent, loads and watches only. */
export async function startScheduling(options: SchedulingOptions): Promise<Scheduling> {
  const { config, catalog, ticker, dispatcher, pool, boss, metrics, logger, changed, versions, fires } = options;
  /** During the first load, jobs are scheduled from this instant and caught up to it. */
  let loadedAt: number | undefined;

  const apply = (changes: CatalogChange[]) => {
    versions.apply(changes);
    for (const change of changes) if (change.definition) registerSecrets(change.definition.secrets);
    changed(changes);
    if (!fires) return;
    for (const change of changes) {
      if (change.kind === 'removed' || !change.definition || !change.definition.enabled) {
        ticker.remove(change.id);
        if (change.kind === 'removed') void metrics.forget(change.id);
        const why = change.kind === 'removed' ? 'the job was removed' : 'the job was disabled';
        // After the fire queued ahead, if any, is taken back (src/queue/recall.ts): it leaves no record.
        dispatcher
          .recalled(change.id)
          .then(() => cancelQueuedRuns(pool, boss, change.id, why))
          .then((n) => n > 0 && logger.info({ job: change.id, cancelled: n }, `queued runs cancelled: ${why}`))
          .catch((err: unknown) => logger.warn({ job: change.id, err }, 'could not cancel the queued runs of a removed job'));
        continue;
      }
      const def = change.definition;
      if (def.schedule.trigger.kind === 'once') {
        ticker.remove(def.id);
        if (def.enabled) dispatcher.dispatch({ definition: def, fireTimeMs: onceFireTime(def), dueAtMs: Date.now() });
      } else ticker.upsert(def, loadedAt);
    }
  };
  const reloader = createReloader({
    dir: config.jobsDir,
    options: agentLoadOptions(config),
    catalog,
    onChanges: apply,
    logger,
  });

  const caughtUpTo = (loadedAt = options.now());
  reloader.loadAll();
  if (fires) {
    await dispatcher.catchUpAtStart(catalog.definitions(), loadedAt);
    ticker.start();
  }
  loadedAt = undefined;

  const watcher = watchDirectory(config.jobsDir, {
    poll: config.poll,
    onPaths: (paths) => reloader.reload(paths),
    onRescan: (reason) => {
      if (reason === 'event') reloader.loadAll();
      else reloader.recheck().catch((err: unknown) => logger.error({ err }, 'the periodic rescan of the jobs directory failed'));
    },
    onError: (err) => logger.error({ err }, 'watching the jobs directory failed'),
  });
  await watcher.ready;
  return { caughtUpTo, jobsDirProblem: () => reloader.unreadable(), close: async () => watcher.close() };
}
