// pg-boss, configured for jobsd: its own schema, no cron of its own, LISTEN/NOTIFY so that a fire
// sent by one replica wakes the workers of every replica, and our queues checked at start.

import { PgBoss } from 'pg-boss';
import { QUEUES } from './queues.ts';

export const BOSS_SCHEMA = 'pgboss';

export function createBoss(connectionString: string, applicationName: string): PgBoss {
  return new PgBoss({
    connectionString,
    schema: BOSS_SCHEMA,
    application_name: applicationName,
    max: 8,
    schedule: false, // jobsd's ticker decides when things fire
    useListenNotify: true,
    // The monitor that fails jobs of dead agents (missed heartbeats) and expired jobs, so a live
    // replica retries them: every 30 s rather than pg-boss's 60 s.
    superviseIntervalSeconds: 30,
    // jobsd uses no pg-boss flows; its flow resolver would otherwise poll every 5 s (about 36 statements a minute).
    flowIntervalSeconds: 3600,
    monitorIntervalSeconds: 30,
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
  }
}

/**
 * Wakes every replica's workers of a queue, as pg-boss's own send does. pg-boss sends no
 * notification when a job returns to `retry`, and its fallback poll is 30 s with LISTEN/NOTIFY on.
 * The channel is pg-boss 12's (plans.js notifyChannelSql); test/agent/shutdown.test.ts pins it.
 */
export async function notifyQueue(db: { query: (text: string, values: unknown[]) => Promise<unknown> }, queue: string): Promise<void> {
  await db.query(`SELECT pg_notify('pgboss_' || left(encode(sha224($1::bytea), 'hex'), 24), $2)`, [BOSS_SCHEMA, queue]);
}
