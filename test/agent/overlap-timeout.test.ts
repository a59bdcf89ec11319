// Overlap `skip` across two agents, and a run past its timeout: killed with its children, retried, recorded.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { processAlive } from '../../src/workers/process-group.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { HOURLY, jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

test('overlap skip across two agents: a 2.5 s job firing every second never overlaps; the rest is skipped', async (t) => {
  const url = await freshDatabase('overlap');
  const dir = jobsDir({ 'slow.yaml': 'schedule: every 1s\noverlap: skip\ntask: { type: command, command: ["sleep", "2.5"] }\n' });
  const a = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  const b = await startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: url });
  t.after(async () => {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
  });
  await pollUntil(async () => (await ledger(url, 'slow')).filter((r) => r.state === 'succeeded').length >= 3, { timeoutMs: 30_000, intervalMs: 250, what: '3 runs' });
  await Promise.all([a.stop(), b.stop()]);
  const rows = await ledger(url, 'slow');
  const runs = rows.filter((r) => r.started_at !== null).sort((x, y) => x.started_at!.getTime() - y.started_at!.getTime());
  for (let i = 1; i < runs.length; i++) {
    assert.ok(runs[i]!.started_at!.getTime() >= runs[i - 1]!.finished_at!.getTime(), `run ${i} started before run ${i - 1} finished`);
  }
  assert.ok(new Set(runs.map((r) => r.instance)).size >= 1);
  const skipped = rows.filter((r) => r.state === 'skipped');
  assert.ok(skipped.length >= 4, `fires during runs are recorded skipped (${skipped.length})`);
  assert.ok(skipped.every((r) => r.result?.status === 'skipped' && r.started_at === null));
});

test('a command past its timeout is killed with its children, retried per its policy, and recorded timed_out', async (t) => {
  const url = await freshDatabase('timeout');
  const dir = jobsDir();
  const pids = path.join(dir, 'pids');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    path.join(dir, 'stuck.yaml'),
    `${HOURLY}\ntimeout: 1s\nretry: { attempts: 1, delay: 1s, backoff: 1 }\ntask:\n  type: command\n  kill_grace: 1s\n  command: "sleep 30 & echo $! >> ${pids}; wait"\n`,
  );
  const a = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  t.after(() => a.stop('SIGKILL'));
  const started = Date.now();
  const run = await runCli(['run', 'stuck', '--wait', '--json', '--jobs-dir', dir, '--database-url', url]);
  assert.equal(run.code, 1, run.stderr);
  const result = JSON.parse(run.stdout) as { status: string; attempt: number };
  assert.equal(result.status, 'timed_out');
  assert.equal(result.attempt, 2, 'the retry ran');
  assert.ok(Date.now() - started < 15_000, 'the retry ran on time, not at the next 30 s poll');
  const [row] = (await ledger(url, 'stuck')).filter((r) => r.manual);
  assert.equal(row?.state, 'timed_out');
  assert.equal(row?.attempts, 2);
  const grandchildren = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  assert.equal(grandchildren.length, 2);
  for (const pid of grandchildren) assert.equal(await processAlive(pid), false, `grandchild ${pid} is gone`);
  assert.equal(await a.stop(), 0);
});

test('a finished run frees its overlap slot at once, even when a slow run was fetched in the same batch', async (t) => {
  const url = await freshDatabase('batch');
  const dir = jobsDir({
    'quick.yaml': 'schedule: every 2s\ntask: { type: command, command: ["true"] }\n',
    'slow.yaml': 'schedule: every 2s\ntask: { type: command, command: ["sleep", "30"] }\n',
  });
  const a = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  t.after(() => a.stop('SIGKILL'));
  await pollUntil(async () => (await ledger(url, 'quick')).length >= 5, { timeoutMs: 20_000, intervalMs: 250, what: 'five quick fires' });
  const quick = (await ledger(url, 'quick')).slice(0, 4);
  assert.deepEqual(quick.map((r) => r.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded'], 'no quick fire skipped because of the slow one');
  const slow = await ledger(url, 'slow');
  assert.ok(slow.slice(1, 4).every((r) => r.state === 'skipped'), 'the slow job itself skips while it runs');
});
