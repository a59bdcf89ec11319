// Fires queued ahead of their time (overlap: allow): queued with pg-boss's startAfter at their
// claimable time, not claimable before it, announced to every replica with that time, cancelled
// with the other queued runs when the job is removed. The notification format is pinned both ways.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { CLAIM_AHEAD_MS, claimableAt, enqueueLeadMs, ENQUEUE_LEAD_MS, parseWakePayload, wakePayload } from '../../src/queue/ahead.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { cancelQueuedRuns } from '../../src/queue/cancel.ts';
import { enqueueFires } from '../../src/queue/enqueue-batch.ts';
import { QueueListener } from '../../src/queue/listener.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { createLogger } from '../../src/log.ts';
import { freshDatabase } from '../helpers/db.ts';
import { commandJob } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';

test('only overlap: allow fires are queued ahead; the others are decided at their instant', () => {
  assert.equal(enqueueLeadMs(commandJob({ id: 'a', overlap: 'allow' })), ENQUEUE_LEAD_MS);
  for (const overlap of ['skip', 'queue', 'replace'] as const) {
    assert.equal(enqueueLeadMs(commandJob({ id: 'x', overlap })), 0, overlap);
    assert.equal(claimableAt(commandJob({ id: 'x', overlap }), 10_000), undefined, overlap);
  }
  assert.equal(claimableAt(commandJob({ id: 'a', overlap: 'allow' }), 10_000), 10_000 - CLAIM_AHEAD_MS);
});

test('wake payloads: times rounded up (a fetch before a run is claimable would miss it), short enough for NOTIFY', () => {
  assert.equal(wakePayload('jobsd-allow', [1_001, 1_009, 1_010, 900]), 'jobsd-allow@900,1010');
  assert.deepEqual(parseWakePayload('jobsd-allow@900,1010'), { queue: 'jobsd-allow', times: [900, 1010] });
  assert.deepEqual(parseWakePayload('jobsd-skip'), { queue: 'jobsd-skip', times: [] }, "pg-boss's own payload: the queue name");
  const spread = Array.from({ length: 5_000 }, (_, i) => 1_800_000_000_000 + i * 7);
  const payload = wakePayload('jobsd-allow', spread);
  assert.ok(payload.length < 8_000, `${payload.length} bytes`);
  const { times } = parseWakePayload(payload);
  assert.ok(times[0]! >= spread[0]! && times.at(-1)! >= spread.at(-1)!, 'coarser, still never early');
});

test('a fire queued ahead is not claimable before its time, wakes every replica with that time, and is cancelled with its job', async () => {
  const url = await freshDatabase('ahead');
  const pool = new pg.Pool({ connectionString: url });
  const boss = createBoss(url, 'test');
  boss.on('error', () => undefined);
  await migrate(pool);
  await boss.start();
  const heard: string[] = [];
  const listener = new QueueListener({ connectionString: url, applicationName: 'test', logger: createLogger({ level: 'silent' }), onNotify: (p) => heard.push(p), onConnected: () => undefined });
  try {
    await ensureQueues(boss);
    await listener.start();
    const def = commandJob({ id: 'ahead-job', overlap: 'allow' });
    const due = Date.now() + 60_000;
    const claimable = claimableAt(def, due)!;
    assert.deepEqual(await enqueueFires(pool, boss, [{ definition: def, fireTimeMs: due, dueAtMs: due, instance: 'test', claimableAtMs: claimable }]), ['queued']);
    assert.deepEqual(await boss.fetch(QUEUES.allow.name), [], 'not claimable a minute early');
    const { rows } = await pool.query<{ start_after: Date; state: string; due_at: string }>(
      `SELECT start_after, state, data->>'dueAt' AS due_at FROM pgboss.job WHERE name = $1`,
      [QUEUES.allow.name],
    );
    assert.deepEqual(rows.map((r) => [r.start_after.getTime(), r.state, Date.parse(r.due_at)]), [[claimable, 'created', due]]);
    await pollUntil(() => heard.length > 0, { timeoutMs: 5_000, what: 'the notification' });
    assert.deepEqual(heard.map(parseWakePayload), [{ queue: QUEUES.allow.name, times: [Math.ceil(claimable / 10) * 10] }]);

    assert.equal(await cancelQueuedRuns(pool, boss, def.id, 'the job was removed'), 1, 'a removed job runs none of its fires queued ahead');
    const state = await pool.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE name = $1`, [QUEUES.allow.name]);
    assert.equal(state.rows[0]!.state, 'cancelled');
  } finally {
    await listener.stop();
    await boss.stop({ graceful: false, close: true });
    await pool.end();
  }
});
