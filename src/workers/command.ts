// The `command` task: a child process in its own process group (design §4).
//
// Timeout or cancellation sends SIGTERM to the whole group, then SIGKILL after kill_grace,
// and the run ends only once no process of the group is left, so a retry never overlaps an
// orphan. Processes the command leaves behind in its group after a normal exit are
// terminated the same way (as systemd does with KillMode=control-group).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandTask, JobDefinition } from '../definitions/types.ts';
import { resolveProgram, withDeathSignal } from './death-signal.ts';
import { OutputTail, lineLogger } from './output-tail.ts';
import { groupAlive, signalGroup, waitForGroupExit } from './process-group.ts';
import { buildResult, formatMs, isoUtc, runFields, type Outcome, type RunContext, type RunResult } from './result.ts';

export type CommandJob = JobDefinition & { task: CommandTask };

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** How long to keep polling for the group after SIGKILL before giving up. */
const AFTER_KILL_WAIT_MS = 5_000;
/** How long to wait for stdout/stderr to close once the group is gone (an escaped daemon may hold them). */
const STDIO_CLOSE_WAIT_MS = 1_000;
/** setTimeout's maximum delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type StopReason = 'timed_out' | 'cancelled' | 'leftover';

export function commandEnv(def: CommandJob, ctx: RunContext): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = def.task.cleanEnv ? { PATH: process.env.PATH ?? DEFAULT_PATH } : { ...process.env };
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
  };
}

async function cwdProblem(cwd: string): Promise<string | undefined> {
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
function started(child: ChildProcess): Promise<Error | undefined> {
  return new Promise((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (err) => resolve(err));
  });
}

/** The program and its arguments: a string command runs through /bin/sh -c. */
function argvOf(task: CommandTask): string[] {
  return typeof task.command === 'string' ? ['/bin/sh', '-c', task.command] : task.command;
}

