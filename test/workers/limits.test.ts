// Resource limits of command tasks (src/workers/limits.ts), through real commands: the limits are set
// (ulimit reads them back, also in a command spawned ahead), a run that hits one fails naming it, and
// every other guarantee of a command run holds (environment, timeout, the process group).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CommandLimits } from '../../src/definitions/types.ts';
import { spawnAhead } from '../../src/workers/command-ahead.ts';
import { runCommand } from '../../src/workers/command.ts';
import { limitHit, prlimitOptions } from '../../src/workers/limits.ts';
import { commandJob, memoryLogger, runContext } from '../helpers/definitions.ts';

const PYTHON = '/usr/bin/python3';
const limited = (command: string | string[], limits: CommandLimits, more: { timeoutMs?: number; killGraceMs?: number } = {}) =>
  commandJob({ id: 'limited', timeoutMs: more.timeoutMs ?? 30_000, task: { command, limits, killGraceMs: more.killGraceMs ?? 1_000 } });

describe('limits: prlimit options and what a failed run hit (pure)', () => {
  it('sets soft and hard limits; cpu gets its SIGKILL kill_grace (at least 1 s) after SIGXCPU', () => {
    assert.deepEqual(prlimitOptions({ memoryBytes: 64 * 2 ** 20, cpuSeconds: 2, openFiles: 64, processes: 100 }, 3_500), [
      '--as=67108864:67108864',
      '--cpu=2:6',
      '--nofile=64:64',
      '--nproc=100:100',
    ]);
    assert.deepEqual(prlimitOptions({ cpuSeconds: 5 }, 0), ['--cpu=5:6']);
  });

  it('names the limit from the signal, a shell exit code 128+N, or the words in the output; only limits that are set', () => {
    const end = (exitCode: number | null, signal: string | null, recentOutput = '', durationMs = 1000) => ({ exitCode, signal, recentOutput, durationMs });
    const rows: [CommandLimits, ReturnType<typeof end>, string | undefined][] = [
      [{ cpuSeconds: 2 }, end(null, 'SIGXCPU'), 'killed by SIGXCPU: cpu limit 2s exceeded'],
      [{ cpuSeconds: 2 }, end(152, null), 'exit code 152 (SIGXCPU): cpu limit 2s exceeded'],
      [{ cpuSeconds: 2 }, end(null, 'SIGKILL', '', 1000), undefined], // too soon to have used 3 CPU seconds on 2 cores
      [{ cpuSeconds: 2 }, end(null, 'SIGKILL', '', 3000), 'killed by SIGKILL: cpu limit 2s exceeded (SIGKILL at the hard limit 3s, SIGXCPU having been handled)'],
      [{ memoryBytes: 64 * 2 ** 20 }, end(null, 'SIGSEGV'), 'killed by SIGSEGV: memory limit 64M exceeded'],
      [{ memoryBytes: 64 * 2 ** 20 }, end(139, null), 'exit code 139 (SIGSEGV): memory limit 64M exceeded'],
      [{ memoryBytes: 64 * 2 ** 20 }, end(1, null, 'Traceback…\nMemoryError\n'), 'exit code 1: memory limit 64M exceeded ("MemoryError" in its output)'],
      [{ memoryBytes: 64 * 2 ** 20 }, end(1, null, 'no such table'), undefined],
      [{ cpuSeconds: 2 }, end(null, 'SIGSEGV'), undefined],
      [{ openFiles: 5 }, end(2, null, 'sh: 1: cannot open /dev/null: Too many open files'), 'exit code 2: open_files limit 5 reached ("Too many open files" in its output)'],
      [{ processes: 3 }, end(2, null, 'sh: 1: Cannot fork'), 'exit code 2: processes limit 3 reached ("Cannot fork" in its output)'],
      [{ outputBytes: 10 }, end(null, 'SIGSEGV'), undefined],
    ];
    for (const [limits, how, message] of rows) assert.equal(limitHit(limits, 1_000, how, 2)?.message, message, JSON.stringify([limits, how]));
  });
});

