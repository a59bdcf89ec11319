// Catch-up after downtime: stop every agent across several fires, start one, check which missed fires ran.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir, ledger, startAgent, type LedgerRow } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const job = (policy: string) => `schedule: { every: 2s, catchup: ${policy}, catchup_window: 1h }\ntask: { type: command, command: ["true"] }\n`;
const at = (r: LedgerRow) => r.fire_time.getTime();

test('catch-up after downtime: skip runs none, latest runs the newest once, all runs each, oldest first', async (t) => {
  const url = await freshDatabase('catchup');
  const dir = jobsDir({ 'c-skip.yaml': job('skip'), 'c-latest.yaml': job('latest'), 'c-all.yaml': job('all') });
  const first = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  t.after(() => first.stop('SIGKILL'));
  const ids = ['c-skip', 'c-latest', 'c-all'];
  await pollUntil(async () => (await Promise.all(ids.map((id) => ledger(url, id)))).every((rows) => rows.some((r) => r.state === 'succeeded')), {
    timeoutMs: 15_000,
    what: 'one run of each job',
  });
  assert.equal(await first.stop(), 0);
  const stoppedAt = Date.now();
  const lastBefore = new Map(await Promise.all(ids.map(async (id) => [id, Math.max(...(await ledger(url, id)).map(at))] as const)));
  // Downtime: the scenario itself is time passing with no agent, long enough for three fires.
  await pollUntil(() => Date.now() > stoppedAt + 7_000, { timeoutMs: 10_000, intervalMs: 100, what: 'downtime' });

  const second = await startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: url });
  t.after(() => second.stop('SIGKILL'));
  // Missed fires are caught up to the instant the agent logs as `caught_up_to`; the ticker fires the later ones.
  const loadedAt = Date.parse(String(second.logs.find((l) => l.msg === 'jobsd started')?.caught_up_to));
  const missedWindow = async (id: string) => (await ledger(url, id)).filter((r) => at(r) > lastBefore.get(id)! && at(r) <= loadedAt);
  const expected = (id: string) => Math.floor(loadedAt / 2000) - Math.floor(lastBefore.get(id)! / 2000);
  await pollUntil(
    async () => {
      const all = await missedWindow('c-all');
      return all.length === expected('c-all') && all.every((r) => r.state === 'succeeded') && (await missedWindow('c-latest')).some((r) => r.state === 'succeeded');
    },
    { timeoutMs: 15_000, what: 'catch-up finished' },
  ).catch(async (error: Error) => {
    const dump = async (id: string) => (await missedWindow(id)).map((r) => `${r.fire_time.toISOString().slice(11, 19)} ${r.state} ${r.attempts}`).join(', ');
    throw new Error(`${error.message}; expected ${expected('c-all')} fires per job; c-all: ${await dump('c-all')}; c-latest: ${await dump('c-latest')}; logs: ${JSON.stringify(second.logs.filter((l) => l.job === 'c-all' || l.job === 'c-latest').map((l) => [l.msg, l.fire]).slice(-12))}`);
  });
  assert.equal(await second.stop(), 0);

  const skip = await missedWindow('c-skip');
  assert.ok(skip.length >= 3 && skip.length === expected('c-skip'), `skip: ${skip.length} missed fires recorded`);
  assert.ok(skip.every((r) => r.state === 'missed' && r.started_at === null && r.result?.status === 'missed'), 'skip: none ran');

  const latest = await missedWindow('c-latest');
  assert.equal(latest.length, expected('c-latest'));
  assert.deepEqual(latest.map((r) => r.state), [...latest.slice(0, -1).map(() => 'missed'), 'succeeded'], 'latest: only the newest ran');

  const all = await missedWindow('c-all');
  assert.ok(all.length >= 3 && all.every((r) => r.state === 'succeeded' && r.instance === 'agent-b'), 'all: each ran');
  const starts = all.map((r) => r.started_at!.getTime());
  assert.deepEqual(starts, [...starts].sort((x, y) => x - y), 'all: oldest first');
  for (let i = 1; i < all.length; i++) assert.ok(all[i]!.started_at! >= all[i - 1]!.finished_at!, 'one after another (overlap: skip)');
  t.diagnostic(`missed fires: skip ${skip.length}, latest ${latest.length} (1 ran), all ${all.length} (all ran)`);
});
