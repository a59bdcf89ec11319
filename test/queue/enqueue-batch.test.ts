// The fires of one tick enqueued in one transaction: the ledger decides who enqueues, the queue policy
// refuses an overlap (recorded skipped), a fire already recorded is a duplicate. Pins that pg-boss's
// insert() honours the queue policies the way send() does (ON CONFLICT DO NOTHING on the policy index).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enqueueFires } from '../../src/queue/enqueue-batch.ts';
import { commandJob } from '../helpers/definitions.ts';
import { connectQueues, queueDatabase } from '../helpers/queue.ts';

test('one transaction per tick: queued, skipped by the overlap policy, duplicate', async () => {
  const { pool, boss, close } = await queueDatabase('batch');
  try {
    const skip = commandJob({ id: 'skip-job' });
    const allow = commandJob({ id: 'allow-job', overlap: 'allow' });
    const t = Date.UTC(2026, 10, 27, 10);
    const at = (def: typeof skip, ms: number) => ({ definition: def, fireTimeMs: ms, dueAtMs: ms, instance: 'test' });
    assert.deepEqual(await enqueueFires(pool, boss, [at(skip, t), at(allow, t)]), ['queued', 'queued']);
    // The skip job's first run is still queued: its next fire is refused; allow queues both.
    assert.deepEqual(await enqueueFires(pool, boss, [at(skip, t + 1000), at(allow, t + 1000), at(skip, t)]), ['skipped', 'queued', 'duplicate']);
    const { rows } = await pool.query<{ job_id: string; state: string; status: string | null }>(
      `SELECT job_id, state, result->>'status' AS status FROM jobsd.fires ORDER BY job_id, fire_time`,
    );
    assert.deepEqual(rows.map((r) => [r.job_id, r.state, r.status]), [
      ['allow-job', 'queued', null],
      ['allow-job', 'queued', null],
      ['skip-job', 'queued', null],
      ['skip-job', 'skipped', 'skipped'],
    ]);
    const jobs = await pool.query<{ name: string; n: string }>(`SELECT name, count(*) AS n FROM pgboss.job GROUP BY name ORDER BY name`);
    assert.deepEqual(jobs.rows.map((r) => [r.name, Number(r.n)]), [['jobsd-allow', 2], ['jobsd-skip', 1]]);
  } finally {
    await close();
  }
});

test('two replicas enqueueing the same fires at once, in different orders, do not deadlock: each fire is queued once', async () => {
  const a = await queueDatabase('batch-race');
  const b = await connectQueues(a.url, 'b');
  const pools = [a.pool, b.pool];
  const bosses = [a.boss, b.boss];
  try {
    const t = Date.UTC(2026, 10, 27, 11);
    for (let round = 0; round < 5; round++) {
      const fires = Array.from({ length: 200 }, (_, i) => ({ definition: commandJob({ id: `job-${i}`, overlap: 'allow' }), fireTimeMs: t + round * 1000, dueAtMs: t + round * 1000, instance: 'test' }));
      const [a, b] = await Promise.all([enqueueFires(pools[0]!, bosses[0]!, fires), enqueueFires(pools[1]!, bosses[1]!, [...fires].reverse())]);
      const queued = [...a!, ...b!].filter((o) => o === 'queued').length;
      assert.equal(queued, 200, `round ${round}: every fire queued by exactly one of them`);
      assert.deepEqual(new Set([...a!, ...b!]), new Set(['queued', 'duplicate']));
    }
    const { rows } = await pools[0]!.query<{ n: string }>(`SELECT count(*) AS n FROM pgboss.job WHERE name = 'jobsd-allow'`);
    assert.equal(Number(rows[0]!.n), 1000);
  } finally {
    await b.close();
    await a.close();
  }
});
