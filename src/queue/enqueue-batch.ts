// Enqueueing fires: the one transaction that records fires in the ledger and sends their pg-boss jobs,
// for the fires of one tick together, and for a single fire (a batch of one: a manual run, a catch-up
// run, a due `replace` fire). The ledger insert (one statement, rows written `queued`, invisible to
// others until the commit) decides which of them this replica won; a due fire of a queue that cancels
// before it sends (`replace`) cancels the job's older runs; the won fires are inserted into pg-boss per
// queue (one statement each, ON CONFLICT DO NOTHING: the queue policy refuses a fire that would overlap,
// exactly as send() does); the refused ones are then marked skipped.
// Fires queued ahead of their time (src/queue/ahead.ts) carry their claimable time as pg-boss's
// startAfter, and one notification per queue tells every replica when to fetch them; one the queue policy
// refuses is not recorded (`refused`), to be enqueued again when due; so is a fire asked to be retried
// when refused (catch-up waiting for the job's slot).
import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import { withClient } from '../db/pg-guard.ts';
import { fireKey, forgetFires, recordQueued, recordSkipped, reopenQueued } from '../db/fire-transitions.ts';
import { pausedAmong, pausedMessage } from '../db/pauses.ts';
import { wakePayload } from './ahead.ts';
import { cancelRuns } from './cancel.ts';
import { BOSS_SCHEMA, NOTIFY_CHANNEL_SQL } from './boss.ts';
import { expireInSeconds, fireData, heartbeatSeconds, retryOptions, type EnqueueOutcome, type EnqueueRequest } from './enqueue.ts';
import { fireId } from './fire-id.ts';
import { queueFor } from './queues.ts';

/** Enqueues one fire (see enqueueFires). */
export async function enqueueFire(pool: pg.Pool, boss: PgBoss, request: EnqueueRequest): Promise<EnqueueOutcome> {
  const [outcome] = await enqueueFires(pool, boss, [request]);
  return outcome!;
}

/**
 * What the dispatch lease's holder adds to the transaction (src/queue/dispatch-lease.ts): the confirmation
 * to send at commit, given the fires refused ahead of their time, and where to report the holder's row as
 * read in the transaction.
 */
export interface EnqueueConfirm {
  payload: (refused: Array<{ jobId: string; fireTimeMs: number }>) => string | undefined;
  observed: (row: string | undefined) => void;
}

/** PostgreSQL's `deadlock_detected`. */
const DEADLOCK = '40P01';

/**
 * Enqueues the fires, in the order of their ledger keys: every replica enqueues the same fires at the same
 * instant, and two transactions inserting the same keys in different orders deadlock (PostgreSQL aborts
 * one after `deadlock_timeout`, 1 s by default). Should one happen anyway, the batch is tried again.
 */
export async function enqueueFires(pool: pg.Pool, boss: PgBoss, requests: readonly EnqueueRequest[], confirm?: EnqueueConfirm): Promise<EnqueueOutcome[]> {
  const order = requests.map((_, i) => i).sort((a, b) => compareKeys(requests[a]!, requests[b]!));
  const sorted = order.map((i) => requests[i]!);
  for (let attempt = 1; ; attempt++) {
    try {
      const outcomes = await enqueueSorted(pool, boss, sorted, confirm);
      const byRequest: EnqueueOutcome[] = new Array(requests.length);
      order.forEach((i, k) => (byRequest[i] = outcomes[k]!));
      return byRequest;
    } catch (error) {
      if ((error as { code?: string }).code !== DEADLOCK || attempt >= 3) throw error;
    }
  }
}

function compareKeys(a: EnqueueRequest, b: EnqueueRequest): number {
  const id = a.definition.id < b.definition.id ? -1 : a.definition.id > b.definition.id ? 1 : 0;
  return id !== 0 ? id : a.fireTimeMs - b.fireTimeMs;
}

