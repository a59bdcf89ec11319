// overlap: queue and replace across replicas: one agent fires (role scheduler), another runs (role
// worker), so every queue decision and every cancellation crosses from one process to the other.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir, ledger, startAgent, type LedgerRow } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

/** A scheduler and a worker on a fresh database, both killed when the test ends (if it has not stopped them). */
async function twoAgents(t: TestContext, files: Record<string, string>, label: string) {
  const url = await freshDatabase(label);
  const dir = jobsDir(files);
  const worker = await startAgent({ name: 'worker-b', jobsDir: dir, databaseUrl: url, args: ['--role', 'worker'] });
  const scheduler = await startAgent({ name: 'scheduler-a', jobsDir: dir, databaseUrl: url, args: ['--role', 'scheduler'] });
  t.after(() => Promise.all([scheduler.stop('SIGKILL'), worker.stop('SIGKILL')])); // a no-op for an agent already stopped
  return { url, scheduler, worker };
}

/**
 * Runs the files on two agents until `n` of `job`'s fires are recorded in `state`, then stops the
 * scheduler (no further fires); the worker is left to the test.
 */
async function runUntil(t: TestContext, files: Record<string, string>, label: string, job: string, state: string, n: number) {
  const agents = await twoAgents(t, files, label);
  await pollUntil(async () => (await ledger(agents.url, job)).filter((r) => r.state === state).length >= n, {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: `${n} runs of ${job} ${state}`,
  });
  await agents.scheduler.stop();
  return agents;
}

/** Every 2 s, each run longer than that: every fire has a run to replace. */
const REPLACE_LONG_RUNS = 'schedule: every 2s\noverlap: replace\nretry: { attempts: 2 }\ntask: { type: command, command: ["sleep", "30"], kill_grace: 1s }\n';
/** Every 2 s, each run a `date`: the previous run has long ended (and freed the job's slot) when the next fire is queued ahead. */
const REPLACE_SHORT_RUNS = 'schedule: every 2s\noverlap: replace\ntask: { type: command, command: ["date", "+%s%N"] }\n';

const relative = (rows: LedgerRow[]) => rows.map((r) => (r.fire_time.getTime() - rows[0]!.fire_time.getTime()) / 1000);

test('overlap queue: one waiting fire runs as soon as the active run ends; further fires are skipped', async (t) => {
  const { url, worker } = await runUntil(t, { 'q.yaml': 'schedule: every 2s\noverlap: queue\ntask: { type: command, command: ["sleep", "4.5"] }\n' }, 'queue', 'q', 'succeeded', 3);
  await worker.stop('SIGKILL');
  const rows = (await ledger(url, 'q')).slice(0, 6);
  assert.deepEqual(relative(rows), [0, 2, 4, 6, 8, 10]);
  // 0 runs 0–4.5; 2 waits and runs 4.5–9; 4 finds one waiting: skipped; 6 waits, runs 9–13.5; 8 skipped; 10 waits.
  assert.deepEqual(rows.map((r) => r.state).slice(0, 5), ['succeeded', 'succeeded', 'skipped', 'succeeded', 'skipped']);
  const ran = rows.filter((r) => r.started_at);
  for (let i = 1; i < ran.length; i++) {
    const gap = ran[i]!.started_at!.getTime() - ran[i - 1]!.finished_at!.getTime();
    assert.ok(gap >= 0 && gap < 1000, `the waiting fire starts as soon as the active run ends (gap ${gap} ms)`);
  }
  assert.ok(ran.every((r) => r.instance === 'worker-b'));
});

test('overlap replace: each fire cancels the active run on the other agent, its process group terminated, and runs', async (t) => {
  const { url, worker } = await runUntil(t, { 'r.yaml': REPLACE_LONG_RUNS }, 'replace', 'r', 'cancelled', 3);
  const rows = await ledger(url, 'r');
  const cancelled = rows.filter((r) => r.state === 'cancelled').slice(0, 3);
  for (const r of cancelled) {
    const next = rows.find((n) => n.fire_time.getTime() === r.fire_time.getTime() + 2000)!;
    assert.ok(next.started_at, 'the next fire ran');
    const cancelledAfter = r.finished_at!.getTime() - next.fire_time.getTime();
    // The whole ledger in the message: a failure seen once in a full run (14 s) could not be reproduced alone.
    const shown = rows.map((x) => [x.fire_time, x.state, x.started_at, x.finished_at, x.instance, x.attempts].map((v) => (v instanceof Date ? v.toISOString().slice(11, 23) : v)).join(' '));
    assert.ok(cancelledAfter >= 0 && cancelledAfter < 2500, `cancelled within the heartbeat refresh and kill grace of the new fire (${cancelledAfter} ms):\n${shown.join('\n')}`);
    assert.equal(r.attempts, 1, 'a replaced run is not retried');
    assert.match(String(r.result?.message), /replaced by a newer fire/);
  }
  const pids = worker.logs.filter((l) => l.msg === 'command started').map((l) => Number(l.pid));
  const { processAlive } = await import('../../src/workers/process-group.ts');
  const alive = (await Promise.all(pids.map((p) => processAlive(p)))).filter(Boolean).length;
  assert.ok(alive <= 1, `only the newest run's process may be left (${alive} alive)`);
  await worker.stop('SIGKILL');
});

test('overlap replace: with nothing to replace, a fire is queued ahead like any other and its process started at its time', async (t) => {
  const { url, worker } = await runUntil(t, { 'r.yaml': REPLACE_SHORT_RUNS }, 'replace-ahead', 'r', 'succeeded', 4);
  await worker.stop();
  // The first fire may come too soon after the start to be queued ahead.
  const runs = (await ledger(url, 'r')).filter((r) => r.state === 'succeeded').slice(1);
  for (const r of runs) {
    assert.ok(r.enqueued_at! < r.fire_time, `queued before its fire time (${r.fire_time.toISOString()} queued ${r.enqueued_at!.toISOString()})`);
    const ranAtMs = Number(BigInt(String((r.result!.details as { output_tail: string }).output_tail).trim()) / 1_000_000n);
    assert.ok(ranAtMs >= r.fire_time.getTime(), `the command did not run before its fire time (${ranAtMs - r.fire_time.getTime()} ms)`);
  }
  assert.equal((await ledger(url, 'r')).filter((r) => r.state === 'cancelled').length, 0, 'nothing was replaced');
});
