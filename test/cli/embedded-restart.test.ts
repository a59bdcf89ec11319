// The agent that started the embedded PostgreSQL restarts it when it dies, and catches up.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

test('the embedded PostgreSQL killed under a running agent is restarted, and the agent is ready and running jobs again', async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'jobsd-pg-restart-'));
  chmodSync(work, 0o755); // as root, the postgres user must reach it
  const dataDir = path.join(work, 'data');
  const dir = jobsDir({ 'tick.yaml': 'schedule: every 1s\ntask: { type: command, command: ["true"] }\n' });
  const port = await freePort();
  const agent = await startAgent({ name: 'pg-restart', jobsDir: dir, args: ['--data-dir', dataDir, '--http', `127.0.0.1:${port}`] });
  t.after(() => agent.stop('SIGKILL'));
  const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  await pollUntil(ready, { timeoutMs: 10_000, what: 'ready' });

  const postmaster = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(postmaster, 'SIGKILL');
  await pollUntil(() => agent.logs.some((l) => /^embedded PostgreSQL exited \(SIGKILL/.test(String(l.msg))), { timeoutMs: 5_000, what: 'the death logged' });
  await pollUntil(() => agent.logs.some((l) => /^embedded PostgreSQL restarted/.test(String(l.msg))), { timeoutMs: 60_000, intervalMs: 200, what: 'restarted' });
  const restartedAt = Date.now();
  await pollUntil(ready, { timeoutMs: 30_000, intervalMs: 200, what: 'ready again' });
  await pollUntil(() => agent.logs.some((l) => l.msg === 'database reachable again: catching up'), { timeoutMs: 10_000, what: 'the catch-up' });
  // Runs of fires after the restart succeed (the ones of the gap are caught up by the catch-up policy).
  await pollUntil(
    () => agent.logs.some((l) => l.msg === 'run succeeded' && l.job === 'tick' && Date.parse(String(l.fire)) > restartedAt),
    { timeoutMs: 15_000, intervalMs: 200, what: 'a run after the restart' },
  );
  const stopped = agent.stop();
  assert.equal(await stopped, 0, agent.stderr());
});
