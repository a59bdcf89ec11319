// A replica that starts while another waits out a fire's jitter: the fire's nominal time has passed,
// its due time has not. The newcomer must not take it for a missed fire; it runs once, when due.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { jitterDelay } from '../../src/schedule/jitter.ts';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const PERIOD_MS = 20_000;
const JITTER_MS = 19_000;
const JOBS = Array.from({ length: 8 }, (_, i) => `jit-${i}`);

test('a replica started between a fire and its jittered due time leaves the fire to run once, when due', async (t) => {
  const url = await freshDatabase('jitter_start');
  const marks = jobsDir();
  const files: Record<string, string> = {};
  for (const id of JOBS) {
    // Each run writes its own mark: the fire it belongs to, and when it started.
    files[`${id}.yaml`] =
      `schedule: { every: 20s, jitter: 19s }\n` +
      `task: { type: command, command: ["sh", "-c", 'echo "$JOBSD_FIRE_TIME $(date +%s%3N)" >> "${marks}/$JOBSD_JOB_ID"'] }\n`;
  }
  const dir = jobsDir(files);
  const first = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  t.after(() => first.stop('SIGKILL'));

  // Each job has a recorded fire (a job with none is scheduled from now, with nothing to catch up).
  await pollUntil(async () => (await Promise.all(JOBS.map((id) => ledger(url, id)))).every((rows) => rows.length > 0), { timeoutMs: 2 * PERIOD_MS + 5000, intervalMs: 200, what: 'a fire of each job recorded' });
  // The second replica starts a little after a fire's nominal time, while most jobs still wait out their jitter.
  await pollUntil(() => Date.now() % PERIOD_MS > 500 && Date.now() % PERIOD_MS < 1500, { timeoutMs: PERIOD_MS + 1000, intervalMs: 20, what: 'just after a period boundary' });
  const second = await startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: url });
  t.after(() => second.stop('SIGKILL'));
  const caughtUpTo = Date.parse(String(second.logs.find((l) => l.msg === 'jobsd started')?.caught_up_to));
  const fire = Math.floor(caughtUpTo / PERIOD_MS) * PERIOD_MS;
  // The jobs whose fire at `fire` was still waiting out its jitter when the second replica caught up.
  const waiting = JOBS.filter((id) => fire + jitterDelay(id, fire, JITTER_MS) > caughtUpTo + 500);
  assert.ok(waiting.length >= 2, `jobs waiting out their jitter: ${waiting.join(', ')}`);
  const lastDue = Math.max(...waiting.map((id) => fire + jitterDelay(id, fire, JITTER_MS)));

  const fireIso = new Date(fire).toISOString();
  const marksOf = (id: string) => {
    try {
      return readFileSync(path.join(marks, id), 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  await pollUntil(() => waiting.every((id) => marksOf(id).some((m) => m.startsWith(fireIso))), { timeoutMs: lastDue - Date.now() + 10_000, intervalMs: 100, what: `each waiting fire at ${fireIso} ran` }).catch(async (error: Error) => {
    const states = await Promise.all(waiting.map(async (id) => `${id}: ${(await ledger(url, id)).filter((r) => r.fire_time.getTime() === fire).map((r) => `${r.state} ${JSON.stringify(r.result?.message ?? '')}`).join(' ')}`));
    throw new Error(`${error.message}; ledger: ${states.join('; ')}`);
  });
  for (const id of waiting) {
    const [mark] = marksOf(id).filter((m) => m.startsWith(fireIso));
    const startedMs = Number(mark!.split(' ')[1]);
    const dueMs = fire + jitterDelay(id, fire, JITTER_MS);
    assert.ok(startedMs >= dueMs - 200, `${id} started at its due time, not before (${startedMs - dueMs} ms)`);
  }
  assert.equal(await first.stop(), 0);
  assert.equal(await second.stop(), 0);
  // No fire ran twice, on either replica.
  for (const name of readdirSync(marks)) {
    const fires = marksOf(name).map((m) => m.split(' ')[0]);
    assert.equal(new Set(fires).size, fires.length, `${name}: ${fires.join(', ')}`);
  }
});
