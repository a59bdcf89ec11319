// One fire that cannot be written fails alone: the other fires of its batch are enqueued, the agent does
// not take a data error for an outage, and the log names the job.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ledger } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startCluster } from './cluster.ts';

// A lone UTF-16 surrogate: valid JSON, valid for the loader, refused by PostgreSQL's jsonb.
const badJob = JSON.stringify({ description: 'bad \ud800 text', schedule: 'every 1s', task: { type: 'command', command: ['true'] } });
const goodJob = (n: number) => `schedule: every 1s\ntask: { type: command, command: ["true"] }\ndescription: good ${n}\n`;

test('a fire whose row cannot be written fails alone; the others of its tick are enqueued', async (t) => {
  const cluster = await startCluster(t, () => ({ 'bad.json': badJob, 'good-1.yaml': goodJob(1), 'good-2.yaml': goodJob(2) }));
  const agent = await cluster.startAgent('agent-a');
  await pollUntil(async () => (await ledger(cluster.url, 'good-1')).filter((r) => r.state === 'succeeded').length >= 5, { timeoutMs: 20_000, what: 'five runs of good-1' });
  assert.equal(await agent.stop(), 0);
  for (const job of ['good-1', 'good-2']) {
    const rows = await ledger(cluster.url, job);
    const states = [...new Set(rows.map((r) => r.state))];
    assert.deepEqual(states.filter((s) => s !== 'succeeded'), [], `${job}: every fire ran (${states})`);
  }
  assert.ok(!agent.logs.some((l) => String(l.msg).startsWith('database unreachable')), 'a data error is not an outage');
  const failure = agent.logs.find((l) => l.job === 'bad' && Number(l.level) >= 50);
  assert.ok(failure, `an error line names the job: ${JSON.stringify(agent.logs.filter((l) => Number(l.level) >= 40).slice(0, 3))}`);
  const bad = await ledger(cluster.url, 'bad');
  assert.ok(bad.length > 0 && bad.every((r) => r.state === 'failed'), `the bad job's fires are recorded failed: ${bad.map((r) => r.state)}`);
});