describe('limits: real commands', { skip: !existsSync('/usr/bin/prlimit') && 'needs util-linux prlimit' }, () => {
  it('every process of the command has the limits (ulimit reads them back), spawned now or ahead; env and pid as without', async () => {
    const script = 'echo "$(ulimit -v) $(ulimit -t) $(ulimit -n) $JOBSD_RUN_ID $$"; sh -c "ulimit -v"';
    const def = limited(['sh', '-c', script], { memoryBytes: 256 * 2 ** 20, cpuSeconds: 20, openFiles: 64 });
    const now = await runCommand(def, runContext({ runId: 'r-now' }));
    assert.equal(now.status, 'succeeded', now.message);
    const [line, child] = String(now.details.output_tail).trim().split('\n');
    assert.equal(line, `262144 20 64 r-now ${now.details.pid}`, 'KiB of address space, CPU seconds, files; the run id; the leader is the command');
    assert.equal(child, '262144', 'a child process inherits them');

    const ctx = runContext({ runId: 'r-ahead' });
    const held = await spawnAhead(def, ctx);
    assert.ok(held, 'spawned ahead');
    const ahead = await runCommand(def, ctx, held);
    assert.equal(ahead.status, 'succeeded', ahead.message);
    assert.equal(String(ahead.details.output_tail).split('\n')[0], `262144 20 64 r-ahead ${held.launched.pid}`, 'the process spawned ahead runs the command under the limits');
  });

  it('memory: a Python allocation past the limit ends the run failed, naming the limit; without the limit it succeeds', async () => {
    const grab = [PYTHON, '-c', 'x = bytearray(256 * 1024 * 1024); print(len(x))'];
    const free = await runCommand(limited(grab, {}), runContext());
    assert.equal(free.status, 'succeeded', free.message);
    const capped = await runCommand(limited(grab, { memoryBytes: 64 * 2 ** 20 }), runContext());
    assert.equal(capped.status, 'failed');
    assert.equal(capped.message, 'exit code 1: memory limit 64M exceeded ("MemoryError" in its output)');
    assert.deepEqual(capped.details.limit, { name: 'memory', value: '64M', evidence: '"MemoryError" in its output' });
  });

  it('memory: a shell that reads 200 MB into a variable dies of it (SIGSEGV), named as the memory limit', async () => {
    const result = await runCommand(limited('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo ${#x}', { memoryBytes: 32 * 2 ** 20 }), runContext());
    assert.equal(result.status, 'failed');
    assert.match(result.message, /memory limit 32M exceeded/);
    assert.equal((result.details.limit as { name: string }).name, 'memory');
  });

  it('cpu: a busy loop gets SIGXCPU at the limit; a child of a shell too (exit code 152); one that ignores SIGXCPU gets SIGKILL', async () => {
    const loop = await runCommand(limited(['sh', '-c', 'while :; do :; done'], { cpuSeconds: 1 }), runContext());
    assert.equal(loop.status, 'failed');
    assert.equal(loop.message, 'killed by SIGXCPU: cpu limit 1s exceeded');
    assert.equal(loop.details.signal, 'SIGXCPU');

    const child = await runCommand(limited(`${PYTHON} -c "while True: pass"; exit $?`, { cpuSeconds: 1 }), runContext());
    assert.equal(child.message, 'exit code 152 (SIGXCPU): cpu limit 1s exceeded');

    const stubborn = [PYTHON, '-c', 'import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True: pass'];
    const killed = await runCommand(limited(stubborn, { cpuSeconds: 1 }, { killGraceMs: 1_000 }), runContext());
    assert.equal(killed.status, 'failed');
    assert.match(killed.message, /^killed by SIGKILL: cpu limit 1s exceeded \(SIGKILL at the hard limit 2s/);
  });

  it('cpu time is not wall time: a sleeping command under a cpu limit still times out by its timeout, its group stopped', async () => {
    const result = await runCommand(limited(['sh', '-c', 'sleep 30 & wait'], { cpuSeconds: 1 }, { timeoutMs: 500, killGraceMs: 300 }), runContext());
    assert.equal(result.status, 'timed_out');
    assert.equal(result.details.process_group_alive, undefined, 'no process of the group is left');
  });

  it('open_files: opening past the limit fails the run naming it', async () => {
    const result = await runCommand(limited(['sh', '-c', 'exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null; echo opened'], { openFiles: 5 }), runContext());
    assert.equal(result.status, 'failed');
    assert.match(result.message, /open_files limit 5 reached \("Too many open files" in its output\)/);
  });

  it('processes: a fork past the limit of the user fails the run naming it (as nobody: root is exempt)', { skip: process.getuid?.() !== 0 && 'runs the command as nobody, which needs root' }, async () => {
    const forks = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', 'for i in 1 2 3 4 5 6; do sleep 1 & done; wait'];
    const result = await runCommand(limited(forks, { processes: 3 }), runContext({}));
    assert.equal(result.status, 'failed', result.message);
    assert.match(result.message, /processes limit 3 reached \("Cannot fork" in its output\)/);
  });

  it('output: only the first bytes are logged and kept, the rest counted; the run still succeeds', async () => {
    const { logger, entries } = memoryLogger();
    const script = 'i=0; while [ $i -lt 100 ]; do printf "%099d\\n" $i; i=$((i+1)); done';
    const result = await runCommand(limited(['sh', '-c', script], { outputBytes: 1024 }), runContext({ logger }));
    assert.equal(result.status, 'succeeded');
    assert.equal(result.message, 'exit code 0; output limit 1K reached: 8.8K more not kept');
    assert.equal(result.details.output_bytes, 10_000);
    assert.equal(result.details.output_dropped_bytes, 10_000 - 1024);
    assert.equal(result.details.output_truncated, true);
    assert.equal(String(result.details.output_tail).length, 1024);
    const lines = entries.filter((e) => e.stream === 'stdout');
    assert.equal(lines.length, 11, '10 whole lines and the cut one');
    assert.equal(lines.at(-1)!.msg, '0'.repeat(24), 'the cut line is logged as far as it was kept');
    assert.ok(entries.some((e) => e.msg === 'output limit reached: the rest of the output is counted, not logged or kept'));
  });

  it('a missing program under limits is reported as without them', async () => {
    const result = await runCommand(limited(['no-such-program-jobsd'], { cpuSeconds: 5 }), runContext());
    assert.equal(result.status, 'failed');
    assert.equal(result.message, 'cannot run "no-such-program-jobsd": program not found');
  });
});
