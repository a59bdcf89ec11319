// Fires queued ahead of their time: queued with pg-boss's startAfter at their claimable time, not
// claimable before it, announced to every replica with that time, cancelled with the other queued runs
// when the job is removed, taken back when it is edited; a fire the overlap policy refuses ahead of time
// is left to be decided when due. The notification format is pinned both ways.
import assert from 'node:assert/strict';
import type { Schedule } from '../../src/definitions/types.ts';
import { test } from 'node:test';
import { CLAIM_AHEAD_MS, COMMAND_CLAIM_AHEAD_MS, COMMAND_ENQUEUE_LEAD_MS, claimableAt, enqueueLeadMs, ENQUEUE_LEAD_MS, handoverAt, parseWakePayload, wakePayload } from '../../src/queue/ahead.ts';
import { cancelQueuedRuns } from '../../src/queue/cancel.ts';
import { recallFire } from '../../src/queue/recall.ts';
import { enqueueFires } from '../../src/queue/enqueue-batch.ts';
import { QueueListener } from '../../src/queue/listener.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { createLogger } from '../../src/log.ts';
import { commandJob, httpJob } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';
import { queueDatabase } from '../helpers/queue.ts';

test('fires are queued ahead in every overlap mode; a command further ahead, and claimable once queued', () => {
  const every = (intervalMs: number, jitterMs = 0): Schedule => ({ ...commandJob().schedule, trigger: { kind: 'every' as const, intervalMs, anchorMs: 0 }, jitterMs });
  const cron = (expression: string): Schedule => ({ ...commandJob().schedule, trigger: { kind: 'cron' as const, expression, source: expression } });
  const at = 60_000;
  for (const overlap of ['allow', 'skip', 'queue', 'replace'] as const) {
    const http = httpJob({ id: 'x', overlap, schedule: every(1000) });
    assert.equal(enqueueLeadMs(http, at), ENQUEUE_LEAD_MS, overlap);
    assert.equal(claimableAt({ definition: http, dueAtMs: at, leadMs: ENQUEUE_LEAD_MS }), at - CLAIM_AHEAD_MS, overlap);
  }
  // A command is queued (and claimable) earlier: its process is spawned while the run is held.
  const lead = (overlap: 'allow' | 'skip' | 'queue' | 'replace', schedule: Schedule) => enqueueLeadMs(commandJob({ id: 'x', overlap, schedule }), at);
  assert.equal(lead('allow', every(1000)), COMMAND_ENQUEUE_LEAD_MS, 'allow: no earlier run to wait for');
  for (const overlap of ['skip', 'queue', 'replace'] as const) {
    // Queued no earlier than half the gap to the fire before, which by then has usually ended.
    assert.equal(lead(overlap, every(1000)), ENQUEUE_LEAD_MS, `${overlap}, every 1s`);
    assert.equal(lead(overlap, every(1500)), 750, `${overlap}, every 1.5s`);
    assert.equal(lead(overlap, every(2000)), COMMAND_ENQUEUE_LEAD_MS, `${overlap}, every 2s`);
    assert.equal(lead(overlap, every(3000, 2000)), ENQUEUE_LEAD_MS, `${overlap}, every 3s with a jitter of 2s: dues 1s apart`);
    assert.equal(lead(overlap, cron('*/5 * * * *')), COMMAND_ENQUEUE_LEAD_MS, `${overlap}, a cron of minutes`);
    assert.equal(lead(overlap, cron('* * * * * *')), ENQUEUE_LEAD_MS, `${overlap}, a cron of every second`);
    assert.equal(lead(overlap, cron('*/3 * * * * *')), COMMAND_ENQUEUE_LEAD_MS, `${overlap}, a cron of every 3 seconds`);
  }
  const command = commandJob({ id: 'x', overlap: 'allow' });
  assert.equal(claimableAt({ definition: command, dueAtMs: at, leadMs: COMMAND_ENQUEUE_LEAD_MS }), at - COMMAND_CLAIM_AHEAD_MS);
  assert.equal(claimableAt({ definition: command, dueAtMs: at, leadMs: ENQUEUE_LEAD_MS }), at - ENQUEUE_LEAD_MS + CLAIM_AHEAD_MS);
  assert.equal(handoverAt({ definition: command, dueAtMs: at, leadMs: COMMAND_ENQUEUE_LEAD_MS }), at - COMMAND_ENQUEUE_LEAD_MS);
  assert.ok(COMMAND_CLAIM_AHEAD_MS < COMMAND_ENQUEUE_LEAD_MS, 'claimable after it is enqueued');
});

