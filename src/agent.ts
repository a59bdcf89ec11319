// The composition root: builds the subsystems of `jobsd start` and wires them, top to bottom:
// database → queue → catalog (files) → ticker → workers. Nothing else constructs them.

import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { Catalog, type CatalogChange } from './catalog/catalog.ts';
import { createReloader } from './catalog/reload.ts';
import type { AgentConfig } from './config.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.ts';
import { heartbeat, registerInstance, unregisterInstance } from './db/instances.ts';
import { migrate } from './db/migrate.ts';
import { guardDiscardedPgClients } from './db/pg-guard.ts';
import type { JobDefinition } from './definitions/types.ts';
import { watchDirectory } from './files/watch.ts';
import { registerSecrets, type Logger } from './log.ts';
import { startHttp, type HttpEndpoint } from './http/server.ts';
import type { AgentView } from './http/view.ts';
import { AgentMetrics } from './runs/metrics.ts';
import { queueDepths } from './queue/depth.ts';
import { enqueueFire } from './queue/enqueue.ts';
import { fireId } from './queue/fire-id.ts';
import { fireHistory, lastFires, previousFinalState, recentFires } from './db/ledger.ts';
import { Notifier } from './runs/notify.ts';
import { createBoss, ensureQueues } from './queue/boss.ts';
import { cancelQueuedRuns } from './queue/cancel.ts';
import { enqueueLeadMs } from './queue/ahead.ts';
import { Dispatcher } from './queue/dispatcher.ts';
import { queueFor } from './queue/queues.ts';
import { startHousekeeping } from './housekeeping.ts';
import { Ticker } from './ticker/ticker.ts';
import { QueueWorkers } from './workers/queue-worker.ts';
import { closeHttpAgent } from './workers/http.ts';

export const VERSION = '0.1.0';
/** The instance row's heartbeat, shown by `jobsd status`; file errors are written at once when they change. */
const HEARTBEAT_MS = 30_000;

export interface Agent {
  /** Stops firing, drains the workers within the grace period, closes everything. Never throws. */
  stop(): Promise<void>;
  readonly databaseUrl: string;
}

/** A one-time job's fire: an instant derived from its idempotency key, so (id, key) runs once ever. */
export function onceFireTime(def: JobDefinition): number {
  const digest = createHash('sha256').update(def.idempotencyKey ?? '').digest();
  return digest.readUIntBE(0, 5); // ms after the epoch, before 2005: never a real schedule's instant
}

