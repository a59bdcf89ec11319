// A fresh database with jobsd's schema and a started pg-boss with jobsd's queues: what the queue tests
// run against. `close()` stops pg-boss and ends the pool.
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { migrate } from '../../src/db/migrate.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { freshDatabase } from './db.ts';

export interface QueueDatabase {
  url: string;
  pool: pg.Pool;
  boss: PgBoss;
  close(): Promise<void>;
}

export async function queueDatabase(label: string): Promise<QueueDatabase> {
  const url = await freshDatabase(label);
  return connectQueues(url, label);
}

/** Another replica's connections to the same database. */
export async function connectQueues(url: string, name = 'test'): Promise<QueueDatabase> {
  const pool = new pg.Pool({ connectionString: url });
  const boss = createBoss(url, name);
  boss.on('error', () => undefined);
  await migrate(pool);
  await boss.start();
  await ensureQueues(boss);
  return {
    url,
    pool,
    boss,
    async close() {
      await boss.stop({ graceful: false, close: true });
      await pool.end();
    },
  };
}