test('a cron with seconds: the lead follows the gap to the fire before as well as to the one after', () => {
  const cron = (expression: string, jitterMs = 0): Schedule => ({ ...commandJob().schedule, trigger: { kind: 'cron' as const, expression, source: expression }, jitterMs });
  const minute = Date.parse('2026-12-04T10:00:00Z');
  const lead = (expression: string, at: number, jitterMs = 0) => enqueueLeadMs(commandJob({ id: 'x', overlap: 'skip', schedule: cron(expression, jitterMs) }), at);
  assert.equal(lead('0,1 * * * * *', minute + 1000), ENQUEUE_LEAD_MS, 'at :01, a second after the fire at :00');
  assert.equal(lead('0,1 * * * * *', minute), ENQUEUE_LEAD_MS, 'at :00, a second before the fire at :01');
  assert.equal(lead('0,30 * * * * *', minute + 30_000), COMMAND_ENQUEUE_LEAD_MS, '30 s apart both ways');
  assert.equal(lead('0,3 * * * * *', minute + 3000), COMMAND_ENQUEUE_LEAD_MS, '3 s after the fire before: no nearer than two leads');
  // With a jitter, the fire before may be due nearer than its nominal gap: 2 s less 1.5 s.
  assert.equal(lead('0,2 * * * * *', minute + 2000, 1500), ENQUEUE_LEAD_MS, 'at :02 with a jitter of 1.5 s: the fire at :00 is looked for too');
});

test('overlap replace: a fire is queued ahead when there is nothing to replace, refused ahead (to cancel when due) when there is', async () => {
  const { pool, boss, close } = await queueDatabase('ahead-replace');
  try {
    const def = commandJob({ id: 'replace-job', overlap: 'replace' });
    const t = Date.now() + 60_000;
    const fire = (ms: number) => ({ definition: def, fireTimeMs: ms, dueAtMs: ms, instance: 'test', claimableAtMs: ms - COMMAND_CLAIM_AHEAD_MS });
    assert.deepEqual(await enqueueFires(pool, boss, [fire(t)]), ['queued'], 'nothing queued or running: queued ahead');
    assert.deepEqual(await enqueueFires(pool, boss, [fire(t + 1000)]), ['refused'], 'a queued run to replace: decided when due');
    const [claimed] = await boss.fetch(QUEUES.replace.name, { ignoreStartAfter: true });
    assert.ok(claimed, 'the first fire is claimed (held, then running)');
    assert.deepEqual(await enqueueFires(pool, boss, [fire(t + 2000)]), ['refused'], 'a running run to replace: decided when due, not cancelled early');
    const active = await pool.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE id = $1`, [claimed.id]);
    assert.equal(active.rows[0]?.state, 'active', 'the running run was left alone');
    const rows = await pool.query<{ fire_time: Date }>(`SELECT fire_time FROM jobsd.fires ORDER BY fire_time`);
    assert.deepEqual(rows.rows.map((r) => r.fire_time.getTime() - t), [0], 'refused fires leave no ledger row');
  } finally {
    await close();
  }
});

test('overlap skip: a fire refused ahead of its time is not recorded (it is decided when due); one accepted holds the slot', async () => {
  const { pool, boss, close } = await queueDatabase('ahead-skip');
  try {
    const def = commandJob({ id: 'skip-job', overlap: 'skip' });
    const t = Date.now() + 60_000;
    const fire = (ms: number, ahead: boolean) => ({ definition: def, fireTimeMs: ms, dueAtMs: ms, instance: 'test', ...(ahead ? { claimableAtMs: ms - CLAIM_AHEAD_MS } : {}) });
    const ledger = async () => (await pool.query<{ fire_time: Date; state: string }>(`SELECT fire_time, state FROM jobsd.fires ORDER BY fire_time`)).rows.map((r) => [r.fire_time.getTime() - t, r.state]);
    assert.deepEqual(await enqueueFires(pool, boss, [fire(t, true)]), ['queued'], 'nothing holds the job: queued ahead');
    assert.deepEqual(await enqueueFires(pool, boss, [fire(t + 1000, true)]), ['refused'], 'the first fire holds the slot');
    assert.deepEqual(await ledger(), [[0, 'queued']], 'the refused fire has no ledger row');
    assert.deepEqual(await enqueueFires(pool, boss, [fire(t + 1000, false)]), ['skipped'], 'when due, the refusal is final');
    assert.deepEqual(await ledger(), [[0, 'queued'], [1000, 'skipped']]);

    // The job is edited before its queued fire is due: the fire is taken back, and can be queued again.
    assert.equal(await recallFire(pool, boss, def, t), true);
    assert.deepEqual(await ledger(), [[1000, 'skipped']]);
    assert.deepEqual(await enqueueFires(pool, boss, [fire(t, true)]), ['queued'], 'queued again with the new definition');
    const [claimed] = await boss.fetch(QUEUES.skip.name, { ignoreStartAfter: true });
    assert.ok(claimed, 'a worker claimed it');
    assert.equal(await recallFire(pool, boss, def, t), false, 'a claimed fire is not taken back');
  } finally {
    await close();
  }
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
  const { url, pool, boss, close } = await queueDatabase('ahead');
  const heard: string[] = [];
  const listener = new QueueListener({ connectionString: url, applicationName: 'test', logger: createLogger({ level: 'silent' }), onNotify: (p) => heard.push(p), onConnected: () => undefined });
  try {
    await listener.start();
    const def = commandJob({ id: 'ahead-job', overlap: 'allow' });
    const due = Date.now() + 60_000;
    const claimable = claimableAt({ definition: def, dueAtMs: due, leadMs: COMMAND_ENQUEUE_LEAD_MS });
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
    await close();
  }
});
