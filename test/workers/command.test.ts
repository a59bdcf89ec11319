import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../../src/workers/command.ts';
import { processAlive } from '../../src/workers/process-group.ts';
import { commandJob, memoryLogger } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';
import { spawnPaths } from '../helpers/spawn-paths.ts';

/** The pid a script printed on a line of its own. */
function echoedPid(output: unknown): number {
  const match = /^(\d+)$/m.exec(String(output));
  assert.ok(match, `no pid in output ${JSON.stringify(output)}`);
  return Number(match[1]);
}

for (const way of spawnPaths()) describe(`runCommand, ${way.name}`, () => {
  const runContext = way.runContext;
  before(way.before);
  after(way.after);

  it('runs argv without a shell, logs each line and passes JOBSD_* variables', async () => {
    const { logger, entries } = memoryLogger();
    const script = 'echo "$JOBSD_JOB_ID|$JOBSD_RUN_ID|$JOBSD_FIRE_TIME|$JOBSD_ATTEMPT|$JOBSD_INSTANCE|$JOBSD_JOB_FILE"; echo oops >&2';
    const def = commandJob({ id: 'nightly', task: { command: ['sh', '-c', script] } });
    const result = await runCommand(def, runContext({ logger, runId: 'r-42', attempt: 2, instance: 'host-a:7' }));

    assert.equal(result.status, 'succeeded');
    assert.equal(result.message, 'exit code 0');
    assert.equal(result.error, undefined);
    assert.equal(result.job_id, 'nightly');
    assert.equal(result.fire_time, '2026-11-23T00:00:00.000Z');
    const expected = 'nightly|r-42|2026-11-23T00:00:00.000Z|2|host-a:7|/tmp/x.yaml';
    assert.match(String(result.details.output_tail), new RegExp(`${expected.replace(/[.|]/g, '\\$&')}\n`));
    assert.match(String(result.details.output_tail), /oops\n/);
    assert.equal(result.details.exit_code, 0);
    assert.equal(result.details.signal, null);
    assert.equal(typeof result.details.pid, 'number');

    const out = entries.find((e) => e.msg === expected);
    assert.deepEqual(
      { job: out?.job, run: out?.run, fire: out?.fire, stream: out?.stream },
      { job: 'nightly', run: 'r-42', fire: '2026-11-23T00:00:00.000Z', stream: 'stdout' },
    );
    assert.equal(entries.find((e) => e.msg === 'oops')?.stream, 'stderr');
  });

  it('fails on an exit code outside success_exit_codes, and accepts listed ones', async () => {
    const failed = await runCommand(commandJob({ task: { command: ['sh', '-c', 'exit 3'] } }), runContext());
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error, 'exit code 3');
    assert.equal(failed.details.exit_code, 3);

    const accepted = await runCommand(
      commandJob({ task: { command: ['sh', '-c', 'exit 3'], successExitCodes: [0, 3] } }),
      runContext(),
    );
    assert.equal(accepted.status, 'succeeded');
  });

  it('runs a string through /bin/sh -c', async () => {
    const result = await runCommand(commandJob({ task: { command: 'echo $((1 + 2)) | tr 3 x' } }), runContext());
    assert.equal(result.status, 'succeeded');
    assert.equal(result.details.output_tail, 'x\n');
  });

  it('adds task env to the agent env, or starts from PATH alone with clean_env', async () => {
    process.env.TEST_AGENT_VAR = 'agent';
    const task = { command: ['env'], env: { FOO: 'bar' } };
    const inherited = await runCommand(commandJob({ task }), runContext());
    assert.match(String(inherited.details.output_tail), /^TEST_AGENT_VAR=agent$/m);
    assert.match(String(inherited.details.output_tail), /^FOO=bar$/m);

    const clean = await runCommand(commandJob({ task: { ...task, cleanEnv: true } }), runContext());
    const names = String(clean.details.output_tail).trim().split('\n').map((l) => l.split('=')[0]).sort();
    assert.deepEqual(names, [
      'FOO', 'JOBSD_ATTEMPT', 'JOBSD_FIRE_TIME', 'JOBSD_INSTANCE', 'JOBSD_JOB_FILE', 'JOBSD_JOB_ID', 'JOBSD_OUTPUT_DIR', 'JOBSD_RUN_ID', 'PATH', 'PWD',
    ]);
    assert.ok(String(clean.details.output_tail).split('\n').includes(`PWD=${tmpdir()}`), 'PWD is the command\'s cwd (the job helper\'s default, the temp directory)');
    delete process.env.TEST_AGENT_VAR;
  });

  it('fails with a clear message for a missing program or cwd', async () => {
    const missing = await runCommand(commandJob({ task: { command: ['no-such-program-jobsd'] } }), runContext());
    assert.equal(missing.status, 'failed');
    assert.equal(missing.error, 'cannot run "no-such-program-jobsd": program not found');

    const badCwd = await runCommand(commandJob({ task: { command: ['true'], cwd: '/no/such/dir' } }), runContext());
    assert.equal(badCwd.status, 'failed');
    assert.equal(badCwd.error, 'cwd "/no/such/dir" does not exist');
  });

  it('on timeout kills the whole process group, grandchildren included', async () => {
    const def = commandJob({ timeoutMs: 500, task: { command: 'sleep 30 & echo $!; wait', killGraceMs: 1_000 } });
    const t0 = Date.now();
    const result = await runCommand(def, runContext());
    const elapsed = Date.now() - t0;

    assert.equal(result.status, 'timed_out');
    assert.equal(result.message, 'timed out after 500ms');
    assert.equal(await processAlive(echoedPid(result.details.output_tail)), false);
    assert.ok(elapsed < 500 + 1_000 + 1_000, `took ${elapsed}ms`);
  });

  it('SIGKILLs a group that ignores SIGTERM after kill_grace, on abort → cancelled', async () => {
    const { logger, entries } = memoryLogger();
    const controller = new AbortController();
    const script = "trap '' TERM; sleep 30 & echo $!; echo ready; wait";
    const def = commandJob({ task: { command: script, killGraceMs: 400 } });
    const running = runCommand(def, runContext({ logger, signal: controller.signal }));
    await pollUntil(() => entries.some((e) => e.msg === 'ready'), { what: 'ready line' });
    const abortedAt = Date.now();
    controller.abort();
    const result = await running;
    const elapsed = Date.now() - abortedAt;

    assert.equal(result.status, 'cancelled');
    assert.equal(result.message, 'cancelled; SIGKILL after kill_grace 400ms');
    assert.equal(result.details.signal, 'SIGKILL');
    assert.equal(await processAlive(echoedPid(result.details.output_tail)), false);
    assert.ok(elapsed >= 400 && elapsed < 400 + 1_000, `took ${elapsed}ms`);
  });

  it('cancels a running command when the signal aborts, and does not start when already aborted', async () => {
    const { logger, entries } = memoryLogger();
    const controller = new AbortController();
    const running = runCommand(commandJob({ task: { command: ['sleep', '30'] } }), runContext({ logger, signal: controller.signal }));
    await pollUntil(() => entries.some((e) => e.msg === 'command started'), { what: 'command start' });
    controller.abort(new Error('shutting down'));
    const result = await running;
    assert.equal(result.status, 'cancelled');
    assert.equal(result.error, 'cancelled: shutting down');
    assert.equal(result.details.signal, 'SIGTERM');

    const before = await runCommand(commandJob(), runContext({ signal: AbortSignal.abort() }));
    assert.equal(before.status, 'cancelled');
    assert.equal(before.message, 'cancelled before start');
  });

  it('terminates processes left behind in the group after a normal exit', async () => {
    const result = await runCommand(commandJob({ task: { command: 'sleep 30 & echo $!' } }), runContext());
    assert.equal(result.status, 'succeeded');
    assert.equal(result.details.leftover_processes_terminated, true);
    assert.equal(await processAlive(echoedPid(result.details.output_tail)), false);
  });

  it('keeps only the last 64 KiB of output', async () => {
    const script = "head -c 200000 /dev/zero | tr '\\0' a; echo; echo the-end";
    const result = await runCommand(commandJob({ task: { command: script } }), runContext());
    const tail = String(result.details.output_tail);
    assert.equal(Buffer.byteLength(tail), 64 * 1024);
    assert.ok(tail.endsWith('a\nthe-end\n'));
    assert.equal(result.details.output_bytes, 200_009);
    assert.equal(result.details.output_truncated, true);
  });
});
