// @once with two agents started together, then both restarted: one run in total; a new key runs again.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const once = (key: string) => `schedule: "@once"\nidempotency_key: ${key}\ntask: { type: command, command: ["true"] }\n`;

test('@once runs once ever per (id, idempotency_key), across two agents and restarts', async (t) => {
  const url = await freshDatabase('once');
  const dir = jobsDir({ 'setup.yaml': once('v1'), 'clock.yaml': 'schedule: every 1s\ntask: { type: command, command: ["true"] }\n' });
  const started = () => Promise.all([startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url }), startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: url })]);
  const runs = (agents: { logs: Record<string, unknown>[] }[]) => agents.flatMap((a) => a.logs).filter((l) => l.msg === 'run succeeded' && l.job === 'setup').length;

  let agents = await started();
  t.after(() => Promise.all(agents.map((a) => a.stop('SIGKILL'))));
  await pollUntil(async () => (await ledger(url, 'setup')).some((r) => r.state === 'succeeded'), { timeoutMs: 10_000, what: 'the one run' });
  const clockAt = Date.now();
  await pollUntil(async () => (await ledger(url, 'clock')).filter((r) => r.fire_time.getTime() > clockAt).length >= 2, { timeoutMs: 10_000, what: 'time for a second run to show' });
  let total = runs(agents);
  // Its fire time is an identity (an instant before 2005): its lateness is counted from when it was queued.
  const start = agents.flatMap((a) => a.logs).find((l) => l.msg === 'run started' && l.job === 'setup');
  assert.ok(start && Number(start.lateness_ms) >= 0 && Number(start.lateness_ms) < 10_000, `lateness ${String(start?.lateness_ms)} ms`);
  await Promise.all(agents.map((a) => a.stop()));

  agents = await started();
  const restartedAt = Date.now();
  await pollUntil(async () => (await ledger(url, 'clock')).filter((r) => r.fire_time.getTime() > restartedAt).length >= 2, { timeoutMs: 10_000, what: 'the restarted agents running' });
  total += runs(agents);
  assert.equal(total, 1, 'one run in total');
  assert.equal((await ledger(url, 'setup')).length, 1);

  writeFileSync(path.join(dir, 'setup.yaml'), once('v2'));
  await pollUntil(async () => (await ledger(url, 'setup')).filter((r) => r.state === 'succeeded').length === 2, { timeoutMs: 10_000, what: 'a new key runs once more' });
  await Promise.all(agents.map((a) => a.stop()));
  assert.equal(runs(agents), 1);
});