export async function startAgent(config: AgentConfig, logger: Logger): Promise<Agent> {
  guardDiscardedPgClients();
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, { info: (m) => logger.info(m), warn: (m) => logger.warn(m) });
    databaseUrl = embedded.url;
  }
  // One connection stays open: the heartbeat every 30 s would otherwise reconnect (and authenticate) each time.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, min: 1, connectionTimeoutMillis: 5_000, application_name: `jobsd ${config.instance}` });
  let closing = false;
  // A database restart drops every connection at once: one line per 30 s, not one per connection.
  let lastConnectionError = 0;
  const connectionError = (what: string) => (err: unknown) => {
    if (closing || Date.now() - lastConnectionError < 30_000) return;
    lastConnectionError = Date.now();
    logger.error({ err }, what);
  };
  pool.on('error', connectionError('database connection error'));
  const applied = await migrate(pool);
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');

  const boss: PgBoss = createBoss(databaseUrl, `jobsd ${config.instance} (pg-boss)`);
  boss.on('error', connectionError('pg-boss error'));
  await boss.start();
  await ensureQueues(boss);

  const notifier = new Notifier({
    logger,
    ...(config.smtpUrl ? { smtpUrl: config.smtpUrl } : {}),
    previousState: (id, fireTimeMs) => previousFinalState(pool, id, fireTimeMs),
  });
  const metrics = new AgentMetrics({
    version: VERSION,
    instance: config.instance,
    fileErrors: () => catalog.fileErrors().length,
    nextFires: () => new Map([...ticker.nextFires()].map(([id, fire]) => [id, fire.fireTimeMs])),
    queueDepths: () => queueDepths(pool),
  });
  const housekeeping = await startHousekeeping({ pool, boss, logger, historyRetentionMs: config.historyRetentionMs });
  /** The database's clock, which fires are computed and started by. */
  const now = () => Date.now() + housekeeping.clockOffsetMs;
  const workers = new QueueWorkers({
    boss,
    pool,
    connectionString: databaseUrl,
    instance: config.instance,
    concurrency: config.concurrency,
    logger,
    databaseUrl,
    now,
    onStart: (data, latenessMs) => metrics.runStarted(data.jobId, latenessMs),
    onResult: (result, data, final) => {
      metrics.runEnded(data.jobId, result.status, result.execution_time_seconds, Date.parse(result.completed_at));
      if (final) {
        metrics.fire(data.jobId, result.status);
        notifier.runEnded(data.definition, result);
      }
    },
  });
  const dispatcher = new Dispatcher({
    now,
    pool,
    boss,
    instance: config.instance,
    logger,
    queued: (def, claimableAtMs) => {
      if (claimableAtMs === undefined) workers.wake(queueFor(def.overlap).name);
      else workers.wakeAt(queueFor(def.overlap).name, claimableAtMs);
    },
    outcome: (def, state, count = 1, fires = []) => {
      for (let i = 0; i < count; i++) metrics.fire(def.id, state);
      if (state === 'missed') notifier.missed(def, fires);
    },
  });
  const ticker = new Ticker({
    now,
    dispatch: (fire) => dispatcher.dispatch(fire),
    leadMs: enqueueLeadMs,
    recall: (fire) => dispatcher.recall(fire),
    late: (def, since, now) => dispatcher.late(def, since, now),
    logger,
  });
  /** During the first load, jobs are scheduled from this instant and caught up to it. */
  let loadedAt: number | undefined;

  const apply = (changes: CatalogChange[]) => {
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
      registerSecrets(def.secrets);
      if (def.schedule.trigger.kind === 'once') {
        ticker.remove(def.id);
        if (def.enabled) dispatcher.dispatch({ definition: def, fireTimeMs: onceFireTime(def), dueAtMs: Date.now() });
      } else ticker.upsert(def, loadedAt);
    }
  };
  const catalog = new Catalog();
  const reloader = createReloader({
    dir: config.jobsDir,
    options: {
      env: config.environment ? { ...process.env, JOBSD_ENV: config.environment } : process.env,
      ...(config.environment ? { environment: config.environment } : {}),
      defaultTimezone: config.timezone,
      allowInsecureFiles: config.allowInsecureFiles,
    },
    catalog,
    onChanges: apply,
    logger,
  });
  let registered = false;
  const beat = async () => {
    if (!registered) return;
    await heartbeat(pool, config.instance, catalog.definitions().length, catalog.fileErrors()).catch((err: unknown) =>
      logger.warn({ err }, 'instance heartbeat failed'),
    );
  };
  const scheduling = config.role !== 'worker';
  /** Missed fires are caught up to this instant; the ticker fires the later ones. */
  let caughtUpTo: number | undefined;
  if (scheduling) {
    caughtUpTo = loadedAt = now();
    reloader.loadAll();
    await dispatcher.catchUpAtStart(catalog.definitions(), loadedAt);
    loadedAt = undefined;
    ticker.start();
  }
  const watcher = scheduling
    ? watchDirectory(config.jobsDir, {
        poll: config.poll,
        onPaths: (paths) => {
          reloader.reload(paths);
          void beat(); // file errors reach `jobsd status` at once, not at the next heartbeat
        },
        onRescan: (reason) => {
          const changes = reloader.loadAll({ trustStat: reason === 'periodic' });
          if (reason === 'event' || changes.length > 0) void beat();
        },
        onError: (err) => logger.error({ err }, 'watching the jobs directory failed'),
      })
    : undefined;
  await watcher?.ready;
  if (config.role !== 'scheduler') await workers.start();

  await registerInstance(pool, {
    name: config.instance,
    hostname: hostname(),
    pid: process.pid,
    role: config.role,
    version: VERSION,
    jobsDir: config.jobsDir,
  });
  registered = true;
  await beat();
  let stopping: Promise<void> | undefined;
  let http: HttpEndpoint | undefined;
  if (config.http) {
    const readiness = async (): Promise<string | null> => {
      if (stopping) return 'shutting down';
      if (dispatcher.outage) return 'database unreachable: fires wait for catch-up';
      try {
        const probe = pool.query('SELECT 1');
        probe.catch(() => undefined); // it may fail after the timeout below has answered
        await Promise.race([probe, sleep(2000, undefined, { ref: false }).then(() => Promise.reject(new Error('no answer within 2 s')))]);
      } catch (error) {
        return `database unreachable: ${(error as Error).message}`;
      }
      return null;
    };
    const view: AgentView = {
      instance: config.instance,
      version: VERSION,
      jobs: () => catalog.definitions(),
      job: (id) => catalog.get(id),
      fileErrors: () => catalog.fileErrors(),
      nextFire: (id) => ticker.nextFires().get(id)?.fireTimeMs,
      lastRuns: () => lastFires(pool),
      runs: (id, limit) => fireHistory(pool, id, limit),
      recentRuns: (sinceMs, limit) => recentFires(pool, sinceMs, limit),
      runNow: async (def) => {
        const fireTimeMs = Date.now();
        const runId = fireId(def.id, fireTimeMs);
        const outcome = await enqueueFire(pool, boss, { definition: def, fireTimeMs, dueAtMs: fireTimeMs, manual: true, runId, instance: config.instance });
        if (outcome === 'queued') workers.wake(queueFor(def.overlap).name);
        return { run_id: runId, fire_time: new Date(fireTimeMs).toISOString(), state: outcome === 'queued' ? 'queued' : outcome === 'duplicate' ? 'duplicate' : 'skipped' };
      },
      readiness,
      metrics: () => metrics.text(),
    };
    http = await startHttp({
      ...config.http,
      view,
      ...(config.apiToken ? { apiToken: config.apiToken } : {}),
      onError: (err) => logger.error({ err }, 'HTTP request failed'),
    });
    logger.info({ url: http.url, api_runs: config.apiToken ? 'enabled' : 'disabled (JOBSD_API_TOKEN unset)' }, 'HTTP endpoint listening (/, /healthz, /readyz, /metrics, /api)');
  }
  const heartbeatTimer = setInterval(beat, HEARTBEAT_MS);
  logger.info(
    {
      instance: config.instance,
      role: config.role,
      jobs: catalog.definitions().length,
      file_errors: catalog.fileErrors().length,
      jobs_dir: config.jobsDir,
      ...(caughtUpTo !== undefined ? { caught_up_to: new Date(caughtUpTo).toISOString() } : {}),
    },
    'jobsd started',
  );

  const stop = () =>
    (stopping ??= (async () => {
      logger.info({ grace_ms: config.graceMs }, 'stopping: no new fires; active runs may finish');
      closing = true; // connection errors from here on are expected (a terminal's Ctrl-C also stops the embedded PostgreSQL)
      ticker.stop();
      dispatcher.stop();
      clearInterval(heartbeatTimer);
      housekeeping.stop();
      const step = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          logger.warn({ err }, `stopping: ${what} failed`);
        }
      };
      await step('closing the watcher', async () => watcher?.close());
      await step('closing the HTTP endpoint', async () => http?.close());
      await step('draining the workers', () => workers.drain(config.graceMs));
      await step('sending the last notifications', () => notifier.drain(5_000));
      await step('unregistering', () => unregisterInstance(pool, config.instance));
      await step('stopping pg-boss', () => boss.stop({ graceful: true, timeout: 1000, close: true }));
      await step('closing the pool', () => pool.end());
      await step('closing HTTP connections', () => closeHttpAgent());
      if (embedded) await step('stopping the embedded PostgreSQL', () => embedded.stop());
      logger.info('jobsd stopped');
    })());
  return { stop, databaseUrl };
}
