// The periodic look at the queues that replaces pg-boss's polling and supervisor timers: one
// statement tells, per queue, how many runs are due but unclaimed (a retry whose delay ran out, a
// run whose notification was lost) and how many active runs lost their agent (heartbeat or expiry
// overdue: the agent died or hangs).

import type { PgBoss } from 'pg-boss';
import { BOSS_SCHEMA, queueTable } from './boss.ts';
import type { Queryable } from '../db/ledger.ts';
import { recordEnded } from '../db/fire-transitions.ts';

export interface QueueState {
  queue: string;
  /** Waiting runs whose start time has come and that nothing stops a worker from claiming. */
  due: number;
  /** Active runs whose heartbeat or expiry is overdue: pg-boss's supervisor fails them into retry. */
  lost: number;
}

/**
 * The statement for the queues of one table; $1 is the queue names. The conditions are pg-boss 12's
 * own (plans.js: fetchNextJob for `due`, heartbeatLost and timedOut for `lost`). A waiting run of a
 * `stately` queue is not due while its job has an active run: the queue policy refuses to claim it.
 */
export function queueCheckSql(table: string): string {
  const t = `${BOSS_SCHEMA}.${table}`;
  const now = `${BOSS_SCHEMA}.job_now()`;
  return `SELECT j.name AS queue,
      count(*) FILTER (WHERE j.state < 'active' AND j.start_after <= ${now} AND NOT j.blocked
        AND NOT (j.singleton_key IS NOT NULL AND EXISTS (
          SELECT 1 FROM ${t} a WHERE a.name = j.name AND a.singleton_key = j.singleton_key AND a.state = 'active')))::int AS due,
      count(*) FILTER (WHERE j.state = 'active' AND (
        (j.heartbeat_seconds IS NOT NULL AND j.heartbeat_on + j.heartbeat_seconds * interval '1s' < ${now})
        OR j.started_on + j.expire_seconds * interval '1s' < ${now}))::int AS lost
    FROM ${t} j
    WHERE j.name = ANY($1::text[]) AND j.state <= 'active'
    GROUP BY j.name`;
}

export async function checkQueues(
  db: { query: (text: string, values: unknown[]) => Promise<{ rows: QueueState[] } | undefined> },
  boss: PgBoss,
  queues: string[],
): Promise<QueueState[] | undefined> {
  const byTable = new Map<string, string[]>();
  for (const queue of queues) {
    const table = await queueTable(boss, queue);
    byTable.set(table, [...(byTable.get(table) ?? []), queue]);
  }
  const states: QueueState[] = [];
  for (const [table, names] of byTable) {
    const result = await db.query(queueCheckSql(table), [names]);
    if (!result) return undefined;
    states.push(...result.rows);
  }
  return states;
}

/**
 * After pg-boss failed lost runs: those with no retries left are `failed` in pg-boss for good, and
 * nobody is left to end their ledger rows, which would stay `running`. Ends them `failed`, saying
 * why. Returns how many.
 */
export async function recordLostRuns(db: Queryable, table: string, queue: string): Promise<number> {
  const { rows } = await db.query<{ run_id: string }>(
    `SELECT f.run_id FROM jobsd.fires f JOIN ${BOSS_SCHEMA}.${table} j ON j.id = f.run_id
      WHERE j.name = $1 AND j.state = 'failed' AND f.state IN ('running', 'queued')`,
    [queue],
  );
  return recordEnded(db, rows.map((r) => r.run_id), 'failed', 'the agent running it stopped answering (heartbeat lost) and no retries were left', { running: true, error: 'heartbeat lost' });
}

/**
 * How long failovers must still wait, 0 when they may go ahead: runs are failed over only once their
 * holders have had a full lease (their heartbeat_seconds) since the database started and since this
 * agent's own last failed look at it (`sinceOwnOutageMs`). A holder that could not renew during an
 * outage renews, and writes its ends, within that time.
 */
export async function failoverHoldMs(db: Queryable, boss: PgBoss, queues: string[], sinceOwnOutageMs: number): Promise<number> {
  let longest = 0;
  let upMs = Infinity;
  for (const table of new Set(await Promise.all(queues.map((q) => queueTable(boss, q))))) {
    const { rows } = await db.query<{ up_ms: string; lease_ms: string | null }>(
      `SELECT (extract(epoch FROM now() - pg_postmaster_start_time()) * 1000)::bigint AS up_ms,
              (max(heartbeat_seconds) * 1000)::bigint AS lease_ms
         FROM ${BOSS_SCHEMA}.${table} WHERE name = ANY($1::text[]) AND state = 'active'`,
      [queues],
    );
    upMs = Math.min(upMs, Number(rows[0]?.up_ms ?? Infinity));
    longest = Math.max(longest, Number(rows[0]?.lease_ms ?? 0));
  }
  return Math.max(0, longest - upMs, longest - sinceOwnOutageMs);
}
