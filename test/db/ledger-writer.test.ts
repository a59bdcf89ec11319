// The workers' coalesced ledger writes: the updates of one event-loop turn land together, each caller
// sees its own row written, two updates of one row keep their order, and an attempt whose claim lapsed
// cannot overwrite the row of the attempt that replaced it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { recordQueued } from '../../src/db/fire-transitions.ts';
import { LedgerWriter } from '../../src/db/ledger-writer.ts';
import { migrate } from '../../src/db/migrate.ts';
import { freshDatabase } from '../helpers/db.ts';

const T = Date.UTC(2026, 10, 27, 12);

/** A fresh ledger with a queued fire at T for each of `jobs`, and a writer on it; the pool is ended after `fn`. */
async function withFires(label: string, jobs: string[], fn: (pool: pg.Pool, writer: LedgerWriter) => Promise<void>): Promise<void> {
  const pool = new pg.Pool({ connectionString: await freshDatabase(label) });
  try {
    await migrate(pool);
    for (const [i, job] of jobs.entries()) {
      await recordQueued(pool, [{ jobId: job, fireTimeMs: T, runId: `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`, manual: false, definitionHash: 'h', dueAtMs: T }], 'x');
    }
    await fn(pool, new LedgerWriter(pool));
  } finally {
    await pool.end();
  }
}

test('coalesced ledger writes: together, in order per row, never over a later attempt', () =>
  withFires('ledgerwriter', ['a', 'b'], async (pool, writer) => {
    const row = async (job: string) =>
      (await pool.query<{ state: string; attempts: number; status: string | null }>(`SELECT state, attempts, result->>'status' AS status FROM jobsd.fires WHERE job_id = $1`, [job])).rows[0];

    // One turn: two rows, and row a twice (running, then its end): the end is written after.
    await Promise.all([
      writer.update('a', T, { state: 'running', attempts: 1, instance: 'x', started: true }),
      writer.update('b', T, { state: 'running', attempts: 1, instance: 'x', started: true }),
      writer.update('a', T, { state: 'succeeded', attempts: 1, finished: true, result: { status: 'succeeded' } }),
    ]);
    assert.deepEqual(await row('a'), { state: 'succeeded', attempts: 1, status: 'succeeded' });
    assert.deepEqual(await row('b'), { state: 'running', attempts: 1, status: null });

    // b's attempt 2 started (attempt 1's claim lapsed); attempt 1 then ends: its write is ignored.
    await writer.update('b', T, { state: 'running', attempts: 2, instance: 'y', started: true });
    await writer.update('b', T, { state: 'failed', attempts: 1, finished: true, result: { status: 'failed' } });
    assert.deepEqual(await row('b'), { state: 'running', attempts: 2, status: null });
  }));

test('a result holding a NUL character is recorded, and does not fail the other rows written with it', () =>
  // PostgreSQL's jsonb has no NUL: a command that printed one failed the whole statement before.
  withFires('ledgerwriter-nul', ['binary', 'plain'], async (pool, writer) => {
    await Promise.all([
      writer.update('binary', T, { state: 'succeeded', attempts: 1, finished: true, result: { status: 'succeeded', output: 'a\u0000b', path: 'C:\\u0000' } }),
      writer.update('plain', T, { state: 'succeeded', attempts: 1, finished: true, result: { status: 'succeeded', output: 'ok' } }),
    ]);
    const rows = (await pool.query<{ job_id: string; state: string; output: string; path: string | null }>(
      `SELECT job_id, state, result->>'output' AS output, result->>'path' AS path FROM jobsd.fires ORDER BY job_id`,
    )).rows;
    assert.deepEqual(rows, [
      { job_id: 'binary', state: 'succeeded', output: 'a\uFFFDb', path: 'C:\\u0000' }, // the text "\u0000" (a backslash, then u0000) is kept as it was
      { job_id: 'plain', state: 'succeeded', output: 'ok', path: null },
    ]);
  }));

// Seen in the database-restart fault test under load: the start mark, queued behind a connection that the
// restart held up, landed after the end had been written, and the finished run read `running` for good.
test("a late start mark never overwrites its attempt's end, nor a retry's queued row", () =>
  withFires('ledgerwriter_late_start', ['done', 'retrying'], async (pool, writer) => {
    const row = async (job: string) => (await pool.query<{ state: string; attempts: number }>('SELECT state, attempts FROM jobsd.fires WHERE job_id = $1', [job])).rows[0];
    await writer.update('done', T, { state: 'succeeded', attempts: 1, finished: true, result: { status: 'succeeded' } });
    await writer.update('done', T, { state: 'running', attempts: 1, instance: 'x', started: true });
    assert.deepEqual(await row('done'), { state: 'succeeded', attempts: 1 });
    await writer.update('retrying', T, { state: 'queued', attempts: 1, result: { status: 'failed' } });
    await writer.update('retrying', T, { state: 'running', attempts: 1, instance: 'x', started: true });
    assert.deepEqual(await row('retrying'), { state: 'queued', attempts: 1 });
    // The retry's own start still lands.
    await writer.update('retrying', T, { state: 'running', attempts: 2, instance: 'y', started: true });
    assert.deepEqual(await row('retrying'), { state: 'running', attempts: 2 });
  }));
