// A job whose text PostgreSQL's jsonb refuses (a lone UTF-16 surrogate) once made its fire's batch fail:
// the other fires of its tick were not enqueued, and the agent took the data error for an outage. Queued
// fires now carry a reference, not the definition (issue 18 item 4), so the text never reaches the
// database: every fire of the three jobs runs, and nothing is taken for an outage. (A fire the database
// refuses for another reason is still recorded failed alone: src/db/data-error.ts, isDataError.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ledger } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startCluster } from './cluster.ts';

// A lone UTF-16 surrogate: valid JSON, valid for the loader, refused by PostgreSQL's jsonb.
const badJob = JSON.stringify({ description: 'bad \ud800 text', schedule: 'every 1s', task: { type: 'command', command: ['true'] } });
const goodJob = (n: number) => `schedule: every 1s\ntask: { type: command, command: ["true"] }\ndescription: good ${n}\n`;

test('a job whose text jsonb refuses runs, and so do the others of its tick', async (t) => {
  const cluster = await startCluster(t, () => ({ 'bad.json': badJob, 'good-1.yaml': goodJob(1), 'good-2.yaml': goodJob(2) }));
  const agent = await cluster.startAgent('agent-a');
  await pollUntil(async () => (await ledger(cluster.url, 'good-1')).filter((r) => r.state === 'succeeded').length >= 5, { timeoutMs: 20_000, what: 'five runs of good-1' });
  assert.equal(await agent.stop(), 0);
  for (const job of ['good-1', 'good-2', 'bad']) {
    const rows = await ledger(cluster.url, job);
    const states = [...new Set(rows.map((r) => r.state))];
    assert.ok(rows.filter((r) => r.state === 'succeeded').length >= 3, `${job}: ${rows.map((r) => r.state)}`);
    // On a loaded machine a run can outlast the second, and the next fire is skipped (overlap: skip): that is
    // the policy, not the fault. None failed, none was missed.
    assert.deepEqual(states.filter((s) => s !== 'succeeded' && s !== 'skipped'), [], `${job}: every fire ran (${states})`);
  }
  assert.ok(!agent.logs.some((l) => String(l.msg).startsWith('database unreachable')), 'a data error is not an outage');
  assert.deepEqual(agent.logs.filter((l) => Number(l.level) >= 50), [], 'no error line');
});
