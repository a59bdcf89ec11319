// pg-boss, configured for jobsd: its own schema, no cron of its own, and none of its background
// timers. jobsd owns the loops that cost statements at rest (see src/workers/queue-worker.ts and
// src/queue/queue-check.ts): pg-boss's defaults cost an idle agent about 200 statements a minute.

import { PgBoss } from 'pg-boss';
import { QUEUES } from './queues.ts';
import { STATEMENT_READ_TIMEOUT_MS } from '../db/pg-guard.ts';

export const BOSS_SCHEMA = 'pgboss';

/** Seconds between two pg-boss maintenance passes (retention, queue statistics) started by an agent. */
export const MAINTENANCE_SECONDS = 600;

/** The interval pg-boss 12 arms to report the progress of its own workers (manager.js, `wip` events). */
export const PGBOSS_WIP_INTERVAL_MS = 2_000;

/**
 * pg-boss's clock (its public `clock` option) with one change: the worker-progress interval is armed
 * every 60 s instead of every 2 s. jobsd runs no pg-boss workers, so it only woke an idle agent 30
 * times a minute. test/queue/boss.test.ts pins that pg-boss still arms it at 2 s.
 */
const bossClock = {
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: NodeJS.Timeout) => clearTimeout(handle),
  setInterval: (fn: () => void, ms: number) => setInterval(fn, ms === PGBOSS_WIP_INTERVAL_MS ? 60_000 : ms),
  clearInterval: (handle: NodeJS.Timeout) => clearInterval(handle),
};

const readTimeout = { query_timeout: STATEMENT_READ_TIMEOUT_MS };

/**
 * How long an agent's pools keep an idle connection (pg's default is 10 s). Under load the connections a
 * burst needs beyond the usual were closed 10 s later and opened again at a later burst: a new backend
 * (fork, authentication, cold caches, pg-boss's session statements) each time, about a tenth of
 * PostgreSQL's CPU per fire with 4 agents (`npm run bench -- agents`), and more with each agent's pools.
 */
export const IDLE_CONNECTION_MS = 60_000;

export function createBoss(connectionString: string, applicationName: string): PgBoss {
  return new PgBoss({
    connectionString,
    clock: bossClock,
    schema: BOSS_SCHEMA,
    application_name: applicationName,
    max: 8,
    // Handed to pg.Pool too; pg-boss's typings omit it.
    ...({ idleTimeoutMillis: IDLE_CONNECTION_MS } as object),
    // A statement cut off without its connection closing fails, and its connection is discarded
    // (pg-boss hands its options to pg.Pool; its typings omit pg's query_timeout).
    ...(readTimeout as object),
    connectionTimeoutMillis: 5_000,
    schedule: false, // jobsd's ticker decides when things fire
    // jobsd listens itself (src/queue/listener.ts) on one connection for every queue, and checks that
    // connection with the statement it runs anyway; sends still NOTIFY, as the queues opt in.
    useListenNotify: false,
    // No supervisor timer: jobsd runs a pass when its queue check finds a lost or expired run, and
    // every MAINTENANCE_SECONDS for retention (src/queue/queue-check.ts).
    supervise: false,
    // Lets a pass that jobsd starts fail lost runs even if another agent's pass ran moments before.
    monitorIntervalSeconds: 5,
    // jobsd keeps its own instance registry (jobsd.instances) with a heartbeat.
    registerInstance: false,
    // The queues are created once and never changed: their cached policy and table do not go stale.
    queueCacheIntervalSeconds: 3600,
    clockMonitorIntervalSeconds: 600,
    bamIntervalSeconds: 3600,
    // jobsd uses no pg-boss flows; its flow resolver would otherwise poll every 5 s (about 36 statements a minute).
    flowIntervalSeconds: 3600,
    migrate: true,
  });
}

/**
 * Creates the queues once, and fails loudly when an existing queue has another policy: pg-boss
 * silently ignores createQueue for an existing name, which would quietly break the overlap rules.
 */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  for (const spec of Object.values(QUEUES)) {
    await boss.createQueue(spec.name, { policy: spec.policy, notify: true });
    const queue = await boss.getQueue(spec.name);
    if (!queue) throw new Error(`pg-boss queue ${spec.name} could not be created`);
    if (queue.policy !== spec.policy) {
      throw new Error(
        `pg-boss queue ${spec.name} has policy "${queue.policy}" but jobsd needs "${spec.policy}"; ` +
          `pg-boss cannot change a queue's policy: delete the queue (SELECT ${BOSS_SCHEMA}.delete_queue('${spec.name}') or boss.deleteQueue) while no agent runs, then start again`,
      );
    }
    knownTables(boss).set(spec.name, queue.table);
  }
}

const tables = new WeakMap<PgBoss, Map<string, string>>();

function knownTables(boss: PgBoss): Map<string, string> {
  let known = tables.get(boss);
  if (!known) tables.set(boss, (known = new Map()));
  return known;
}

/** The table that holds a queue's jobs (pg-boss 12 keeps queues in a shared table unless partitioned). */
export async function queueTable(boss: PgBoss, queue: string): Promise<string> {
  const known = knownTables(boss);
  let table = known.get(queue);
  if (!table) {
    table = (await boss.getQueue(queue))?.table ?? 'job';
    known.set(queue, table);
  }
  return table;
}

/**
 * pg-boss 12's notification channel (plans.js notifyChannelSql), as an expression of the schema
 * name in $1. Its sends NOTIFY there with the queue name as payload; test/agent/shutdown.test.ts pins it.
 */
export const NOTIFY_CHANNEL_SQL = `'pgboss_' || left(encode(sha224($1::bytea), 'hex'), 24)`;

/**
 * Wakes every replica's workers of a queue, as pg-boss's own send does. pg-boss sends no
 * notification when a job returns to `retry`.
 */
export async function notifyQueue(db: { query: (text: string, values: unknown[]) => Promise<unknown> }, queue: string): Promise<void> {
  await db.query(`SELECT pg_notify(${NOTIFY_CHANNEL_SQL}, $2)`, [BOSS_SCHEMA, queue]);
}
