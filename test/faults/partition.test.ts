// An agent cut off from PostgreSQL by a relay that stops forwarding without closing (packets dropped, not
// refused), then healed. Its `overlap: skip` run is stopped before its lease lapses; another agent starts
// the job's next run only after that; the ledger ends agreeing with what the commands did.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ledger } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';
import { awaitMark, markingJob, startCluster } from './cluster.ts';
import { completedTwice, executions, ledgerDisagreements, overlaps } from './checker.ts';

test('a partitioned agent stops its run before another agent starts the next one', async (t) => {
  const cluster = await startCluster(t, (marks) => ({
    'cut.yaml': markingJob(marks, 40, 'schedule: every 5s\noverlap: skip\nlease: 10s'),
  }));
  const a = await cluster.startAgent('agent-a');
  const first = await awaitMark(cluster, (m) => m.kind === 'start' && m.instance === 'agent-a', 'a run on agent-a', 20_000);
  await cluster.startAgent('agent-b');
  a.relay.state.silent = true;
  const cutAt = Date.now();
  const next = await awaitMark(cluster, (m) => m.kind === 'start' && m.instance === 'agent-b', 'the next run on agent-b', 90_000);
  const takeoverMs = Date.now() - cutAt;
  // Two seconds into the next run: a command of agent-a's still running would have ticked ten times by now.
  await pollUntil(() => cluster.marks().filter((m) => m.kind === 'tick' && m.instance === 'agent-b').length >= 10, { timeoutMs: 20_000, what: 'ten ticks of the next run' });
  a.relay.state.silent = false;
  const stopped = executions(cluster.marks()).find((r) => r.instance === 'agent-a' && r.fire === first.fire)!;
  assert.ok(!stopped.ended, 'the cut-off run was stopped, not finished');
  assert.ok(stopped.lastMs < next.ms, `stopped (${new Date(stopped.lastMs).toISOString()}) before the next run started (${new Date(next.ms).toISOString()})`);
  assert.deepEqual(overlaps(cluster.marks(), 'cut'), []);
  // Healed: agent-a writes what it knows; nothing stays running, and the ledger agrees with the marks.
  await pollUntil(async () => {
    const rows = await ledger(cluster.url, 'cut');
    return rows.find((r) => r.fire_time.toISOString() === first.fire)?.state === 'failed';
  }, { timeoutMs: 60_000, intervalMs: 250, what: "the cut-off run's end in the ledger" });
  // The cut-off run and the fires before it (the next run is still going).
  const rows = (await ledger(cluster.url, 'cut')).filter((r) => r.state !== 'skipped' && r.fire_time.getTime() <= Date.parse(first.fire));
  const marks = cluster.marks().filter((m) => Date.parse(m.fire) <= Date.parse(first.fire));
  assert.deepEqual(completedTwice(marks), []);
  assert.deepEqual(ledgerDisagreements(marks, rows), []);
  t.diagnostic(`next run started ${takeoverMs} ms after the cut (lease 10 s)`);
});
