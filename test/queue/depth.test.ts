// Queue depth and the age of the oldest waiting run (jobsd_queue_oldest_waiting_seconds): a run whose
// start has not come does not wait, nor does one held back behind its job's active run in a stately queue.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueDepths } from '../../src/queue/depth.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { queueDatabase } from '../helpers/queue.ts';

test('queue depth by state, and how long the oldest run that could start has waited', async () => {
  const { pool, boss, close } = await queueDatabase('depth');
  const of = async (queue: string) => (await queueDepths(pool)).find((d) => d.name === queue)!;
  try {
    assert.deepEqual(await of(QUEUES.allow.name), { name: QUEUES.allow.name, queued: 0, retry: 0, active: 0, oldestWaitingSeconds: 0 });

    // Due 90 s ago (as if nobody had claimed it since) and one due in an hour: 90 s, two queued.
    const due = await boss.send(QUEUES.allow.name, { n: 1 });
    await boss.send(QUEUES.allow.name, { n: 2 }, { startAfter: new Date(Date.now() + 3_600_000) });
    await pool.query(`UPDATE pgboss.job SET start_after = start_after - interval '90 seconds' WHERE id = $1`, [due]);
    const allow = await of(QUEUES.allow.name);
    assert.equal(allow.queued, 2);
    assert.ok(allow.oldestWaitingSeconds >= 90 && allow.oldestWaitingSeconds < 100, `${allow.oldestWaitingSeconds} s`);

    // stately: a waiting run behind its job's active run is not waiting to start (overlap: queue), however old.
    await boss.send(QUEUES.queue.name, { n: 3 }, { singletonKey: 'b' });
    const [active] = await boss.fetch(QUEUES.queue.name);
    assert.ok(active);
    const behind = await boss.send(QUEUES.queue.name, { n: 4 }, { singletonKey: 'b' });
    await pool.query(`UPDATE pgboss.job SET start_after = start_after - interval '10 minutes' WHERE id = $1`, [behind]);
    assert.deepEqual(await of(QUEUES.queue.name), { name: QUEUES.queue.name, queued: 1, retry: 0, active: 1, oldestWaitingSeconds: 0 });
    await boss.complete(QUEUES.queue.name, active.id);
    assert.ok((await of(QUEUES.queue.name)).oldestWaitingSeconds >= 600);
  } finally {
    await close();
  }
});