async function enqueueSorted(pool: pg.Pool, boss: PgBoss, requests: readonly EnqueueRequest[], confirm?: EnqueueConfirm): Promise<EnqueueOutcome[]> {
  if (requests.length === 0) return [];
  const runIds = requests.map((r) => r.runId ?? fireId(r.definition.id, r.fireTimeMs));
  return withClient(pool, async (client) => {
    try {
      await client.query('BEGIN');
      const rows = requests.map((r, i) => ({ jobId: r.definition.id, fireTimeMs: r.fireTimeMs, runId: runIds[i]!, manual: r.manual === true, definitionHash: r.definition.hash, dueAtMs: r.dueAtMs }));
      const mine = new Set<string>();
      const fresh = rows.filter((_, i) => requests[i]!.reopen === undefined);
      if (fresh.length) for (const k of await recordQueued(client, fresh, requests[0]!.instance)) mine.add(k);
      for (const reopen of ['unless-succeeded', 'force'] as const) {
        const again = rows.flatMap((row, i) => (requests[i]!.reopen === reopen ? [{ ...row, backfill: requests[i]!.backfill === true }] : []));
        if (again.length) for (const k of await reopenQueued(client, again, requests[0]!.instance, reopen)) mine.add(k);
      }
      const outcomes: EnqueueOutcome[] = requests.map((r) => (mine.has(fireKey({ jobId: r.definition.id, fireTimeMs: r.fireTimeMs })) ? 'skipped' : 'duplicate'));
      // Fires due while their job is paused are recorded skipped, not sent; a manual run is an explicit act and runs.
      // Read after the insert above, in its own statement: see src/queue/pause.ts.
      const scheduled = requests.map((r, i) => ({ r, i })).filter(({ r, i }) => outcomes[i] === 'skipped' && r.manual !== true);
      const pausedAt = await pausedAmong(client, scheduled.map(({ r }) => ({ jobId: r.definition.id, dueAtMs: r.dueAtMs })));
      const paused = new Map([...pausedAt].map(([k, pause]) => [scheduled[k]!.i, pause] as const));
      const executor = { executeSql: (text: string, values?: unknown[]) => client.query(text, values as unknown[]) };
      const byQueue = new Map<string, number[]>();
      /** Notifications sent at commit: the wake-ups of runs queued ahead, and the dispatch confirmation. */
      const notices: string[] = [];
      requests.forEach((r, i) => {
        if (outcomes[i] === 'duplicate' || paused.has(i)) return;
        const name = queueFor(r.definition.overlap).name;
        byQueue.set(name, [...(byQueue.get(name) ?? []), i]);
      });
      for (const [name, indexes] of byQueue) {
        // `replace`: a due fire replaces the job's runs of fires at or before its own (a newer fire queued
        // ahead is left alone, and refuses this one).
        for (const i of indexes) {
          const r = requests[i]!;
          if (queueFor(r.definition.overlap).cancelBeforeSend && r.claimableAtMs === undefined) {
            await cancelRuns(client, boss, name, r.definition.id, ['created', 'retry', 'active'], 'replaced by a newer fire (overlap: replace)', r.fireTimeMs);
          }
        }
        const jobs = indexes.map((i) => {
          const r = requests[i]!;
          const def = r.definition;
          return {
            id: runIds[i]!,
            data: fireData(r, runIds[i]!),
            ...(r.claimableAtMs !== undefined ? { startAfter: new Date(r.claimableAtMs) } : {}),
            ...(queueFor(def.overlap).keyed ? { singletonKey: def.id } : {}),
            ...retryOptions(def),
            expireInSeconds: expireInSeconds(def),
            heartbeatSeconds: heartbeatSeconds(def),
          };
        });
        const inserted = new Set((await boss.insert(name, jobs, { db: executor, returnId: true })) ?? []);
        for (const i of indexes) if (inserted.has(runIds[i]!)) outcomes[i] = 'queued';
        // pg-boss notifies only for runs claimable now; the others' times go to every replica (delivered at commit).
        const ahead = indexes.filter((i) => outcomes[i] === 'queued' && requests[i]!.claimableAtMs !== undefined).map((i) => requests[i]!.claimableAtMs!);
        if (ahead.length > 0) notices.push(wakePayload(name, ahead));
      }
      // A fire refused ahead of its time is not decided yet: no ledger row, and it is enqueued again when due.
      const early = requests.map((r, i) => ({ r, i })).filter(({ r, i }) => outcomes[i] === 'skipped' && !paused.has(i) && (r.claimableAtMs !== undefined || r.retryWhenRefused === true));
      if (early.length) {
        await forgetFires(client, early.map(({ r }) => ({ jobId: r.definition.id, fireTimeMs: r.fireTimeMs })));
        for (const { i } of early) outcomes[i] = 'refused';
      }
      const confirmation = confirm?.payload(early.map(({ r }) => ({ jobId: r.definition.id, fireTimeMs: r.fireTimeMs })));
      if (confirmation !== undefined) notices.push(confirmation);
      if (notices.length > 0) {
        // One statement for every notification; the holder reads its row in it (a takeover meanwhile deposed it).
        const { rows } = await client.query<{ lease: string | null }>(
          confirmation !== undefined
            ? `SELECT (SELECT holder || ' ' || token FROM jobsd.dispatcher) AS lease FROM (SELECT count(pg_notify(${NOTIFY_CHANNEL_SQL}, n)) FROM unnest($2::text[]) n) sent`
            : `SELECT count(pg_notify(${NOTIFY_CHANNEL_SQL}, n)) FROM unnest($2::text[]) n`,
          [BOSS_SCHEMA, notices],
        );
        if (confirmation !== undefined) confirm!.observed(rows[0]?.lease ?? undefined);
      }
      const skipped = requests.map((r, i) => ({ r, i })).filter(({ i }) => outcomes[i] === 'skipped');
      await recordSkipped(
        client,
        skipped.map(({ r, i }) => {
          const pause = paused.get(i);
          const message = pause ? pausedMessage(pause) : `a run of this job was still queued or active (overlap: ${r.definition.overlap})`;
          return { jobId: r.definition.id, fireTimeMs: r.fireTimeMs, runId: runIds[i]!, message };
        }),
        requests[0]!.instance,
      );
      await client.query('COMMIT');
      for (const i of paused.keys()) outcomes[i] = 'paused';
      return outcomes;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}
