// A command spawned ahead of its due time (src/workers/command-ahead.ts): the process waits at
// its gate, runs nothing until it is started, is then the command itself (same pid, so the same process
// group), and ends without running anything when discarded or when its gate closes unwritten.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { spawnAhead, type HeldCommand } from '../../src/workers/command-ahead.ts';
import { runCommand } from '../../src/workers/command.ts';
import { processAlive } from '../../src/workers/process-group.ts';
import { commandJob } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';
import { spawnPaths } from '../helpers/spawn-paths.ts';

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

for (const way of spawnPaths()) describe(`spawnAhead, ${way.name}`, { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const runContext = way.runContext;
  before(way.before);
  after(way.after);

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
    held.launched.child.closeGate();
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

  it('gives the command the same environment as a command spawned when due', async () => {
    for (const cleanEnv of [false, true]) {
      const def = commandJob({ task: { command: ['env'], env: { FOO: 'bar baz' }, cleanEnv } });
      const direct = await runCommand(def, runContext());
      const held = (await spawnAhead(def, runContext()))!;
      const ahead = await runCommand(def, runContext(), held);
      // `_` aside: a shell sets it to the program it runs (what the agent's own shell had left there before).
      // JOBSD_OUTPUT_DIR is each attempt's own directory: the same name, another one.
      const lines = (r: typeof direct) =>
        String(r.details.output_tail).trim().split('\n').filter((l) => !l.startsWith('_=')).map((l) => l.replace(/^JOBSD_OUTPUT_DIR=.*\/jobsd-output-[\w-]+$/, 'JOBSD_OUTPUT_DIR=…')).sort();
      assert.deepEqual(lines(ahead), lines(direct), `clean_env ${cleanEnv}`);
    }
    // A name the shell would drop from the environment: not spawned ahead.
    assert.equal(await spawnAhead(commandJob({ task: { command: ['env'], env: { 'spring.profiles.active': 'prod' } } }), runContext()), undefined);
  });

  it('spawns anew when the held process was killed, or its program or cwd went away, and reports those as when due', async () => {
    const { def, marker } = markingJob();
    const killed = (await spawnAhead(def, runContext()))!;
    await parkedAtGate(killed);
    process.kill(killed.launched.pid, 'SIGKILL');
    await killed.launched.exited;
    const rerun = await runCommand(def, runContext(), killed);
    assert.equal(rerun.message, 'exit code 3', 'the command ran all the same');
    assert.notEqual(rerun.details.pid, killed.launched.pid);
    assert.equal(existsSync(marker), true);

    // Killed just before its start, before the agent has seen it exit: the write to its gate fails (EPIPE)
    // without taking the agent down, and the run ends either way.
    const racing = (await spawnAhead(def, runContext()))!;
    await parkedAtGate(racing);
    process.kill(racing.launched.pid, 'SIGKILL');
    const raced = await runCommand(def, runContext(), racing);
    assert.ok(['exit code 3', 'killed by signal SIGKILL'].includes(raced.message), raced.message);

    const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-ahead-'));
    const program = path.join(dir, 'job.sh');
    writeFileSync(program, '#!/bin/sh\necho ran\n', { mode: 0o755 });
    const byProgram = commandJob({ task: { command: [program] } });
    const heldProgram = (await spawnAhead(byProgram, runContext()))!;
    rmSync(program);
    const missing = await runCommand(byProgram, runContext(), heldProgram);
    assert.equal(missing.message, `cannot run ${JSON.stringify(program)}: program not found`);
    assert.equal(await processAlive(heldProgram.launched.pid), false);

    const cwd = mkdtempSync(path.join(tmpdir(), 'jobsd-ahead-cwd-'));
    const inCwd = commandJob({ task: { command: ['true'], cwd } });
    const heldCwd = (await spawnAhead(inCwd, runContext()))!;
    rmSync(cwd, { recursive: true });
    const gone = await runCommand(inCwd, runContext(), heldCwd);
    assert.equal(gone.message, `cwd ${JSON.stringify(cwd)} does not exist`);
  });

  it('runs a shell string the same way', async () => {
    const def = commandJob({ task: { command: 'echo $((1 + 2)) | tr 3 x' } });
    const held = (await spawnAhead(def, runContext()))!;
    const result = await runCommand(def, runContext(), held);
    assert.equal(result.status, 'succeeded');
    assert.equal(result.details.output_tail, 'x\n');
  });
});
