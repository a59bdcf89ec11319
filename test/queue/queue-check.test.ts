// The queue check and the listener that replace pg-boss's polling: a due run nobody was told about
// is found, a run whose agent died is found as lost, a waiting `stately` run behind an active one is
// not due; the listener hears sends and comes back after its connection is killed. Also pins the
// pg-boss behaviour the fetch loop relies on: touch() returns the ids it refreshed, fenced to the
// attempt that was fetched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueTable } from '../../src/queue/boss.ts';
import { QueueListener } from '../../src/queue/listener.ts';
import { checkQueues, recordLostRuns } from '../../src/queue/queue-check.ts';
import { recordAttempts, recordQueued } from '../../src/db/fire-transitions.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { createLogger } from '../../src/log.ts';
import { pollUntil } from '../helpers/poll.ts';
import { queueDatabase } from '../helpers/queue.ts';

const silent = createLogger({ level: 'silent' });

const byQueue = (states: { queue: string; due: number; lost: number }[] | undefined) =>
  Object.fromEntries((states ?? []).map((s) => [s.queue, { due: s.due, lost: s.lost }]));

test('the queue check finds due runs, lost runs, and no due run behind an active one of a stately queue', async () => {
  const { pool, boss, close } = await queueDatabase('queuecheck');
  try {
    const names = Object.values(QUEUES).map((q) => q.name);
    assert.deepEqual(byQueue(await checkQueues(pool, boss, names)), {});

    // A run due now, and one due in an hour: only the first counts.
    await boss.send(QUEUES.allow.name, { n: 1 });
    await boss.send(QUEUES.allow.name, { n: 2 }, { startAfter: new Date(Date.now() + 3_600_000) });
    assert.deepEqual(byQueue(await checkQueues(pool, boss, names)), { 'jobsd-allow': { due: 1, lost: 0 } });

    // Claimed with a heartbeat that then stops (the agent died): lost once the heartbeat is overdue.
    await boss.send(QUEUES.skip.name, { n: 3 }, { singletonKey: 'a', heartbeatSeconds: 10 });
    const [claimed] = await boss.fetch(QUEUES.skip.name);
    assert.ok(claimed);
    assert.deepEqual(byQueue(await checkQueues(pool, boss, names))['jobsd-skip'], { due: 0, lost: 0 });
    await pool.query(`UPDATE pgboss.job SET heartbeat_on = now() - interval '1 minute' WHERE id = $1`, [claimed.id]);
    assert.deepEqual(byQueue(await checkQueues(pool, boss, names))['jobsd-skip'], { due: 0, lost: 1 });
    // pg-boss's supervisor, run for that queue, fails it into retry (it has no retry delay: due again).
    await boss.supervise(QUEUES.skip.name);
    const after = await boss.getJobById(QUEUES.skip.name, claimed.id);
    assert.equal(after?.state, 'retry');
    assert.deepEqual(byQueue(await checkQueues(pool, boss, names))['jobsd-skip'], { due: 1, lost: 0 });

    // stately: one active and one waiting run of the same job; the waiting one cannot be claimed yet.
    await boss.send(QUEUES.queue.name, { n: 4 }, { singletonKey: 'b' });
    const [active] = await boss.fetch(QUEUES.queue.name);
    assert.ok(active);
    await boss.send(QUEUES.queue.name, { n: 5 }, { singletonKey: 'b' });
    assert.deepEqual(byQueue(await checkQueues(pool, boss, names))['jobsd-queue'], { due: 0, lost: 0 });
    assert.deepEqual(await boss.fetch(QUEUES.queue.name), []);
    await boss.complete(QUEUES.queue.name, active);
    assert.deepEqual(byQueue(await checkQueues(pool, boss, names))['jobsd-queue'], { due: 1, lost: 0 });
  } finally {
    await close();
  }
});

