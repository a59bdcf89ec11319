// A command spawned ahead of its due time (src/workers/command.ts, `spawnAhead`): the process waits at
// its gate, runs nothing until it is started, is then the command itself (same pid, so the same process
// group), and ends without running anything when discarded or when its gate closes unwritten.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { runCommand, spawnAhead, type HeldCommand } from '../../src/workers/command.ts';
import { processAlive } from '../../src/workers/process-group.ts';
import { commandJob, runContext } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';

/** A job that records it ran (a marker file), prints its run id and pid, and exits 3. */
function markingJob(): { def: ReturnType<typeof commandJob>; marker: string } {
  const marker = path.join(mkdtempSync(path.join(tmpdir(), 'jobsd-ahead-')), 'ran');
  const def = commandJob({ id: 'held', task: { command: ['sh', '-c', `echo ran > ${marker}; echo "$JOBSD_RUN_ID"; echo "$$"; exit 3`] } });
  return { def, marker };
}

/** Resolves once the held process sleeps in its gate: the shell blocked reading fd 3, the command not exec'd. */
async function parkedAtGate(held: HeldCommand): Promise<void> {
  const pid = held.launched.pid;
  await pollUntil(
    () => {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      return cmdline.includes('jobsd-gate') && state === 'S';
    },
    { timeoutMs: 5_000, what: 'the held process waiting at its gate' },
  );
}

describe('spawnAhead', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it('spawns a process that runs the command only when started, as the same process', async () => {
    const { def, marker } = markingJob();
    const ctx = runContext({ runId: 'r-ahead' });
    const held = await spawnAhead(def, ctx);
    assert.ok(held, 'spawned ahead');
    await parkedAtGate(held);
    assert.equal(existsSync(marker), false, 'nothing ran before the start');

    const result = await runCommand(def, ctx, held);
    assert.equal(result.status, 'failed');
    assert.equal(result.message, 'exit code 3');
    assert.equal(existsSync(marker), true);
    const [runId, pid] = String(result.details.output_tail).trim().split('\n');
    assert.equal(runId, 'r-ahead', 'JOBSD_* variables reach the command');
    assert.equal(Number(pid), held.launched.pid, 'the command is the process spawned ahead (its own process group)');
    assert.equal(result.details.pid, held.launched.pid);
  });

  it('a discarded process never runs the command and is gone', async () => {
    const { def, marker } = markingJob();
    const held = (await spawnAhead(def, runContext()))!;
    await parkedAtGate(held);
    await held.discard();
    assert.equal(await processAlive(held.launched.pid), false);
    assert.equal(existsSync(marker), false);
  });

  it('a run cancelled while its process waits is cancelled without running it', async () => {
    const { def, marker } = markingJob();
    const controller = new AbortController();
    const ctx = runContext({ signal: controller.signal });
    const held = (await spawnAhead(def, ctx))!;
    await parkedAtGate(held);
    controller.abort();
    const result = await runCommand(def, ctx, held);
    assert.equal(result.status, 'cancelled');
    assert.equal(await processAlive(held.launched.pid), false);
    assert.equal(existsSync(marker), false);
  });

  it('a gate that closes unwritten (the agent died) ends the process without running the command', async () => {
    const { def, marker } = markingJob();
    const held = (await spawnAhead(def, runContext()))!;
    await parkedAtGate(held);
    const exit = once(held.launched.child, 'exit');
    held.launched.child.stdio[3]!.destroy();
    assert.deepEqual(await exit, [125, null]);
    assert.equal(existsSync(marker), false);
    await held.discard();
  });

  it('is not done for a program that is missing or a cwd that is not there: the run reports those when due', async () => {
    assert.equal(await spawnAhead(commandJob({ task: { command: ['no-such-program-jobsd'] } }), runContext()), undefined);
    assert.equal(await spawnAhead(commandJob({ task: { command: ['true'], cwd: '/no/such/dir' } }), runContext()), undefined);
    const missing = await runCommand(commandJob({ task: { command: ['no-such-program-jobsd'] } }), runContext());
    assert.equal(missing.message, 'cannot run "no-such-program-jobsd": program not found');
  });

  it('runs a shell string the same way', async () => {
    const def = commandJob({ task: { command: 'echo $((1 + 2)) | tr 3 x' } });
    const held = (await spawnAhead(def, runContext()))!;
    const result = await runCommand(def, runContext(), held);
    assert.equal(result.status, 'succeeded');
    assert.equal(result.details.output_tail, 'x\n');
  });
});
