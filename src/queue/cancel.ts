// Cancelling a job's runs in pg-boss, with their ledger rows: for overlap `replace` (queued and
// active runs, in the transaction that sends the new fire) and when a job is removed or disabled
// (queued runs and pending retries; active runs finish).

import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import { recordEnded } from '../db/fire-transitions.ts';
import { withClient } from '../db/pg-guard.ts';
import { BOSS_SCHEMA, queueTable } from './boss.ts';
import { QUEUES } from './queues.ts';

type State = 'created' | 'retry' | 'active';

/**
 * Cancels the job's pg-boss jobs of one queue in the given states (the replica running an active one
 * sees its signal aborted at its next heartbeat refresh and terminates the process group). Runs that
 * had not started are recorded `cancelled` in the ledger here; an active run records its own end.
 * Returns how many were cancelled.
 */
export async function cancelRuns(
  client: pg.ClientBase,
  boss: PgBoss,
  queue: string,
  jobId: string,
  states: State[],
  message: string,
  /** Only runs of fires at or before this instant: a newer fire (queued ahead) is not replaced by an older one. */
  upToFireTimeMs?: number,
): Promise<number> {
  const table = await queueTable(boss, queue);
  const live = await client.query<{ id: string }>(
    `SELECT id FROM ${BOSS_SCHEMA}.${table}
      WHERE name = $1 AND (singleton_key = $2 OR data->>'jobId' = $2) AND state::text = ANY($3::text[])
        AND ($4::timestamptz IS NULL OR (data->>'fireTime')::timestamptz <= $4)
        FOR UPDATE`,
    [queue, jobId, states, upToFireTimeMs === undefined ? null : new Date(upToFireTimeMs)],
  );
  if (live.rows.length === 0) return 0;
  const ids = live.rows.map((r) => r.id);
  await boss.cancel(queue, ids, { db: { executeSql: (text: string, values?: unknown[]) => client.query(text, values as unknown[]) } });
  await recordEnded(client, ids, 'cancelled', message);
  return ids.length;
}

/** A job was removed or disabled: its queued runs and pending retries are cancelled; active runs finish. */
export async function cancelQueuedRuns(pool: pg.Pool, boss: PgBoss, jobId: string, why: string): Promise<number> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      let count = 0;
      for (const spec of Object.values(QUEUES)) count += await cancelRuns(client, boss, spec.name, jobId, ['created', 'retry'], why);
      await client.query('COMMIT');
      return count;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}
