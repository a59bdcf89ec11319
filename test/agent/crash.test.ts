// SIGKILL an agent in the middle of a 10 s run: its command (and the spawn helper that forked it) dies with it (Linux), the run is retried on
// the other agent after the missed heartbeat, and no fire of any other job is lost or doubled.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processAlive } from '../../src/workers/process-group.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { HOURLY, jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

test('a run of a SIGKILLed agent is retried on the other after its heartbeat is missed; nothing else is lost or doubled', async (t) => {
  const url = await freshDatabase('crash');
  const dir = jobsDir({
    'ten.yaml': `${HOURLY}\ntimeout: 5m\nretry: { attempts: 1, delay: 1s }\ntask: { type: command, command: ["sleep", "10"] }\n`,
    'tick.yaml': 'schedule: every 1s\ntask: { type: command, command: ["true"] }\n',
  });
  const a = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url, args: ['--role', 'worker'] });
  t.after(() => a.stop('SIGKILL'));
  const queued = await runCli(['run', 'ten', '--jobs-dir', dir, '--database-url', url]);
  assert.equal(queued.code, 0, queued.stderr);
  const started = await pollUntil(() => a.logs.find((l) => l.msg === 'command started' && l.job === 'ten'), { timeoutMs: 10_000, what: 'the run on agent-a' });
  const b = await startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: url });
  t.after(() => b.stop('SIGKILL'));
  const killedAt = Date.now();
  await a.stop('SIGKILL');
  await pollUntil(async () => !(await processAlive(Number(started.pid))), { timeoutMs: 3_000, what: "agent-a's sleep to die with it" });
  // It was forked by agent-a's spawn helper (README, "The spawn helper"), which dies with agent-a too.
  assert.equal(typeof started.spawn_helper, 'number', 'the command was forked by the spawn helper');
  await pollUntil(async () => !(await processAlive(Number(started.spawn_helper))), { timeoutMs: 3_000, what: "agent-a's spawn helper to die with it" });

  const [row] = await pollUntil(async () => {
    const rows = await ledger(url, 'ten');
    return rows[0]?.state === 'succeeded' ? rows : undefined;
  }, { timeoutMs: 90_000, intervalMs: 500, what: 'the retry on agent-b' });
  const recoveredMs = Date.now() - killedAt;
  assert.equal(row!.instance, 'agent-b');
  assert.equal(row!.attempts, 2, 'the lost attempt counts');
  await b.stop();

  const ticks = (await ledger(url, 'tick')).map((r) => r.fire_time.getTime() / 1000);
  const first = ticks[0]!;
  assert.deepEqual(ticks, Array.from({ length: ticks.length }, (_, i) => first + i), 'every second once, no gap, no double');
  t.diagnostic(`the killed run finished on agent-b ${recoveredMs} ms after the SIGKILL (10 s run, heartbeat 10 s, queue check every 15 s)`);
});