test('pg-boss touch() returns the ids it refreshed, fenced to the fetched attempt', async () => {
  const { boss, close } = await queueDatabase('touch');
  try {
    await boss.send(QUEUES.allow.name, { n: 1 }, { heartbeatSeconds: 10 });
    await boss.send(QUEUES.allow.name, { n: 2 }, { heartbeatSeconds: 10 });
    const jobs = await boss.fetch(QUEUES.allow.name, { batchSize: 2 });
    assert.equal(jobs.length, 2);
    await boss.complete(QUEUES.allow.name, jobs[0]!);
    const touched = (await boss.touch(QUEUES.allow.name, jobs)) as { settled?: string[] };
    assert.deepEqual(touched.settled, [jobs[1]!.id]);
    // Cancelled by someone else: no longer refreshed, which is how the fetch loop learns of it.
    await boss.cancel(QUEUES.allow.name, jobs[1]!.id);
    assert.deepEqual(((await boss.touch(QUEUES.allow.name, [jobs[1]!])) as { settled?: string[] }).settled ?? [], []);
  } finally {
    await close();
  }
});

test('the listener hears sends on any queue and listens again after its connection is killed', async () => {
  const { url, pool, boss, close } = await queueDatabase('listener');
  const heard: string[] = [];
  let connections = 0;
  const listener = new QueueListener({
    connectionString: url,
    applicationName: 'jobsd test (listener)',
    logger: silent,
    onNotify: (queue) => heard.push(queue),
    onConnected: () => void connections++,
  });
  try {
    await listener.start();
    assert.equal(connections, 1);
    await boss.send(QUEUES.skip.name, {}, { singletonKey: 'x' });
    await pollUntil(() => heard.includes(QUEUES.skip.name), { what: 'the notification of a send' });
    await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'jobsd test (listener)'`);
    await pollUntil(() => connections === 2, { timeoutMs: 15_000, what: 'the listener to reconnect' });
    await boss.send(QUEUES.allow.name, {});
    await pollUntil(() => heard.includes(QUEUES.allow.name), { what: 'a notification after the reconnect' });
    // The queue check runs on the listening connection.
    assert.ok(await checkQueues(listener, boss, [QUEUES.allow.name]));
  } finally {
    await listener.stop();
    await close();
  }
});

test('a lost run with no retries left is failed by pg-boss and its ledger row is ended, saying why', async () => {
  const { pool, boss, close } = await queueDatabase('lostrun');
  try {
    const runId = '5b0ad5f4-8a0c-5e8e-9d3a-0d1f3c4b2a10';
    const fireTimeMs = Date.UTC(2026, 10, 27, 12);
    await recordQueued(pool, [{ jobId: 'gone', fireTimeMs, runId, manual: false, definitionHash: 'h', dueAtMs: fireTimeMs }], 'dead-agent');
    await boss.send(QUEUES.skip.name, { jobId: 'gone' }, { id: runId, singletonKey: 'gone', heartbeatSeconds: 10, retryLimit: 0 });
    const [claimed] = await boss.fetch(QUEUES.skip.name);
    assert.equal(claimed?.id, runId);
    await recordAttempts(pool, [{ jobId: 'gone', fireTimeMs, update: { state: 'running', attempts: 1, instance: 'dead-agent', started: true } }]);
    await pool.query(`UPDATE pgboss.job SET heartbeat_on = now() - interval '1 minute' WHERE id = $1`, [runId]);
    await boss.supervise(QUEUES.skip.name);
    assert.equal((await boss.getJobById(QUEUES.skip.name, runId))?.state, 'failed');
    assert.equal(await recordLostRuns(pool, await queueTable(boss, QUEUES.skip.name), QUEUES.skip.name), 1);
    const { rows } = await pool.query<{ state: string; finished: boolean; message: string }>(
      `SELECT state, finished_at IS NOT NULL AS finished, result->>'message' AS message FROM jobsd.fires WHERE job_id = 'gone'`,
    );
    assert.deepEqual(rows, [{ state: 'failed', finished: true, message: 'failed: the agent running it stopped answering (heartbeat lost) and no retries were left' }]);
    assert.equal(await recordLostRuns(pool, await queueTable(boss, QUEUES.skip.name), QUEUES.skip.name), 0, 'once');
  } finally {
    await close();
  }
});
