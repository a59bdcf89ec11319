// The lease watchdog (src/workers/lease-watchdog.ts), a bash process outside the agent: a group it is
// not told about again within its lease is terminated; one it is told about goes on; when the agent's
// end of the pipe closes (the agent died), the groups it watches are killed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { LeaseWatchdog } from '../../src/workers/lease-watchdog.ts';
import { processAlive } from '../../src/workers/process-group.ts';
import { pollUntil } from '../helpers/poll.ts';

function sleeper(): number {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

test('a group not told again within its lease is terminated; a group told in time goes on', async () => {
  const watchdog = new LeaseWatchdog(createLogger({ level: 'silent' }));
  const lapsing = sleeper();
  const renewed = sleeper();
  try {
    const start = Date.now();
    watchdog.watch(lapsing, 600, 100);
    watchdog.watch(renewed, 600, 100);
    const renewing = setInterval(() => watchdog.watch(renewed, 600, 100), 200);
    await pollUntil(async () => !(await processAlive(lapsing)), { timeoutMs: 3_000, what: 'the lapsed group to be terminated' });
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 550, `not before its lease ran out (${elapsed} ms)`);
    assert.ok(await processAlive(renewed), 'the renewed group goes on');
    clearInterval(renewing);
    watchdog.forget(renewed);
    await new Promise((resolve) => setTimeout(resolve, 900));
    assert.ok(await processAlive(renewed), 'a forgotten group is left alone');
  } finally {
    watchdog.stop();
    for (const pid of [lapsing, renewed]) try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

test('when the agent side closes, the watched groups are killed', async () => {
  const watchdog = new LeaseWatchdog(createLogger({ level: 'silent' }));
  const pid = sleeper();
  try {
    watchdog.watch(pid, 60_000, 100);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(await processAlive(pid));
    watchdog.stop();
    await pollUntil(async () => !(await processAlive(pid)), { timeoutMs: 3_000, what: 'the group to be killed' });
  } finally {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
});
