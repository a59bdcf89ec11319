// Spawning a `command` task's process: its environment, its argv, and the problems that stop it from
// starting (a missing program or cwd), as messages a person can act on. What happens once it runs is
// src/workers/command.ts; spawning it ahead of its time is src/workers/command-ahead.ts.
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import type { CommandTask, JobDefinition } from '../definitions/types.ts';
import { withoutAgentSettings } from '../files/agent-env.ts';
import { resolveProgram } from './death-signal.ts';
import { withLimits } from './limits.ts';
import { spawnDirect, type CommandProcess } from './spawned-process.ts';
import { isoUtc, type RunContext } from './result.ts';

export type CommandJob = JobDefinition & { task: CommandTask };

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The agent's environment without its own settings (JOBSD_* configuration, DATABASE_URL, PG*: they hold its
 * API token and database password; a job that needs one names it in `env:`), the job's `env`, and the run's
 * JOBSD_* variables (JOBSD_OUTPUT_DIR: the attempt's directory for files to keep, src/workers/output-files.ts).
 */
export function commandEnv(def: CommandJob, ctx: RunContext, outputDir?: string): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = def.task.cleanEnv ? { PATH: process.env.PATH ?? DEFAULT_PATH } : withoutAgentSettings(process.env);
  return {
    ...base,
    // The command's directory, not the agent's: what a shell sets, and what the shell that holds a
    // command spawned ahead would set anyway (so both paths give the same environment).
    PWD: def.task.cwd,
    ...def.task.env,
    JOBSD_JOB_ID: def.id,
    JOBSD_RUN_ID: ctx.runId,
    JOBSD_FIRE_TIME: isoUtc(ctx.fireTimeMs),
    JOBSD_ATTEMPT: String(ctx.attempt),
    JOBSD_INSTANCE: ctx.instance,
    JOBSD_JOB_FILE: def.file,
    ...(outputDir !== undefined ? { JOBSD_OUTPUT_DIR: outputDir } : {}),
    ...(ctx.upstream
      ? { JOBSD_UPSTREAM_JOB: ctx.upstream.job, JOBSD_UPSTREAM_FIRE_TIME: ctx.upstream.fireTime, JOBSD_UPSTREAM_RUN_ID: ctx.upstream.runId, JOBSD_UPSTREAM_STATUS: ctx.upstream.status }
      : {}),
  };
}

export async function cwdProblem(cwd: string): Promise<string | undefined> {
  try {
    if (!(await stat(cwd)).isDirectory()) return `cwd ${JSON.stringify(cwd)} is not a directory`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `cwd ${JSON.stringify(cwd)} does not exist`;
    return `cwd ${JSON.stringify(cwd)} is not usable: ${(err as Error).message}`;
  }
  return undefined;
}

function spawnProblem(program: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const name = JSON.stringify(program);
  if (code === 'ENOENT') return `cannot run ${name}: program not found`;
  if (code === 'EACCES') return `cannot run ${name}: permission denied`;
  return `cannot run ${name}: ${(err as Error).message}`;
}

/** Resolves with undefined once the child has started, or with the spawn error. */
function started(child: CommandProcess): Promise<Error | undefined> {
  return new Promise((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (err) => resolve(err));
  });
}

/** The program and its arguments: a string command runs through /bin/sh -c. */
export function argvOf(task: CommandTask): string[] {
  return typeof task.command === 'string' ? ['/bin/sh', '-c', task.command] : task.command;
}

/** A command's process, spawned: its own process group's leader. */
export interface Launched {
  child: CommandProcess;
  pid: number;
  program: string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** Wraps the command's argv in the program that holds it (see `launch`). */
export type Gate = (program: string, args: string[]) => [string, string[]];

/**
 * Spawns the command in its own process group, or returns a problem a person can act on. With `gate`,
 * the process spawned is the one `gate` wraps the command in, given a pipe on fd 3 (command-ahead.ts).
 */
export async function launch(def: CommandJob, ctx: RunContext, outputDir: string | undefined, gate?: Gate): Promise<Launched | { problem: string }> {
  const { task } = def;
  const badCwd = await cwdProblem(task.cwd);
  if (badCwd !== undefined) return { problem: badCwd };
  const [program, ...args] = argvOf(task);
  if (program === undefined || program === '') return { problem: 'empty command' };

  let child: CommandProcess;
  try {
    const env = commandEnv(def, ctx, outputDir);
    // prlimit sets the limits and execs the command; inside the gate, so the waiting shell has none.
    const limited = withLimits(program, args, task.limits, task.killGraceMs);
    if ('problem' in limited) return limited;
    // prlimit would report a missing program as its own failure (exit 127): report it as spawn would.
    if (limited[0] !== program && resolveProgram(program, env, task.cwd) === undefined) return { problem: spawnProblem(program, Object.assign(new Error('not found'), { code: 'ENOENT' })) };
    const [file, fileArgs] = gate ? gate(...limited) : limited;
    // Forked by the spawn helper where the agent has one (src/workers/spawner.ts); in its own process
    // group either way, so that signals reach the whole tree, and killed when the agent dies.
    const request = { file, args: fileArgs, cwd: task.cwd, env, gate: gate !== undefined };
    child = ctx.spawner ? ctx.spawner.spawn(request) : spawnDirect(request);
  } catch (err) {
    return { problem: spawnProblem(program, err) };
  }
  const exited = once(child, 'exit') as Launched['exited'];
  exited.catch(() => {}); // an 'error' after a failed spawn rejects it; handled below
  const spawnError = await started(child);
  if (spawnError !== undefined || child.pid === undefined) {
    return { problem: spawnProblem(program, spawnError ?? new Error('no pid')) };
  }
  ctx.onGroup?.(child.pid);
  return { child, pid: child.pid, program, exited };
}