/** A command's process, spawned: its own process group's leader. */
interface Launched {
  child: ChildProcess;
  pid: number;
  program: string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** What a command spawned ahead was spawned with, checked again when it is started. */
interface Spawned {
  /** The program as found on PATH (the environment's). */
  resolved: string;
  env: NodeJS.ProcessEnv;
  /** The cwd's device and inode: a directory removed or swapped (a `current` symlink) since then differs. */
  cwd: string;
}

/**
 * Spawns the command, or, `ahead` of its time, a shell that waits on fd 3 and then execs it in
 * place (same pid, same process group): the costly spawn happens before the run is due, and
 * starting it is a write to a pipe. If the pipe closes unwritten (the run is cancelled, the agent
 * dies), the shell exits without running anything.
 */
async function launch(def: CommandJob, ctx: RunContext, ahead: boolean): Promise<Launched | { problem: string }> {
  const { task } = def;
  const badCwd = await cwdProblem(task.cwd);
  if (badCwd !== undefined) return { problem: badCwd };
  const [program, ...args] = argvOf(task);
  if (program === undefined || program === '') return { problem: 'empty command' };

  let child: ChildProcess;
  try {
    const env = commandEnv(def, ctx);
    const [file, fileArgs] = ahead ? gated(program, args) : [program, args];
    const argv = withDeathSignal(file, fileArgs, env, task.cwd);
    child = spawn(argv.program, argv.args, {
      cwd: task.cwd,
      env,
      detached: true, // its own process group, so signals reach the whole tree
      stdio: ahead ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    return { problem: spawnProblem(program, err) };
  }
  const exited = once(child, 'exit') as Launched['exited'];
  exited.catch(() => {}); // an 'error' after a failed spawn rejects it; handled below
  // The gate's write fails (EPIPE) if the held process was killed meanwhile: its exit tells the run.
  child.stdio[3]?.on('error', () => {});
  const spawnError = await started(child);
  if (spawnError !== undefined || child.pid === undefined) {
    return { problem: spawnProblem(program, spawnError ?? new Error('no pid')) };
  }
  return { child, pid: child.pid, program, exited };
}

/** The shell that holds a command spawned ahead until a line arrives on fd 3 (see `launch`). */
const GATE_SCRIPT = 'read -r _ <&3 || exit 125; exec "$@" 3<&-';

function gated(program: string, args: string[]): [string, string[]] {
  return ['/bin/sh', ['-c', GATE_SCRIPT, 'jobsd-gate', program, ...args]];
}

/** A command spawned ahead of its due time, waiting to be started by `runCommand` or discarded. */
export interface HeldCommand {
  readonly launched: Launched;
  readonly spawned: Spawned;
  /** Set once `runCommand` has taken it over (started it, or discarded it to spawn anew). */
  taken: boolean;
  /** Ends the waiting process without running the command. */
  discard(): Promise<void>;
}

/** A name the shell passes on: it drops the others (`a.b`, `my-var`) from the environment. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function cwdIdentity(cwd: string): string | undefined {
  try {
    const st = statSync(cwd);
    return st.isDirectory() ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Spawns the command ahead of its due time (see `launch`). Undefined when it is not done: the run then
 * spawns it when due, and reports any problem (a missing program, a bad cwd) as it would. Not done when
 * the shell would change the environment (a variable whose name is not a shell name).
 */
export async function spawnAhead(def: CommandJob, ctx: RunContext): Promise<HeldCommand | undefined> {
  const [program] = argvOf(def.task);
  if (program === undefined) return undefined;
  const env = commandEnv(def, ctx);
  if (!Object.keys(env).every((name) => SHELL_NAME.test(name))) return undefined;
  const resolved = resolveProgram(program, env, def.task.cwd);
  const cwd = cwdIdentity(def.task.cwd);
  if (resolved === undefined || cwd === undefined) return undefined;
  const launched = await launch(def, ctx, true);
  if ('problem' in launched) return undefined;
  return {
    launched,
    spawned: { resolved, env, cwd },
    taken: false,
    async discard() {
      launched.child.stdio[3]?.destroy();
      signalGroup(launched.pid, 'SIGKILL');
      await launched.exited.catch(() => {});
      for (const stream of launched.child.stdio) stream?.destroy();
    },
  };
}

/**
 * Whether the process spawned ahead can run the command now: it is still there (nobody killed it),
 * the program is where it was, and the cwd is the same directory. Otherwise the run spawns anew, and
 * reports a problem the way a run spawned when due does.
 */
function stillValid(def: CommandJob, held: HeldCommand): boolean {
  const { child } = held.launched;
  if (child.exitCode !== null || child.signalCode !== null) return false;
  const { resolved, env, cwd } = held.spawned;
  return resolveProgram(argvOf(def.task)[0]!, env, def.task.cwd) === resolved && cwdIdentity(def.task.cwd) === cwd;
}

/** Runs the command: spawns it, or starts the one `held` since it was spawned ahead. */
export async function runCommand(def: CommandJob, ctx: RunContext, held?: HeldCommand): Promise<RunResult> {
  const { task } = def;
  const log = ctx.logger.child(runFields(def, ctx));
  const startedMs = Date.now();
  const finish = (o: Omit<Outcome, 'startedMs' | 'completedMs'>): RunResult =>
    buildResult(def, ctx, { ...o, startedMs, completedMs: Date.now() });

  if (held) held.taken = true;
  if (ctx.signal?.aborted) {
    await held?.discard();
    return finish({ status: 'cancelled', message: 'cancelled before start' });
  }
  let launched: Launched;
  if (held && stillValid(def, held)) {
    launched = held.launched;
    (launched.child.stdio[3] as Writable).end('\n');
  } else {
    if (held) {
      log.info({ pid: held.launched.pid }, 'the process spawned ahead is gone, or its program or cwd changed: spawning the command now');
      await held.discard();
    }
    const spawned = await launch(def, ctx, false);
    if ('problem' in spawned) return finish({ status: 'failed', message: spawned.problem });
    launched = spawned;
  }
  const { child, pid, program, exited } = launched;

  const tail = new OutputTail();
  const fields = runFields(def, ctx);
  const stdio = (['stdout', 'stderr'] as const).map((name) => {
    const stream = child[name]!;
    const lines = lineLogger(ctx.logger, fields, name);
    stream.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      lines.write(chunk);
    });
    return { stream, lines, closed: once(stream, 'close').catch(() => {}) };
  });
  log.debug({ pid, program, spawned_ahead: launched === held?.launched }, 'command started');

  let stopReason: StopReason | undefined;
  let stopStartedMs = 0;
  let killed = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: StopReason): void => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    stopStartedMs = Date.now();
    log.warn({ pid, reason }, 'sending SIGTERM to the process group');
    signalGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => {
      log.warn({ pid, reason, kill_grace_ms: task.killGraceMs }, 'sending SIGKILL to the process group');
      killed = signalGroup(pid, 'SIGKILL') || killed;
    }, Math.min(task.killGraceMs, MAX_TIMER_MS));
  };

  const timeoutTimer = setTimeout(() => stop('timed_out'), Math.min(def.timeoutMs, MAX_TIMER_MS));
  const onAbort = (): void => stop('cancelled');
  ctx.signal?.addEventListener('abort', onAbort, { once: true });

  let exitCode: number | null = null;
  let exitSignal: NodeJS.Signals | null = null;
  try {
    [exitCode, exitSignal] = await exited;
  } finally {
    clearTimeout(timeoutTimer);
    ctx.signal?.removeEventListener('abort', onAbort);
  }

  if (stopReason === undefined && (await groupAlive(pid))) {
    log.warn({ pid }, 'the command exited but left processes in its group; terminating them');
    stop('leftover');
  }
  let groupGone = true;
  if (stopReason !== undefined) {
    const budget = stopStartedMs + task.killGraceMs + AFTER_KILL_WAIT_MS - Date.now();
    groupGone = await waitForGroupExit(pid, Math.max(budget, 0));
    if (!groupGone) log.error({ pid }, 'the process group is still alive after SIGKILL');
  }
  clearTimeout(killTimer);

  const timeout = sleep(STDIO_CLOSE_WAIT_MS, undefined, { ref: false });
  await Promise.race([Promise.all(stdio.map((s) => s.closed)), timeout]);
  for (const s of stdio) {
    s.stream.destroy();
    s.lines.end();
  }
  child.stdio[3]?.destroy(); // the gate of a command spawned ahead

  const details: Record<string, unknown> = {
    pid,
    exit_code: exitCode,
    signal: exitSignal,
    output_tail: tail.toString(),
    output_bytes: tail.totalBytes,
    output_truncated: tail.truncated,
  };
  if (stopReason === 'leftover') details.leftover_processes_terminated = true;
  if (!groupGone) details.process_group_alive = true;
  const afterStop = killed ? `; SIGKILL after kill_grace ${formatMs(task.killGraceMs)}` : '';

  if (stopReason === 'timed_out') {
    return finish({ status: 'timed_out', message: `timed out after ${formatMs(def.timeoutMs)}${afterStop}`, details });
  }
  if (stopReason === 'cancelled') {
    return finish({ status: 'cancelled', message: `cancelled${abortReason(ctx.signal)}${afterStop}`, details });
  }
  if (exitCode === null) {
    return finish({ status: 'failed', message: `killed by signal ${exitSignal ?? 'unknown'}`, details });
  }
  const status = task.successExitCodes.includes(exitCode) ? 'succeeded' : 'failed';
  return finish({ status, message: `exit code ${exitCode}`, details });
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return `: ${reason.message}`;
  if (typeof reason === 'string' && reason !== '') return `: ${reason}`;
  return '';
}
