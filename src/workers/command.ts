// The `command` task: a child process in its own process group (design §4), from its start to its
// result. Spawning it is src/workers/command-launch.ts; spawning it ahead of its time,
// src/workers/command-ahead.ts.
//
// Timeout or cancellation sends SIGTERM to the whole group, then SIGKILL after kill_grace,
// and the run ends only once no process of the group is left, so a retry never overlaps an
// orphan. Processes the command leaves behind in its group after a normal exit are
// terminated the same way (as systemd does with KillMode=control-group).
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHeld, type HeldCommand } from './command-ahead.ts';
import { launch, type CommandJob, type Launched } from './command-launch.ts';
import { collectOutput, keepFiles, makeOutputDir, OUTPUT_LIMITS, outputBase, removeOutputDir } from './output-files.ts';
import { allSecrets } from '../redact.ts';
import { lostLeaseKillGraceMs } from '../definitions/lease.ts';
import { LeaseLost } from './lease-lost.ts';
import { OutputBudget, OutputTail, lineLogger } from './output-tail.ts';
import { limitHit } from './limits.ts';
import { formatSize } from '../definitions/size.ts';
import { groupAlive, signalGroup, waitForGroupExit } from './process-group.ts';
import { buildResult, formatMs, runFields, type Outcome, type RunContext, type RunResult } from './result.ts';

/** How long to keep polling for the group after SIGKILL before giving up. */
const AFTER_KILL_WAIT_MS = 5_000;
/** How long to wait for stdout/stderr to close once the group is gone (an escaped daemon may hold them). */
const STDIO_CLOSE_WAIT_MS = 1_000;
/** The kill grace left to a command when the agent must stop now. */
const URGENT_KILL_GRACE_MS = 300;
/** How much of the latest output (kept or not) is read for the words of a limit (limits.ts). */
const RECENT_OUTPUT_BYTES = 4096;
/** setTimeout's maximum delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type StopReason = 'timed_out' | 'cancelled' | 'leftover';

/** Runs the command: spawns it, or starts the one `held` since it was spawned ahead. */
export async function runCommand(def: CommandJob, ctx: RunContext, held?: HeldCommand): Promise<RunResult> {
  const log = ctx.logger.child(runFields(def, ctx));
  const startedMs = Date.now();
  const finish = (o: Omit<Outcome, 'startedMs' | 'completedMs'>): RunResult =>
    buildResult(def, ctx, { ...o, startedMs, completedMs: Date.now() });

  if (ctx.signal?.aborted) {
    if (held) {
      held.taken = true;
      await held.discard();
    }
    return finish({ status: 'cancelled', message: 'cancelled before start' });
  }
  let launched = held ? await startHeld(def, held, log) : undefined;
  // The attempt's JOBSD_OUTPUT_DIR: the held process's, or one made now (a discarded held process took its own away).
  let outputDir = launched ? held!.outputDir : undefined;
  if (!launched) {
    try {
      outputDir = await makeOutputDir();
    } catch (err) {
      return finish({ status: 'failed', message: `cannot make the run's output directory (JOBSD_OUTPUT_DIR) in ${outputBase()}: ${(err as Error).message}` });
    }
    const spawned = await launch(def, ctx, outputDir);
    if ('problem' in spawned) {
      await removeOutputDir(outputDir);
      return finish({ status: 'failed', message: spawned.problem });
    }
    launched = spawned;
  }
  try {
    return await supervise(def, ctx, launched, launched === held?.launched, outputDir!, finish, startedMs);
  } finally {
    // Whatever the end (exit, timeout, cancellation, a throw), the directory goes with the attempt.
    const err = await removeOutputDir(outputDir!);
    if (err) log.warn({ dir: outputDir, error: err.message }, 'could not remove the run\'s output directory');
  }
}

