// The composition root: builds the subsystems of `jobsd start` and wires them, top to bottom:
// database → queue → ticker → workers → catalog and watch (src/scheduling.ts) → HTTP view
// (src/agent-view.ts), and stops them in the reverse order. Nothing else constructs them.

import { hostname } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { AgentConfig } from './config.ts';
import type { Schedule } from './definitions/types.ts';
import { VERSION } from './version.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.ts';
import { heartbeat, registerInstance, reportHttp, unregisterInstance } from './db/instances.ts';
import { CatalogReport } from './db/instance-catalog.ts';
import { migrate } from './db/migrate.ts';
import { guardDiscardedPgClients, STATEMENT_READ_TIMEOUT_MS } from './db/pg-guard.ts';
import { previousFinalState } from './db/ledger.ts';
import { activePauses } from './db/pauses.ts';
import type { Logger } from './log.ts';
import { Catalog, type CatalogChange } from './catalog/catalog.ts';
import { DefinitionVersions } from './catalog/versions.ts';
import { agentView } from './agent-view.ts';
import { startScheduling } from './scheduling.ts';
import { startHttp, type HttpEndpoint } from './http/server.ts';
import { AgentMetrics } from './runs/metrics.ts';
import { queueDepths } from './queue/depth.ts';
import { FAILURE_STATES, Notifier } from './runs/notify.ts';
import { pauseAfterFailures } from './runs/pause-after-failures.ts';
import { fireDownstream, UnfiredChains, UNFIRED_SWEEP_MS, type ChainContext } from './runs/chains.ts';
import { createBoss, ensureQueues, IDLE_CONNECTION_MS } from './queue/boss.ts';
import { enqueueLeadMs } from './queue/ahead.ts';
import { Dispatcher } from './queue/dispatcher.ts';
import { queueFor } from './queue/queues.ts';
import { startHousekeeping } from './housekeeping.ts';
import { Ticker } from './ticker/ticker.ts';
import { QueueWorkers } from './workers/queue-worker.ts';
import { outputBase, sweepOutputDirs } from './workers/output-files.ts';
import { closeHttpAgent } from './workers/http.ts';

export { VERSION } from './version.ts';
/** How long a step of the stop that needs the database may wait for it. */
const DATABASE_STEP_MS = 5_000;

function deadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
/** The instance row's heartbeat, shown by `jobsd status`; file errors are written at once when they change. */
const HEARTBEAT_MS = 30_000;

