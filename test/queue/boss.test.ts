import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PgBoss } from 'pg-boss';
import { BOSS_SCHEMA, ensureQueues, PGBOSS_WIP_INTERVAL_MS } from '../../src/queue/boss.ts';
import { freshDatabase } from '../helpers/db.ts';

test('pg-boss keeps the policy of an existing queue silently; ensureQueues notices and fails loudly', async () => {
  const url = await freshDatabase('policy');
  const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, schedule: false, supervise: false, registerInstance: false });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    await boss.createQueue('jobsd-skip', { policy: 'standard' });
    await boss.createQueue('jobsd-skip', { policy: 'exclusive' }); // pinned: no error, no change
    assert.equal((await boss.getQueue('jobsd-skip'))?.policy, 'standard');
    await assert.rejects(ensureQueues(boss), /jobsd-skip has policy "standard" but jobsd needs "exclusive"/);
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
});

test('pg-boss arms a 2 s worker-progress interval at start (createBoss stretches it to 60 s: jobsd runs no pg-boss workers)', async () => {
  const url = await freshDatabase('wipclock');
  const armed: number[] = [];
  const clock = {
    now: () => Date.now(),
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (h: NodeJS.Timeout) => clearTimeout(h),
    setInterval: (fn: () => void, ms: number) => {
      armed.push(ms);
      return setInterval(fn, ms);
    },
    clearInterval: (h: NodeJS.Timeout) => clearInterval(h),
  };
  const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, schedule: false, supervise: false, registerInstance: false, clock });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    assert.ok(armed.includes(PGBOSS_WIP_INTERVAL_MS), `intervals armed: ${armed.join(', ')}`);
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
});
