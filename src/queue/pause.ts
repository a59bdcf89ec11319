// Pausing and resuming a job at run time (`jobsd pause`, `POST /api/jobs/:id/pause`, pause_after_failures).
// While a job is paused, each of its fires is recorded `skipped` with the pause's reason, by the enqueue
// transaction of whichever replica enqueues it (src/queue/enqueue-batch.ts); manual runs still run.
//
// Fires already queued when the pause is written are taken back here: their pg-boss jobs cancelled and
// their ledger rows recorded `skipped`. An enqueue transaction that read no pause may still be running
// when the pause commits; it reads the pauses after inserting its fires, so it holds a transaction id by
// then and is in the snapshot's list of transactions in progress, taken right after the pause's commit.
// The sweep waits for those to end, so it sees every fire that escaped the pause. A run claimed ahead of
// its time (at most a second before it is due) is out of its reach: the pause is announced to the agents
// (src/queue/pause-notices.ts), the holder does not start it, and the pause waits for that. A run
// already started is left to finish.

import { setTimeout as sleep } from 'node:timers/promises';
import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import { recordEnded } from '../db/fire-transitions.ts';
import { endPause, pausedMessage, writePause, type Pause } from '../db/pauses.ts';
import { withClient } from '../db/pg-guard.ts';
import { BOSS_SCHEMA, NOTIFY_CHANNEL_SQL, queueTable } from './boss.ts';
import { pausedPayload, resumedPayload } from './pause-notices.ts';
import { QUEUES } from './queues.ts';

/** How long the sweep waits for enqueue transactions that were in progress at the pause's commit. */
const IN_PROGRESS_WAIT_MS = 10_000;

export interface PauseOutcome {
  pause: Pause;
  /** Queued runs taken back and recorded skipped. */
  skipped: number;
  /** Runs claimed ahead of their time when the pause was written that their agent did not stop: started, or still held after 2 s. */
  held: number;
}

export async function pauseJob(pool: pg.Pool, boss: PgBoss, request: Omit<Pause, 'pausedAtMs'>): Promise<PauseOutcome> {
  const pause = await writePause(pool, request);
  // The agents holding a run of the job claimed ahead of its time hear of the pause before it is due.
  await pool.query(`SELECT pg_notify(${NOTIFY_CHANNEL_SQL}, $2)`, [BOSS_SCHEMA, pausedPayload(pause)]);
  const inProgress = (await pool.query<{ xid: string }>('SELECT pg_snapshot_xip(pg_current_snapshot())::text AS xid')).rows.map((r) => r.xid);
  const deadline = Date.now() + IN_PROGRESS_WAIT_MS;
  while (inProgress.length > 0 && Date.now() < deadline) {
    const { rows } = await pool.query<{ running: number }>(`SELECT count(*)::int AS running FROM unnest($1::xid8[]) x WHERE pg_xact_status(x) = 'in progress'`, [inProgress]);
    if (rows[0]!.running === 0) break;
    await sleep(20);
  }
  const skipped = await takeBackQueued(pool, boss, pause);
  return { pause, skipped, held: await heldRunsSettled(pool, boss, pause.jobId) };
}

export async function resumeJob(pool: pg.Pool, jobId: string): Promise<boolean> {
  const was = await endPause(pool, jobId);
  await pool.query(`SELECT pg_notify(${NOTIFY_CHANNEL_SQL}, $2)`, [BOSS_SCHEMA, resumedPayload(jobId)]);
  return was;
}

/** How long a pause waits for the runs of its job claimed ahead of their time to be decided by their holders. */
const HELD_WAIT_MS = 2_000;

/**
 * The job's scheduled runs that an agent claimed ahead of their time and holds until they are due (claimed,
 * not started) are decided by their holders: skipped, having heard of the pause, or started, not having
 * heard of it in time (an agent cut off from the database). Waits for them (at most HELD_WAIT_MS) and
 * returns how many were not stopped: started, or still held.
 */
async function heldRunsSettled(pool: pg.Pool, boss: PgBoss, jobId: string): Promise<number> {
  const tables = [...new Set(await Promise.all(Object.values(QUEUES).map((spec) => queueTable(boss, spec.name))))];
  const held: string[] = [];
  for (const table of tables) {
    const { rows } = await pool.query<{ run_id: string }>(
      `SELECT f.run_id FROM ${BOSS_SCHEMA}.${table} j JOIN jobsd.fires f ON f.run_id = j.id
        WHERE j.data->>'jobId' = $1 AND j.state = 'active' AND (j.data->>'manual')::boolean IS NOT TRUE AND f.state = 'queued' AND f.attempts = 0`,
      [jobId],
    );
    held.push(...rows.map((r) => r.run_id));
  }
  if (held.length === 0) return 0;
  const deadline = Date.now() + HELD_WAIT_MS;
  for (;;) {
    const { rows } = await pool.query<{ state: string }>('SELECT state FROM jobsd.fires WHERE run_id = ANY($1::uuid[])', [held]);
    const undecided = rows.filter((r) => r.state === 'queued').length;
    if (undecided === 0 || Date.now() >= deadline) return rows.filter((r) => r.state !== 'skipped').length;
    await sleep(50);
  }
}

/** Cancels the job's scheduled runs still waiting in the queue that are due while it is paused; records them skipped. */
async function takeBackQueued(pool: pg.Pool, boss: PgBoss, pause: Pause): Promise<number> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      let count = 0;
      for (const spec of Object.values(QUEUES)) {
        const table = await queueTable(boss, spec.name);
        const { rows } = await client.query<{ id: string }>(
          `SELECT id FROM ${BOSS_SCHEMA}.${table}
            WHERE name = $1 AND data->>'jobId' = $2 AND state = 'created' AND (data->>'manual')::boolean IS NOT TRUE
              AND ($3::timestamptz IS NULL OR COALESCE(data->>'dueAt', data->>'fireTime')::timestamptz < $3)
            FOR UPDATE`,
          [spec.name, pause.jobId, pause.untilMs === undefined ? null : new Date(pause.untilMs)],
        );
        if (rows.length === 0) continue;
        const ids = rows.map((r) => r.id);
        await boss.cancel(spec.name, ids, { db: { executeSql: (text: string, values?: unknown[]) => client.query(text, values as unknown[]) } });
        count += await recordEnded(client, ids, 'skipped', pausedMessage(pause));
      }
      await client.query('COMMIT');
      return count;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}