export interface Agent {
  /**
   * Stops firing, drains the workers within the grace period, closes everything. Never throws; resolves
   * with why the stop was not clean (the database did not answer), or undefined.
   */
  stop(): Promise<string | undefined>;
  /**
   * A second signal during the stop: active runs are cancelled now (process groups killed), given back to
   * the queue, and the stop goes on without waiting; it then resolves with the reason.
   */
  stopNow(): void;
  readonly databaseUrl: string;
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
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, min: 1, idleTimeoutMillis: IDLE_CONNECTION_MS, connectionTimeoutMillis: 5_000, query_timeout: STATEMENT_READ_TIMEOUT_MS, application_name: `jobsd ${config.instance}` });
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
    jobIds: () => catalog.definitions().map((d) => d.id),
    schedules: () => catalog.definitions().flatMap((d): Array<[string, Schedule]> => (d.enabled ? [[d.id, d.schedule]] : [])),
    pausedJobs: async () => new Set((await activePauses(pool)).keys()),
  });
  const housekeeping = await startHousekeeping({
    pool,
    boss,
    logger,
    historyRetentionMs: config.historyRetentionMs,
    jobHistories: () => catalog.definitions().flatMap((d) => (d.history ? [{ jobId: d.id, ...d.history }] : [])),
  });
  /** The database's clock, which fires are computed and started by. */
  const now = () => Date.now() + housekeeping.clockOffsetMs;
  /** The definitions queued fires are resolved with: queued fires carry only a reference (src/catalog/versions.ts). */
  const versions = new DefinitionVersions();
  const workers = new QueueWorkers({
    definitions: versions,
    boss,
    pool,
    connectionString: databaseUrl,
    instance: config.instance,
    concurrency: config.concurrency,
    logger,
    databaseUrl,
    now,
    onDispatchNotice: (payload) => dispatcher.lease?.notice(payload),
    onListening: (up) => (up ? dispatcher.lease?.listening() : dispatcher.lease?.deaf()),
    onStart: (data, latenessMs) => metrics.runStarted(data.jobId, latenessMs),
    onResult: (result, data, final, definition) => {
      metrics.runEnded(data.jobId, result.status, result.execution_time_seconds, Date.parse(result.completed_at));
      if (final) {
        metrics.fire(data.jobId, result.status);
        if (definition) notifier.runEnded(definition, result);
        fireDownstream(chains, { job: data.jobId, fireTime: data.fireTime, runId: data.runId, status: result.status }).catch((err: unknown) =>
          logger.error({ job: data.jobId, run: data.runId, fire: data.fireTime, err }, 'could not fire the jobs chained to this run (the next start of an agent fires them)'),
        );
        if (definition?.pauseAfterFailures !== undefined && FAILURE_STATES.has(result.status)) {
          pauseAfterFailures(pool, boss, definition)
            .then((reason) => {
              if (reason === undefined) return;
              logger.warn({ job: definition.id, run: result.run_id, fire: result.fire_time }, `job paused: ${reason} (pause_after_failures); jobsd resume ${definition.id} ends the pause`);
              notifier.paused(definition, reason, result);
            })
            .catch((err: unknown) => logger.warn({ job: definition.id, err }, 'could not check pause_after_failures'));
        }
      }
    },
  });
  const dispatcher = new Dispatcher({
    now,
    pool,
    boss,
    instance: config.instance,
    logger,
    lease: config.role !== 'worker',
    digest: () => ticker.digest(),
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
    dispatch: (fire) => dispatcher.tick(fire),
    leadMs: enqueueLeadMs,
    recall: (fire) => dispatcher.recall(fire),
    late: (def, since, now) => dispatcher.late(def, since, now),
    logger,
  });
  const catalog = new Catalog();
  const chains: ChainContext = {
    pool,
    boss,
    instance: config.instance,
    logger,
    definitions: () => catalog.chained(),
    chainedAfter: (id) => catalog.chainedAfter(id),
    broken: () => new Set(catalog.chainErrors().keys()),
    queued: (def) => workers.wake(queueFor(def.overlap).name),
  };
  let registered = false;
  /** The jobs this agent runs, reported per change (`jobsd list`, `jobsd run`); a worker reports none. */
  const report = config.role !== 'worker' ? new CatalogReport(pool, config.instance, (id) => catalog.get(id)) : undefined;
  /** With `withCatalog`, the catalog's changes since the last report are written too. */
  const beat = async (withCatalog = false) => {
    if (!registered) return;
    await Promise.all([heartbeat(pool, config.instance, catalog.size, catalog.fileErrors()), withCatalog ? report?.flush() : undefined]).catch((err: unknown) =>
      logger.warn({ err }, 'instance heartbeat failed'),
    );
  };
  const changed = (changes: readonly CatalogChange[]) => {
    report?.changed(changes.map((c) => c.id));
    void beat(true); // file errors reach `jobsd status` at once, not at the next heartbeat
  };
  if (dispatcher.lease) {
    await dispatcher.lease.start();
    // Before the ticker starts: the dispatcher's confirmations reach this agent from its first fire on.
    await workers.listen();
  }
  const scheduling = await startScheduling({ config, catalog, ticker, dispatcher, pool, boss, metrics, now, logger, changed, versions, fires: config.role !== 'worker' });
  if (config.role !== 'scheduler') {
    // JOBSD_OUTPUT_DIR directories of agents killed mid-run (their cleanup never ran).
    void sweepOutputDirs().then((removed) => {
      if (removed.length) logger.info({ dirs: removed, base: outputBase() }, 'removed the output directories of runs whose agent is gone');
    });
    await workers.start();
  }

  await registerInstance(pool, {
    name: config.instance,
    hostname: hostname(),
    pid: process.pid,
    role: config.role,
    version: VERSION,
    jobsDir: path.resolve(config.jobsDir),
    environment: config.environment,
    timezone: config.timezone,
  });
  registered = true;
  await beat(true);
  const unfired = new UnfiredChains(chains, () => catalog.chained());
  const unfiredFailed = (err: unknown) => logger.warn({ err }, 'could not fire chained jobs left unfired');
  void unfired.atStart().catch(unfiredFailed);
  const unfiredTimer = setInterval(() => void unfired.sweep().catch(unfiredFailed), UNFIRED_SWEEP_MS);
  let stopping: Promise<string | undefined> | undefined;
  let http: HttpEndpoint | undefined;
  if (config.http) {
    const view = agentView({ config, version: VERSION, pool, boss, catalog, ticker, dispatcher, workers, metrics, stopping: () => stopping !== undefined, jobsDirProblem: () => scheduling.jobsDirProblem() });
    http = await startHttp({
      ...config.http,
      allowedHosts: config.allowedHosts,
      view,
      ...(config.apiToken ? { apiToken: config.apiToken } : {}),
      onError: (err) => logger.error({ err }, 'HTTP request failed'),
    });
    await reportHttp(pool, config.instance, http.url);
    logger.info({ url: http.url, api_runs: config.apiToken ? 'enabled' : 'disabled (JOBSD_API_TOKEN unset)' }, 'HTTP endpoint listening (/, /healthz, /readyz, /metrics, /api)');
  }
  const heartbeatTimer = setInterval(() => void beat(), HEARTBEAT_MS);
  logger.info(
    {
      instance: config.instance,
      role: config.role,
      jobs: catalog.size,
      file_errors: catalog.fileErrors().length,
      jobs_dir: config.jobsDir,
      ...(config.role !== 'worker' ? { caught_up_to: new Date(scheduling.caughtUpTo).toISOString() } : {}),
    },
    'jobsd started',
  );

  const stop = () =>
    (stopping ??= (async () => {
      logger.info({ grace_ms: config.graceMs }, 'stopping: no new fires; active runs may finish');
      closing = true; // connection errors from here on are expected
      ticker.stop();
      dispatcher.stop();
      clearInterval(heartbeatTimer);
      clearInterval(unfiredTimer);
      housekeeping.stop();
      /** The database's failure to answer, reported once at the end rather than by each step that needs it. */
      let unreachable: string | undefined;
      const dbStepMs = () => (unreachable || urgent ? 500 : DATABASE_STEP_MS);
      const step = async (what: string, fn: () => Promise<unknown>, database = false) => {
        logger.debug(`stopping: ${what}`);
        try {
          // A database that drops packets never answers: its steps get a deadline, the stop goes on.
          await (database ? deadline(fn(), dbStepMs()) : fn());
        } catch (err) {
          if (database) unreachable ??= (err as Error).message;
          else logger.warn({ err }, `stopping: ${what} failed`);
        }
      };
      await step('closing the watcher', async () => scheduling.close());
      await step('closing the HTTP endpoint', async () => http?.close());
      await step('draining the workers', () => workers.drain(config.graceMs));
      await step('sending the last notifications', () => notifier.drain(urgent ? 200 : 5_000));
      await step('unregistering', () => unregisterInstance(pool, config.instance), true);
      await step('stopping pg-boss', () => boss.stop({ graceful: true, timeout: urgent ? 200 : 1000, close: true }), true);
      await step('closing the pool', () => pool.end(), true);
      await step('closing HTTP connections', () => closeHttpAgent());
      if (embedded) await step('stopping the embedded PostgreSQL', () => embedded.stop());
      if (unreachable) logger.error(`jobsd stopped, but the database did not answer (${unreachable}): this agent's instance row is left in jobsd.instances`);
      else logger.info('jobsd stopped');
      return unreachable ?? (urgent ? 'stopped now by a second signal' : undefined);
    })());
  let urgent = false;
  const stopNow = () => {
    if (urgent) return;
    urgent = true;
    void stop();
    const runs = workers.abortNow();
    logger.warn({ runs }, `second signal: stopping now; ${runs} active run(s) terminated (their process groups killed) and given back to the queue`);
  };
  return { stop, stopNow, databaseUrl };
}