/** From the start of the command's process to its result, with the files it left in `outputDir`. */
async function supervise(def: CommandJob, ctx: RunContext, launched: Launched, spawnedAhead: boolean, outputDir: string, finish: (o: Omit<Outcome, 'startedMs' | 'completedMs'>) => RunResult, startedMs: number): Promise<RunResult> {
  const { task } = def;
  const log = ctx.logger.child(runFields(def, ctx));
  const { child, pid, program, exited } = launched;

  const tail = new OutputTail();
  const recent = new OutputTail(RECENT_OUTPUT_BYTES);
  const budget = new OutputBudget(task.limits?.outputBytes);
  let seen = 0;
  const fields = runFields(def, ctx);
  const stdio = (['stdout', 'stderr'] as const).map((name) => {
    const stream = child[name]!;
    const lines = lineLogger(ctx.logger, fields, name);
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      recent.push(chunk);
      const wasWithin = budget.dropped === 0;
      const kept = budget.take(chunk);
      if (kept.length > 0) {
        tail.push(kept);
        lines.write(kept);
      }
      if (wasWithin && budget.dropped > 0) log.warn({ output_limit: budget.limit }, 'output limit reached: the rest of the output is counted, not logged or kept');
    });
    return { stream, lines, closed: once(stream, 'close').catch(() => {}) };
  });
  log.debug({ pid, program, spawned_ahead: spawnedAhead, ...(child.helperPid !== undefined ? { spawn_helper: child.helperPid } : {}) }, 'command started');

  let stopReason: StopReason | undefined;
  let stopStartedMs = 0;
  let killed = false;
  let killTimer: NodeJS.Timeout | undefined;
  let killGraceMs = task.killGraceMs;
  const stop = (reason: StopReason): void => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    stopStartedMs = Date.now();
    // A lost lease leaves only the lease's margin before another agent may take the run over.
    const lost = ctx.signal?.reason instanceof LeaseLost ? ctx.signal.reason : undefined;
    if (lost && reason === 'cancelled') killGraceMs = Math.min(killGraceMs, lostLeaseKillGraceMs(lost.leaseMs, task.killGraceMs));
    log.warn({ pid, reason, ...(lost ? { lease_lost: true } : {}) }, 'sending SIGTERM to the process group');
    signalGroup(pid, 'SIGTERM');
    armKill();
  };
  const armKill = (): void => {
    clearTimeout(killTimer);
    killTimer = setTimeout(() => {
      log.warn({ pid, reason: stopReason, kill_grace_ms: killGraceMs }, 'sending SIGKILL to the process group');
      killed = signalGroup(pid, 'SIGKILL') || killed;
    }, Math.max(0, Math.min(stopStartedMs + killGraceMs - Date.now(), MAX_TIMER_MS)));
  };
  // The agent must stop now: the group gets SIGTERM if it has not yet, and SIGKILL shortly after.
  const onUrgent = (): void => {
    killGraceMs = Math.min(killGraceMs, Date.now() - (stopStartedMs || Date.now()) + URGENT_KILL_GRACE_MS);
    if (stopReason === undefined) stop('cancelled');
    else armKill();
  };

  const timeoutTimer = setTimeout(() => stop('timed_out'), Math.min(def.timeoutMs, MAX_TIMER_MS));
  const onAbort = (): void => stop('cancelled');
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  ctx.urgent?.addEventListener('abort', onUrgent, { once: true });

  let exitCode: number | null = null;
  let exitSignal: NodeJS.Signals | null = null;
  let exitedMs = 0;
  try {
    [exitCode, exitSignal] = await exited;
  } finally {
    exitedMs = Date.now();
    clearTimeout(timeoutTimer);
    ctx.signal?.removeEventListener('abort', onAbort);
    ctx.urgent?.removeEventListener('abort', onUrgent);
  }

  if (stopReason === undefined && (await groupAlive(pid))) {
    log.warn({ pid }, 'the command exited but left processes in its group; terminating them');
    stop('leftover');
  }
  let groupGone = true;
  if (stopReason !== undefined) {
    const budget = stopStartedMs + killGraceMs + AFTER_KILL_WAIT_MS - Date.now();
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
  child.closeGate(); // the gate of a command spawned ahead
  // Read once the group is gone (or given up on): nothing of the command's writes them any more. Only the
  // files its email attaches are read; the others are listed.
  const attach = def.notify?.email?.attach;
  const wanted = (name: string): boolean => attach === true || (attach?.includes(name) ?? false);
  const output = await collectOutput(outputDir, allSecrets(def.secrets), OUTPUT_LIMITS, wanted).catch((err: unknown) => {
    log.warn({ dir: outputDir, error: (err as Error).message }, 'could not read the files the command left in JOBSD_OUTPUT_DIR');
    return undefined;
  });

  const details: Record<string, unknown> = {
    pid,
    exit_code: exitCode,
    signal: exitSignal,
    output_tail: tail.toString(),
    output_bytes: seen,
    output_truncated: tail.truncated || budget.dropped > 0,
  };
  if (budget.dropped > 0) details.output_dropped_bytes = budget.dropped;
  const dropped = budget.dropped > 0 ? `; output limit ${formatSize(budget.limit!)} reached: ${formatSize(budget.dropped)} more not kept` : '';
  if (output && output.listing.length > 0) details.output_files = output.listing;
  if (output && output.skipped > 0) details.output_files_skipped = output.skipped;
  if (stopReason === 'leftover') details.leftover_processes_terminated = true;
  if (!groupGone) details.process_group_alive = true;
  const afterStop = killed ? `; SIGKILL after kill_grace ${formatMs(killGraceMs)}` : '';
  const kept = (result: RunResult): RunResult => {
    keepFiles(result, output?.files ?? []);
    return result;
  };

  if (stopReason === 'timed_out') {
    return kept(finish({ status: 'timed_out', message: `timed out after ${formatMs(def.timeoutMs)}${afterStop}${dropped}`, details }));
  }
  if (stopReason === 'cancelled') {
    return kept(finish({ status: 'cancelled', message: `cancelled${abortReason(ctx.signal)}${afterStop}${dropped}`, details }));
  }
  const succeeded = exitCode !== null && task.successExitCodes.includes(exitCode);
  const hit = succeeded ? undefined : limitHit(task.limits, task.killGraceMs, { exitCode, signal: exitSignal, durationMs: exitedMs - startedMs, recentOutput: recent.toString() }, availableParallelism());
  if (hit) {
    details.limit = { name: hit.limit, value: hit.value, evidence: hit.evidence };
    return kept(finish({ status: 'failed', message: hit.message + dropped, details }));
  }
  if (exitCode === null) {
    return kept(finish({ status: 'failed', message: `killed by signal ${exitSignal ?? 'unknown'}${dropped}`, details }));
  }
  return kept(finish({ status: succeeded ? 'succeeded' : 'failed', message: `exit code ${exitCode}${dropped}`, details }));
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return `: ${reason.message}`;
  if (typeof reason === 'string' && reason !== '') return `: ${reason}`;
  return '';
}
