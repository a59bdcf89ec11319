// Queue depth per pg-boss queue: what `jobsd status` prints and /metrics exports.
import type pg from 'pg';
import { BOSS_SCHEMA } from './boss.ts';
import { QUEUES } from './queues.ts';

export interface QueueDepth {
  name: string;
  queued: number;
  retry: number;
  active: number;
  /**
   * Seconds the oldest waiting run that could start has waited since its start time: its start has come
   * and nothing holds it (pg-boss's conditions, as in queue-check.ts: not blocked, no active run of its
   * job in a stately queue). 0 when none waits. Runs claimed ahead of their time are active, not waiting.
   */
  oldestWaitingSeconds: number;
}

export async function queueDepths(pool: pg.Pool): Promise<QueueDepth[]> {
  const names = Object.values(QUEUES).map((q) => q.name);
  const now = `${BOSS_SCHEMA}.job_now()`;
  const counts = await pool.query<{ name: string; state: string; count: string; waiting: number }>(
    `SELECT j.name, j.state, count(*),
        coalesce(extract(epoch FROM ${now} - min(j.start_after) FILTER (WHERE j.state < 'active' AND j.start_after <= ${now} AND NOT j.blocked
          AND NOT (j.singleton_key IS NOT NULL AND EXISTS (
            SELECT 1 FROM ${BOSS_SCHEMA}.job a WHERE a.name = j.name AND a.singleton_key = j.singleton_key AND a.state = 'active')))), 0)::float8 AS waiting
      FROM ${BOSS_SCHEMA}.job j WHERE j.name = ANY($1) AND j.state IN ('created', 'retry', 'active') GROUP BY 1, 2`,
    [names],
  );
  return names.map((name) => {
    const rows = counts.rows.filter((r) => r.name === name);
    const of = (state: string) => Number(rows.find((r) => r.state === state)?.count ?? 0);
    return { name, queued: of('created'), retry: of('retry'), active: of('active'), oldestWaitingSeconds: Math.max(0, ...rows.map((r) => r.waiting)) };
  });
}
