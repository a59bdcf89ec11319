// SIGKILL of one agent's process only, as after a real crash (its process group lives on: the lease
// watchdog among it). Its command dies with it, the run is retried on another agent once the lease has
// lapsed, and the fire completes exactly once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { HOURLY } from '../helpers/agent.ts';
import { awaitCompleted, awaitMark, markingJob, startCluster } from './cluster.ts';
import { completedTwice, executions, ledgerDisagreements, overlaps } from './checker.ts';

test('a SIGKILLed agent: its command dies with it, the retry runs elsewhere once, after the lease', async (t) => {
  const cluster = await startCluster(t, (marks) => ({
    'crash.yaml': markingJob(marks, 4, `${HOURLY}\nlease: 10s\nretry: { attempts: 1, delay: 1s }`),
  }));
  const a = await cluster.startAgent('agent-a', ['--role', 'worker']);
  const queued = await runCli(['run', 'crash', '--jobs-dir', cluster.dir, '--database-url', cluster.url]);
  assert.equal(queued.code, 0, queued.stderr);
  await awaitMark(cluster, (m) => m.kind === 'start' && m.instance === 'agent-a', 'the run on agent-a');
  await cluster.startAgent('agent-b');
  await cluster.startAgent('agent-c');
  const killedAt = Date.now();
  process.kill(a.child.pid!, 'SIGKILL');
  const retry = await awaitMark(cluster, (m) => m.kind === 'start' && m.instance !== 'agent-a', 'the retry elsewhere', 60_000);
  const [row] = await awaitCompleted(cluster, 'crash', 60_000);
  const marks = cluster.marks();
  const killed = executions(marks).find((r) => r.instance === 'agent-a')!;
  assert.ok(!killed.ended && killed.lastMs < killedAt + 1_000, 'the command died with its agent');
  assert.ok(retry.ms - killedAt >= 10_000, `not taken over before the lease lapsed (${retry.ms - killedAt} ms)`);
  assert.deepEqual(overlaps(marks, 'crash'), []);
  assert.deepEqual(completedTwice(marks), []);
  assert.equal(row!.attempts, 2);
  assert.deepEqual(ledgerDisagreements(marks, [row!]), []);
  t.diagnostic(`retry started ${retry.ms - killedAt} ms after the SIGKILL (lease 10 s)`);
});
