// Hot reload as operators do it, against a running agent: add, edit by temp-file-and-rename, a broken
// edit (the last good version keeps firing, the error shows in `jobsd status`), delete, and a
// Kubernetes ConfigMap-style `..data` symlink swap.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { HOURLY, jobsDir, ledger, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { loadFileWithDefaults } from '../../src/definitions/directory.ts';
import { claimableAt, enqueueLeadMs } from '../../src/queue/ahead.ts';
import { pollUntil } from '../helpers/poll.ts';

const job = (seconds: number) => `schedule: every ${seconds}s\ntask: { type: command, command: ["true"] }\n`;

/** Writes like Ansible and most editors: a temporary file, then an atomic rename over the target. */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/**
 * How long before its time a fire of the job `text` may be claimed (its process spawned, held until due):
 * within it, an edit no longer takes the fire back. Read from the job as the agent loads it.
 */
function claimWindowMs(text: string): number {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'jobsd-window-')), 'job.yaml');
  writeFileSync(file, text);
  const loaded = loadFileWithDefaults(file, { env: {}, defaultTimezone: 'UTC' });
  rmSync(path.dirname(file), { recursive: true });
  assert.ok(loaded.ok, 'the job loads');
  const dueAtMs = Date.now();
  return dueAtMs - claimableAt({ definition: loaded.definition, dueAtMs, leadMs: enqueueLeadMs(loaded.definition, dueAtMs) });
}

/** How long the recall of a fire queued ahead may take after the agent logs the change (a database round trip). */
const RECALL_MS = 100;

function logged(agent: AgentProcess, msg: string, jobId: string, after: number): Promise<Record<string, unknown>> {
  return pollUntil(() => agent.logs.find((l) => l.msg === msg && l.job === jobId && Date.parse(String(l.time)) >= after), {
    timeoutMs: 10_000,
    what: `${msg} ${jobId}`,
  });
}

async function firesAfter(url: string, id: string, after: number): Promise<number[]> {
  return (await ledger(url, id)).map((r) => r.fire_time.getTime()).filter((t) => t > after);
}

test('add, edit by rename, broken edit, delete: each is live within a second, the last good version keeps firing', async (t) => {
  const url = await freshDatabase('reload');
  const dir = jobsDir({ 'clock.yaml': job(1) });
  const agent = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  t.after(() => agent.stop('SIGKILL'));
  const file = path.join(dir, 'pulse.yaml');
  const latencies: number[] = [];

  let at = Date.now();
  replaceFile(file, job(1));
  latencies.push(Date.parse(String((await logged(agent, 'job added', 'pulse', at)).time)) - at);
  await pollUntil(async () => (await firesAfter(url, 'pulse', at)).length >= 2, { timeoutMs: 10_000, what: 'pulse fires' });

  at = Date.now();
  replaceFile(file, job(3));
  const changedLogAt = Date.parse(String((await logged(agent, 'job changed', 'pulse', at)).time));
  latencies.push(changedLogAt - at);
  // A fire claimed before the change still runs: one due within its claim window of the change, or
  // claimed while the recall (a round trip after the log line) was on its way.
  const changedAt = changedLogAt + claimWindowMs(job(1)) + RECALL_MS;
  await pollUntil(async () => (await firesAfter(url, 'pulse', changedAt)).length >= 2, { timeoutMs: 15_000, what: 'fires on the new schedule' });
  const offSchedule = (await firesAfter(url, 'pulse', changedAt)).filter((ms) => ms % 3000 !== 0);
  assert.deepEqual(offSchedule.map((ms) => `${ms - changedLogAt} ms after the change`), [], 'every 3 s now');

  at = Date.now();
  replaceFile(file, 'schedule: every 3s\ntask: { type: command, comand: ["true"] }\n');
  await pollUntil(() => agent.logs.find((l) => l.file === file && l.field === 'task.comand'), { what: 'the error logged' });
  const status = await runCli(['status', '--database-url', url]);
  assert.equal(status.code, 0, status.stderr);
  await pollUntil(async () => (await runCli(['status', '--json', '--database-url', url])).stdout.includes('task.comand'), { timeoutMs: 5_000, intervalMs: 250, what: 'the error in jobsd status' });
  const brokenAt = Date.now();
  await pollUntil(async () => (await firesAfter(url, 'pulse', brokenAt)).length >= 1, { timeoutMs: 10_000, what: 'the last good version still firing' });

  at = Date.now();
  rmSync(file);
  const removedAt = Date.parse(String((await logged(agent, 'job removed', 'pulse', at)).time));
  const clockFrom = Date.now();
  await pollUntil(async () => (await firesAfter(url, 'clock', clockFrom)).length >= 4, { timeoutMs: 10_000, what: 'the clock job keeps going' });
  // A fire a worker has already claimed (its process spawned, waiting for its time) still runs.
  assert.deepEqual(await firesAfter(url, 'pulse', removedAt + claimWindowMs(job(3)) + RECALL_MS), [], 'no fires after the delete');
  t.diagnostic(`file write → job live: ${latencies.join(' ms, ')} ms`);
  assert.equal(await agent.stop(), 0);
});

