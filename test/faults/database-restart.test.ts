// PostgreSQL restarts (a fast shutdown: every session terminated) shorter than the lease: nothing is
// killed, nothing runs twice, every fire is accounted for.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { pollUntil } from '../helpers/poll.ts';
import { HOURLY, ledger } from '../helpers/agent.ts';
import { awaitCompleted, awaitMark, markingJob, startCluster } from './cluster.ts';
import { completedTwice, executions, ledgerDisagreements, overlaps } from './checker.ts';

const OUTAGE_MS = 10_000;

test('a run that ends while PostgreSQL is down is recorded once, succeeded, and not run again', async (t) => {
  const cluster = await startCluster(t, (marks) => ({
    'ends-in-outage.yaml': markingJob(marks, 2, `${HOURLY}\nretry: { attempts: 1, delay: 1s }`),
  }));
  for (const name of ['agent-a', 'agent-b', 'agent-c']) await cluster.startAgent(name);
  const queued = await runCli(['run', 'ends-in-outage', '--jobs-dir', cluster.dir, '--database-url', cluster.url]);
  assert.equal(queued.code, 0, queued.stderr);
  await awaitMark(cluster, (m) => m.kind === 'start', 'the run to start');
  await cluster.stopDatabase();
  const downAt = Date.now();
  await awaitMark(cluster, (m) => m.kind === 'end', 'the run to end during the outage');
  await pollUntil(() => Date.now() >= downAt + OUTAGE_MS, { timeoutMs: OUTAGE_MS + 1_000, intervalMs: 100, what: 'the outage' });
  await cluster.startDatabase();

  // Settled once pg-boss has completed the run: nothing fails it over after that.
  const [row] = await awaitCompleted(cluster, 'ends-in-outage', 120_000);
  const marks = cluster.marks();
  assert.deepEqual(completedTwice(marks), [], 'the fire completed once');
  assert.equal(marks.filter((m) => m.kind === 'start').length, 1, `one start: ${JSON.stringify(marks.filter((m) => m.kind === 'start'))}`);
  assert.deepEqual(ledgerDisagreements(marks, [row!]), []);
  assert.equal(row!.attempts, 1);
  assert.equal(row!.state, 'succeeded');
});

test('no fire is lost across an outage: every second of an `every 1s, catchup: all` job is run once', async (t) => {
  const cluster = await startCluster(t, (marks) => ({
    'each-second.yaml': markingJob(marks, 0, 'schedule: { every: 1s, catchup: all, catchup_window: 1h }\noverlap: allow'),
  }));
  for (const name of ['agent-a', 'agent-b']) await cluster.startAgent(name);
  await awaitMark(cluster, (m) => m.kind === 'end', 'a first run');
  for (let outage = 0; outage < 2; outage++) {
    await cluster.stopDatabase();
    const downAt = Date.now();
    await pollUntil(() => Date.now() >= downAt + 4_500, { timeoutMs: 6_000, intervalMs: 100, what: 'the outage' });
    await cluster.startDatabase();
    const upAt = Date.now();
    await awaitMark(cluster, (m) => m.kind === 'end' && Date.parse(m.fire) > upAt + 2_000, 'runs after the outage');
  }
  for (const agent of cluster.agents.values()) assert.equal(await agent.stop(), 0);
  const rows = await ledger(cluster.url, 'each-second');
  const seconds = rows.map((r) => r.fire_time.getTime() / 1000);
  const first = seconds[0]!;
  const missing = Array.from({ length: seconds.at(-1)! - first + 1 }, (_, i) => first + i).filter((s) => !seconds.includes(s));
  assert.deepEqual(missing.map((s) => new Date(s * 1000).toISOString()), [], 'every second has a ledger row');
  const marks = cluster.marks();
  assert.deepEqual(completedTwice(marks), []);
  assert.deepEqual(ledgerDisagreements(marks, rows.filter((r) => r.state !== 'queued')), []);
});

test('every session terminated mid-run: the run is recorded once, nothing is retried or lost', async (t) => {
  const cluster = await startCluster(t, (marks) => ({
    'mid-run.yaml': markingJob(marks, 3, `${HOURLY}\nretry: { attempts: 1, delay: 1s }`),
    'each-second.yaml': markingJob(marks, 0, 'schedule: { every: 1s, catchup: all }\noverlap: allow'),
  }));
  for (const name of ['agent-a', 'agent-b', 'agent-c']) await cluster.startAgent(name);
  const queued = await runCli(['run', 'mid-run', '--jobs-dir', cluster.dir, '--database-url', cluster.url]);
  assert.equal(queued.code, 0, queued.stderr);
  await awaitMark(cluster, (m) => m.kind === 'start' && m.job === 'mid-run', 'the run to start');
  const terminated = await cluster.query<{ n: number }>(
    'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  const cutAt = Date.now();
  assert.ok(terminated[0]!.n >= 3, `sessions terminated: ${terminated[0]!.n}`);
  const [row] = await awaitCompleted(cluster, 'mid-run', 60_000);
  await awaitMark(cluster, (m) => m.job === 'each-second' && m.kind === 'end' && Date.parse(m.fire) > cutAt + 3_000, 'runs after the cut');
  for (const agent of cluster.agents.values()) assert.equal(await agent.stop(), 0);
  const marks = cluster.marks();
  assert.deepEqual(completedTwice(marks), []);
  assert.equal(row!.state, 'succeeded');
  assert.equal(row!.attempts, 1);
  const seconds = (await ledger(cluster.url, 'each-second')).map((r) => r.fire_time.getTime() / 1000);
  const missing = Array.from({ length: seconds.at(-1)! - seconds[0]! + 1 }, (_, i) => seconds[0]! + i).filter((s) => !seconds.includes(s));
  assert.deepEqual(missing, [], 'no second lost');
});

test('a restart longer than the lease: the run is stopped by its holder before the takeover, and retried once', async (t) => {
  const cluster = await startCluster(t, (marks) => ({
    'long-outage.yaml': markingJob(marks, 30, `${HOURLY}\nlease: 10s\nretry: { attempts: 1, delay: 1s }`),
  }));
  for (const name of ['agent-a', 'agent-b']) await cluster.startAgent(name);
  const queued = await runCli(['run', 'long-outage', '--jobs-dir', cluster.dir, '--database-url', cluster.url]);
  assert.equal(queued.code, 0, queued.stderr);
  await awaitMark(cluster, (m) => m.kind === 'start', 'the run to start');
  await cluster.stopDatabase();
  const downAt = Date.now();
  await pollUntil(() => Date.now() >= downAt + 20_000, { timeoutMs: 25_000, intervalMs: 100, what: 'the outage' });
  await cluster.startDatabase();
  const [row] = await awaitCompleted(cluster, 'long-outage', 120_000);
  const marks = cluster.marks();
  const first = executions(marks).find((r) => r.attempt === 1)!;
  assert.ok(!first.ended, 'attempt 1 was stopped when its lease ran out');
  assert.ok(first.lastMs < downAt + 10_000, `attempt 1 stopped within its lease (${first.lastMs - downAt} ms after the cut)`);
  assert.deepEqual(overlaps(marks, 'long-outage'), []);
  assert.deepEqual(completedTwice(marks), []);
  assert.equal(row!.attempts, 2);
  assert.deepEqual(ledgerDisagreements(marks, [row!]), []);
});
