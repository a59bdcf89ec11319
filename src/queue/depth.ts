// Queue depth per pg-boss queue: what `jobsd status` prints and /metrics exports.
import type pg from 'pg';
import { BOSS_SCHEMA } from './boss.ts';
import { QUEUES } from './queues.ts';

export interface QueueDepth {
  name: string;
  queued: number;
  retry: number;
  active: number;
}

export async function queueDepths(pool: pg.Pool): Promise<QueueDepth[]> {
  const names = Object.values(QUEUES).map((q) => q.name);
  const counts = await pool.query<{ name: string; state: string; count: string }>(
    `SELECT name, state, count(*) FROM ${BOSS_SCHEMA}.job WHERE name = ANY($1) AND state IN ('created', 'retry', 'active') GROUP BY 1, 2`,
    [names],
  );
  return names.map((name) => {
    const of = (state: string) => Number(counts.rows.find((r) => r.name === name && r.state === state)?.count ?? 0);
    return { name, queued: of('created'), retry: of('retry'), active: of('active') };
  });
}
