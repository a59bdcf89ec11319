// Taking back a fire queued ahead of its time (src/queue/ahead.ts) whose job was edited or removed before
// it was due: its pg-boss job is deleted while nobody has claimed it, and its ledger row with it, so that
// the fire can be enqueued again with the new definition (the same deterministic run id). A run already
// claimed (its last CLAIM_AHEAD_MS) is left to run. Every replica does the same; each one enqueues again
// after its own delete, so the last delete is always followed by an enqueue.

import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import { forgetFires } from '../db/fire-transitions.ts';
import { withClient } from '../db/pg-guard.ts';
import type { JobDefinition } from '../definitions/types.ts';
import { BOSS_SCHEMA, queueTable } from './boss.ts';
import { fireId } from './fire-id.ts';
import { queueFor } from './queues.ts';

/** Whether the fire was taken back (false: it was already claimed, or not queued at all). */
export async function recallFire(pool: pg.Pool, boss: PgBoss, definition: JobDefinition, fireTimeMs: number): Promise<boolean> {
  const queue = queueFor(definition.overlap).name;
  const table = await queueTable(boss, queue);
  return withClient(pool, async (client) => {
    try {
      await client.query('BEGIN');
      // `cancelled`: another replica's removal of the job got there first; the fire goes all the same.
      const deleted = await client.query(`DELETE FROM ${BOSS_SCHEMA}.${table} WHERE name = $1 AND id = $2 AND state IN ('created', 'cancelled')`, [
        queue,
        fireId(definition.id, fireTimeMs),
      ]);
      if (deleted.rowCount) {
        await forgetFires(client, [{ jobId: definition.id, fireTimeMs }]);
      }
      await client.query('COMMIT');
      return (deleted.rowCount ?? 0) > 0;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}
