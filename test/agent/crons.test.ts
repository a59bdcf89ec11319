// Several crons per job, end to end: two agents on one database fire a job at the union of its
// expressions, each instant once, and `jobsd next` names the expressions of each fire.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const JOB = 'schedule:\n  cron: ["*/2 * * * * *", "*/3 * * * * *"]\noverlap: allow\ntimeout: 10s\ntask: { type: command, command: ["true"] }\n';

test('two crons, two agents: the job fires at the union of the expressions, each instant once', async (t) => {
  const url = await freshDatabase('crons');
  const dir = jobsDir({ 'both.yaml': JOB });
  const a = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  const b = await startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: url });
  t.after(async () => {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
  });
  const start = Math.ceil(Date.now() / 1000) + 1;
  const end = start + 12;
  await pollUntil(async () => (await ledger(url, 'both')).some((r) => r.state === 'succeeded' && r.fire_time.getTime() / 1000 >= end), {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: '12 s of fires',
  });
  await a.stop();
  await b.stop();
  const rows = (await ledger(url, 'both')).filter((r) => r.fire_time.getTime() / 1000 >= start && r.fire_time.getTime() / 1000 <= end);
  const expected: number[] = [];
  for (let s = start; s <= end; s++) if ((s % 60) % 2 === 0 || (s % 60) % 3 === 0) expected.push(s);
  assert.deepEqual(rows.map((r) => r.fire_time.getTime() / 1000), expected, 'the union, each second once');
  assert.ok(rows.every((r) => r.state === 'succeeded' && r.attempts === 1), JSON.stringify(rows.map((r) => r.state)));
  const runs = [...a.logs, ...b.logs].filter((l) => l.msg === 'run succeeded' && l.job === 'both');
  const perFire = new Map<string, number>();
  for (const l of runs) perFire.set(String(l.fire), (perFire.get(String(l.fire)) ?? 0) + 1);
  assert.ok([...perFire.values()].every((n) => n === 1), 'no fire ran twice');
});

test('next on a job file with two crons shows which expressions each fire comes from, as text and JSON', async () => {
  const dir = jobsDir({ 'two.yaml': 'schedule:\n  cron: ["0 12 * * *", "0 */6 * * *"]\n  timezone: Europe/Berlin\ntask: { type: command, command: ["true"] }\n' });
  const json = await runCli(['next', `${dir}/two.yaml`, '--from', '2026-11-23T00:00:00Z', '--count', '3', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), [
    { fire: '2026-11-23T05:00:00.000Z', crons: ['0 */6 * * *'] },
    { fire: '2026-11-23T11:00:00.000Z', crons: ['0 12 * * *', '0 */6 * * *'] },
    { fire: '2026-11-23T17:00:00.000Z', crons: ['0 */6 * * *'] },
  ]);
  const text = await runCli(['next', `${dir}/two.yaml`, '--from', '2026-11-23T00:00:00Z', '--count', '3']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Schedule: crons "0 12 \* \* \*", "0 \*\/6 \* \* \*" in Europe\/Berlin/);
  assert.match(text.stdout, /2 +Mon 2026-11-23 12:00:00 \+01:00 .* 2026-11-23T11:00:00\.000Z +0 12 \* \* \*, 0 \*\/6 \* \* \*/);
});

test('next --cron given twice is the union; a bad one is located; validate names the list index', async () => {
  const r = await runCli(['next', '--cron', '0 9 * * *', '--cron', '30 9 * * *', '--from', '2026-11-23T00:00:00Z', '--count', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [
    { fire: '2026-11-23T09:00:00.000Z', crons: ['0 9 * * *'] },
    { fire: '2026-11-23T09:30:00.000Z', crons: ['30 9 * * *'] },
  ]);
  const bad = await runCli(['next', '--cron', '0 9 * * *', '--cron', '0 25 * * *']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--cron: "0 25 \* \* \*": hour must be 0-23/);
  const dir = jobsDir({ 'bad.yaml': 'schedule:\n  cron:\n    - "0 9 * * *"\n    - "0 9 * *"\ntask: { type: command, command: ["true"] }\n' });
  const v = await runCli(['validate', `${dir}/bad.yaml`]);
  assert.equal(v.code, 1);
  assert.match(v.stderr + v.stdout, /bad\.yaml:4:7: schedule\.cron\[1\]: "0 9 \* \*": expected 5 fields/);
});
