// An agent paused (SIGSTOP of its process alone: a stopped container, a VM migration, a long GC pause)
// for longer than the lease, then resumed. Another agent takes its run over once the lease has lapsed;
// the paused agent must not start the attempt it held, and its command must not go on running.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pollUntil } from '../helpers/poll.ts';
import { awaitCompleted, awaitMark, markingJob, startCluster } from './cluster.ts';
import { attemptsStartedTwice, completedTwice, ledgerDisagreements, overlaps } from './checker.ts';

const LEASE = 'lease: 10s\nretry: { attempts: 1, delay: 1s }';
const PAUSE_MS = 25_000;

/** A one-time fire a few seconds from now, on a whole second. */
function soon(): number {
  return Math.ceil((Date.now() + 4_000) / 1000) * 1000;
}

test('a paused agent does not start the attempt it held once its lease has lapsed', async (t) => {
  const cluster = await startCluster(t, () => ({}));
  const a = await cluster.startAgent('agent-a');
  // Dropped in once the agent runs (a start under load can take seconds): due a few seconds later.
  const at = soon();
  writeFileSync(path.join(cluster.dir, 'held.yaml'), markingJob(cluster.marksFile, 1, `schedule: { at: "${new Date(at).toISOString()}" }\n${LEASE}`));
  // Claimed ahead (up to 850 ms before its time for a command) and held until due: pause it then.
  await pollUntil(async () => (await cluster.query<{ state: string }>("SELECT state::text FROM pgboss.job WHERE data->>'jobId' = 'held'"))[0]?.state === 'active', { timeoutMs: 15_000, intervalMs: 10, what: 'the fire claimed ahead by agent-a' });
  assert.ok(Date.now() < at, 'paused before the fire was due');
  a.child.kill('SIGSTOP');
  const pausedAt = Date.now();
  await cluster.startAgent('agent-b');
  await cluster.startAgent('agent-c');
  await awaitMark(cluster, (m) => m.kind === 'end' && m.instance !== 'agent-a', 'the run taken over by another agent', PAUSE_MS + 30_000);
  await pollUntil(() => Date.now() >= pausedAt + PAUSE_MS, { timeoutMs: PAUSE_MS + 60_000, intervalMs: 100, what: 'the pause' });
  a.child.kill('SIGCONT');
  // Its overdue timers run before it handles SIGTERM, and its drain waits for any run it started: once it
  // has exited, whatever it was going to do with its held attempt is in the marks.
  assert.equal(await a.stop('SIGTERM'), 0);
  const rows = await awaitCompleted(cluster, 'held');
  const marks = cluster.marks();
  assert.deepEqual(marks.filter((m) => m.instance === 'agent-a' && m.kind === 'start'), [], 'agent-a did not start its attempt');
  assert.deepEqual(completedTwice(marks), []);
  assert.deepEqual(attemptsStartedTwice(marks), []);
  assert.deepEqual(ledgerDisagreements(marks, rows), []);
});

test("a paused agent's command is stopped by the watchdog before another agent takes the run over", async (t) => {
  const cluster = await startCluster(t, () => ({}));
  const a = await cluster.startAgent('agent-a');
  const at = soon();
  writeFileSync(path.join(cluster.dir, 'long.yaml'), markingJob(cluster.marksFile, 40, `schedule: { at: "${new Date(at).toISOString()}" }\n${LEASE}`));
  await awaitMark(cluster, (m) => m.kind === 'start' && m.instance === 'agent-a', 'the run on agent-a', 20_000);
  a.child.kill('SIGSTOP');
  const pausedAt = Date.now();
  await cluster.startAgent('agent-b');
  await awaitMark(cluster, (m) => m.kind === 'start' && m.instance !== 'agent-a', 'the run taken over by agent-b', 60_000);
  const takeoverMs = Date.now() - pausedAt;
  // Two seconds into the takeover: a command of agent-a's still running would have ticked ten times by now.
  await pollUntil(() => cluster.marks().filter((m) => m.kind === 'tick' && m.instance !== 'agent-a').length >= 10, { timeoutMs: 20_000, what: 'ten ticks of the takeover' });
  const marks = cluster.marks();
  await pollUntil(() => Date.now() >= pausedAt + PAUSE_MS, { timeoutMs: PAUSE_MS + 60_000, intervalMs: 100, what: 'the pause' });
  a.child.kill('SIGCONT');
  assert.deepEqual(overlaps(marks, 'long'), [], 'the paused agent\'s command had stopped before the takeover');
  t.diagnostic(`takeover ${takeoverMs} ms after the pause (lease 10 s)`);
});
