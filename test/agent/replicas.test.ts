// Two agents on one database and one jobs.d: every fire runs exactly once, none is missed, and the
// survivor keeps firing when the other is killed.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir, ledger, startAgent, type LedgerRow } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const TICK = 'schedule: every 1s\ntimeout: 10s\ntask: { type: command, command: ["sh", "-c", "echo tick $JOBSD_FIRE_TIME"] }\n';

function seconds(rows: LedgerRow[]): number[] {
  return rows.map((r) => r.fire_time.getTime() / 1000);
}

function assertEverySecondOnce(rows: LedgerRow[], from: number, to: number): void {
  const fired = seconds(rows).filter((s) => s >= from && s <= to);
  const expected = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  assert.deepEqual(fired, expected, 'each second fired exactly once, none missed');
}

/** Two agents on a fresh database sharing a jobs.d (by default the every-second `tick` job); killed after the test. */
async function twoAgentsTicking(t: TestContext, label: string, files: Record<string, string> = { 'tick.yaml': TICK }) {
  const url = await freshDatabase(label);
  const dir = jobsDir(files);
  const a = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  const b = await startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: url });
  t.after(async () => {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
  });
  return { url, a, b };
}

test('two agents, a job every second for 15 s: every second fires exactly once and runs once', async (t) => {
  const { url, a, b } = await twoAgentsTicking(t, 'replicas');
  const start = Math.ceil(Date.now() / 1000) + 1;
  await pollUntil(async () => (await ledger(url, 'tick')).filter((r) => r.state === 'succeeded' && r.fire_time.getTime() / 1000 >= start + 15).length > 0, {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: '15 s of fires',
  });
  assert.equal(await a.stop(), 0, 'SIGTERM: exit 0');
  assert.equal(await b.stop(), 0);
  const rows = await ledger(url, 'tick');
  assertEverySecondOnce(rows, start, start + 15);
  const window = rows.filter((r) => r.fire_time.getTime() / 1000 >= start && r.fire_time.getTime() / 1000 <= start + 15);
  assert.ok(window.every((r) => r.state === 'succeeded' && r.attempts === 1), JSON.stringify(window.map((r) => [r.state, r.attempts])));
  const runs = [...a.logs, ...b.logs].filter((l) => l.msg === 'run succeeded' && l.job === 'tick');
  const perFire = new Map<string, number>();
  for (const l of runs) perFire.set(String(l.fire), (perFire.get(String(l.fire)) ?? 0) + 1);
  assert.ok([...perFire.values()].every((n) => n === 1), 'no fire ran twice');
  const lateness = [...a.logs, ...b.logs].filter((l) => l.msg === 'run started').map((l) => Number(l.lateness_ms)).sort((x, y) => x - y);
  t.diagnostic(`lateness ms p50 ${lateness[Math.floor(lateness.length / 2)]} p99 ${lateness[Math.floor(lateness.length * 0.99)]} over ${lateness.length} runs`);
});

test('one of two agents is SIGKILLed halfway: the survivor keeps firing, nothing is lost', async (t) => {
  const { url, a, b } = await twoAgentsTicking(t, 'sigkill');
  const start = Math.ceil(Date.now() / 1000) + 1;
  const firedUpTo = (s: number) => async () => (await ledger(url, 'tick')).some((r) => r.state === 'succeeded' && r.fire_time.getTime() / 1000 >= s);
  await pollUntil(firedUpTo(start + 5), { timeoutMs: 20_000, intervalMs: 250, what: 'first 5 s' });
  await a.stop('SIGKILL');
  await pollUntil(firedUpTo(start + 12), { timeoutMs: 20_000, intervalMs: 250, what: '7 s more on the survivor' });
  await b.stop();
  const rows = await ledger(url, 'tick');
  assertEverySecondOnce(rows, start, start + 12);
  const after = rows.filter((r) => r.fire_time.getTime() / 1000 >= start + 8 && r.fire_time.getTime() / 1000 <= start + 12);
  assert.ok(after.every((r) => r.instance === 'agent-b' && r.state === 'succeeded'), 'the survivor ran them');
});

test('overlap: allow, two agents: fires are queued ahead, each runs once, and none starts before its time', async (t) => {
  // The command prints the time it ran at: its process is spawned ahead, and must not run before the fire.
  const { url, a, b } = await twoAgentsTicking(t, 'replicas-ahead', { 'ahead.yaml': 'schedule: every 1s\noverlap: allow\ntask: { type: command, command: ["date", "+%s%N"] }\n' });
  const start = Math.ceil(Date.now() / 1000) + 1;
  await pollUntil(async () => (await ledger(url, 'ahead')).some((r) => r.state === 'succeeded' && r.fire_time.getTime() / 1000 >= start + 10), {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: '10 s of fires',
  });
  await a.stop();
  await b.stop();
  const rows = (await ledger(url, 'ahead')).filter((r) => r.fire_time.getTime() / 1000 >= start && r.fire_time.getTime() / 1000 <= start + 10);
  assertEverySecondOnce(rows, start, start + 10);
  assert.ok(rows.every((r) => r.state === 'succeeded' && r.attempts === 1), JSON.stringify(rows.map((r) => [r.state, r.attempts])));
  for (const r of rows) {
    assert.ok(r.started_at!.getTime() >= r.fire_time.getTime(), `the run of ${r.fire_time.toISOString()} started at ${r.started_at!.toISOString()}`);
    const ranAtMs = Number(BigInt(String((r.result!.details as { output_tail: string }).output_tail).trim()) / 1_000_000n);
    assert.ok(ranAtMs >= r.fire_time.getTime(), `the command of ${r.fire_time.toISOString()} ran at ${new Date(ranAtMs).toISOString()}`);
  }
  const spawned = [...a.logs, ...b.logs].filter((l) => l.msg === 'command started' && Date.parse(String(l.fire)) / 1000 >= start);
  assert.ok(spawned.length >= rows.length, `${spawned.length} command started lines for ${rows.length} runs`);
  assert.ok(spawned.filter((l) => l.spawned_ahead === true).length >= spawned.length / 2, 'processes spawned while their runs were held');
  const ahead = rows.filter((r) => r.enqueued_at!.getTime() < r.fire_time.getTime()).length;
  assert.ok(ahead >= rows.length / 2, `fires queued before their time: ${ahead} of ${rows.length}`);
  const started = [...a.logs, ...b.logs].filter((l) => l.msg === 'run started' && Date.parse(String(l.fire)) / 1000 >= start);
  assert.ok(started.every((l) => Number(l.lateness_ms) >= 0), 'a run claimed ahead is held until its time');
  const lateness = started.map((l) => Number(l.lateness_ms)).sort((x, y) => x - y);
  t.diagnostic(`lateness ms p50 ${lateness[Math.floor(lateness.length / 2)]} max ${lateness.at(-1)} over ${lateness.length} runs`);
});
