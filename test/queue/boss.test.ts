import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PgBoss } from 'pg-boss';
import { BOSS_SCHEMA, ensureQueues } from '../../src/queue/boss.ts';
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
