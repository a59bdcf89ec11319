// The pg-boss client of the one-shot commands that queue or take back runs (run, pause, backfill): no
// timers, no supervision, two connections, the queues ensured; stopped when the work is done.

import { PgBoss } from 'pg-boss';
import { BOSS_SCHEMA, ensureQueues } from '../queue/boss.ts';

export async function withQueue<T>(url: string, fn: (boss: PgBoss) => Promise<T>): Promise<T> {
  const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, schedule: false, supervise: false, registerInstance: false, max: 2 });
  boss.on('error', () => undefined); // errors reach the caller through the calls that fail
  await boss.start();
  try {
    await ensureQueues(boss);
    return await fn(boss);
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
}