test('a ConfigMap-style ..data symlink swap reloads the changed jobs and removes the dropped ones', async (t) => {
  const url = await freshDatabase('configmap');
  const dir = jobsDir();
  const version = (name: string, files: Record<string, string>) => {
    mkdirSync(path.join(dir, name));
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, name, f), text);
  };
  version('..2026_11_23_10_00_00.1', { 'a.yaml': job(1), 'b.yaml': job(1) });
  symlinkSync('..2026_11_23_10_00_00.1', path.join(dir, '..data'));
  symlinkSync('..data/a.yaml', path.join(dir, 'a.yaml'));
  symlinkSync('..data/b.yaml', path.join(dir, 'b.yaml'));
  const agent = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  t.after(() => agent.stop('SIGKILL'));
  assert.ok(agent.logs.some((l) => l.msg === 'job added' && l.job === 'a'));

  // What the kubelet does: a new timestamped directory, an atomic rename of ..data, the old one removed.
  const at = Date.now();
  version('..2026_11_23_10_05_00.2', { 'a.yaml': job(2) });
  symlinkSync('..2026_11_23_10_05_00.2', path.join(dir, '..data_tmp'));
  renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  rmSync(path.join(dir, '..2026_11_23_10_00_00.1'), { recursive: true });
  rmSync(path.join(dir, 'b.yaml'));
  const changedAt = Date.parse(String((await logged(agent, 'job changed', 'a', at)).time));
  await logged(agent, 'job removed', 'b', at);
  // A fire already claimed when the change arrived (its process spawned, waiting for its time) still runs.
  const swappedAt = changedAt + claimWindowMs(job(1)) + RECALL_MS;
  await pollUntil(async () => (await firesAfter(url, 'a', swappedAt)).length >= 2, { timeoutMs: 10_000, what: 'a on its new schedule' });
  assert.deepEqual((await firesAfter(url, 'a', swappedAt)).filter((ms) => ms % 2000 !== 0), [], 'fires of the old schedule after the change');
});

test('removing a job cancels its queued runs and pending retries', async (t) => {
  const url = await freshDatabase('remove');
  const dir = jobsDir({ 'flaky.yaml': `${HOURLY}\nretry: { attempts: 3, delay: 5m }\ntask: { type: command, command: ["false"] }\n` });
  const agent = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  t.after(() => agent.stop('SIGKILL'));
  const queued = await runCli(['run', 'flaky', '--jobs-dir', dir, '--database-url', url]);
  assert.equal(queued.code, 0, queued.stderr);
  await pollUntil(async () => (await ledger(url, 'flaky')).some((r) => r.state === 'queued' && r.attempts === 1), { timeoutMs: 10_000, what: 'the first attempt failed, a retry pending' });
  rmSync(path.join(dir, 'flaky.yaml'));
  const [row] = await pollUntil(async () => {
    const rows = await ledger(url, 'flaky');
    return rows[0]?.state === 'cancelled' ? rows : undefined;
  }, { timeoutMs: 10_000, what: 'the pending retry cancelled' });
  assert.match(String(row!.result?.message), /the job was removed/);
  assert.equal(await agent.stop(), 0);
});
