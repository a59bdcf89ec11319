// Resource limits of a `command` task (`task.limits`, README "Resource limits"). The command is started
// through util-linux `prlimit`, which calls setrlimit on itself and execs the command in place (same pid,
// process group, environment and pipes), so every process the command starts inherits the limits. Each
// process is held to them on its own: rlimits are per process (RLIMIT_NPROC per user), not a total over
// the group. Which limit a failed run hit is read from how it ended (limitHit); `output` is not an rlimit
// and is applied to the output as it is read (src/workers/command.ts).

import { accessSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import type { CommandLimits } from '../definitions/types.ts';
import { formatDuration } from '../definitions/duration.ts';
import { formatSize } from '../definitions/size.ts';

export const PRLIMIT = '/usr/bin/prlimit';

let available: boolean | undefined;

function prlimitAvailable(): boolean {
  if (available === undefined) {
    try {
      accessSync(PRLIMIT, fsConstants.X_OK);
      available = process.platform === 'linux';
    } catch {
      available = false;
    }
  }
  return available;
}

/** Whether any limit needs setrlimit (`output` alone does not). */
function hasRlimits(limits: CommandLimits | undefined): limits is CommandLimits {
  return limits !== undefined && [limits.memoryBytes, limits.cpuSeconds, limits.openFiles, limits.processes].some((v) => v !== undefined);
}

/** The CPU hard limit: SIGKILL once a process has used kill_grace (at least 1 s) past the SIGXCPU of the soft one. */
export function cpuHardSeconds(cpuSeconds: number, killGraceMs: number): number {
  return cpuSeconds + Math.max(1, Math.ceil(killGraceMs / 1000));
}

/** prlimit's options for the limits, soft:hard (the same but for cpu). Pure. */
export function prlimitOptions(limits: CommandLimits, killGraceMs: number): string[] {
  const options: string[] = [];
  if (limits.memoryBytes !== undefined) options.push(`--as=${limits.memoryBytes}:${limits.memoryBytes}`);
  if (limits.cpuSeconds !== undefined) options.push(`--cpu=${limits.cpuSeconds}:${cpuHardSeconds(limits.cpuSeconds, killGraceMs)}`);
  if (limits.openFiles !== undefined) options.push(`--nofile=${limits.openFiles}:${limits.openFiles}`);
  if (limits.processes !== undefined) options.push(`--nproc=${limits.processes}:${limits.processes}`);
  return options;
}

/**
 * `program args` started under the limits (prlimit … -- program args), as is when there are none, or a
 * problem when they cannot be applied: a run does not go ahead without the limits its file asks for.
 */
export function withLimits(program: string, args: string[], limits: CommandLimits | undefined, killGraceMs: number): [string, string[]] | { problem: string } {
  if (!hasRlimits(limits)) return [program, args];
  if (!prlimitAvailable()) return { problem: `task.limits needs util-linux prlimit (${PRLIMIT}), which this host lacks: install util-linux, or remove the limits` };
  return [PRLIMIT, [...prlimitOptions(limits, killGraceMs), '--', program, ...args]];
}

/** How a command ended, as limitHit reads it. */
export interface CommandEnd {
  exitCode: number | null;
  signal: string | null;
  /** Wall-clock time from start to exit. */
  durationMs: number;
  /** The last few KiB of its output (all of it, also what `output` did not keep). */
  recentOutput: string;
}

export interface LimitHit {
  limit: 'memory' | 'cpu' | 'open_files' | 'processes';
  /** The limit as written back: `64M`, `2s`, `256`. */
  value: string;
  /** What says so: the signal, or the words in the output. */
  evidence: string;
  message: string;
}

const MEMORY_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGABRT', 'SIGKILL', 'SIGTRAP']);
const MEMORY_WORDS = /MemoryError|Cannot allocate memory|out of memory|bad_alloc|memory exhausted|xmalloc|ENOMEM|failed to map segment/i;
const OPEN_FILES_WORDS = /Too many open files|EMFILE/;
const PROCESS_WORDS = /Resource temporarily unavailable|EAGAIN|fork: retry|cannot fork|can't fork|fork failed/i;

/** A shell reports a child killed by signal N as exit code 128 + N. */
function signalOfShellExit(code: number | null): string | null {
  if (code === null || code <= 128 || code > 128 + 64) return null;
  const entry = Object.entries(constants.signals).find(([, n]) => n === code - 128);
  return entry ? entry[0] : null;
}

/**
 * Which limit a failed command (not stopped by jobsd) most likely hit, or undefined. The kernel does not
 * say why an allocation or a fork failed, so this reads the signal and the output (README "Resource limits"):
 * - cpu: SIGXCPU (the soft limit), directly or as a shell's exit code 152; or SIGKILL after at least the
 *   hard limit's CPU seconds could have been used (wall time × cores);
 * - memory: SIGSEGV, SIGBUS, SIGABRT, SIGTRAP or SIGKILL (what programs die of when malloc or a stack or
 *   a library mapping fails), or an out-of-memory message in the output (MemoryError, "Cannot allocate
 *   memory", "out of memory", bad_alloc…);
 * - open_files: "Too many open files" (EMFILE) in the output; processes: a failed fork in the output.
 * Only limits the job sets are named.
 */
export function limitHit(limits: CommandLimits | undefined, killGraceMs: number, end: CommandEnd, cores: number): LimitHit | undefined {
  if (!hasRlimits(limits)) return undefined;
  const viaShell = signalOfShellExit(end.exitCode);
  const signal = end.signal ?? viaShell;
  const how = end.signal !== null ? `killed by ${end.signal}` : viaShell !== null ? `exit code ${end.exitCode} (${viaShell})` : `exit code ${end.exitCode}`;
  const hit = (limit: LimitHit['limit'], value: string, evidence: string, verb: string): LimitHit => ({
    limit,
    value,
    evidence,
    message: `${how}: ${limit} limit ${value} ${verb}${evidence === signal ? '' : ` (${evidence})`}`,
  });
  if (limits.cpuSeconds !== undefined) {
    const cpu = formatDuration(limits.cpuSeconds * 1000);
    if (signal === 'SIGXCPU') return hit('cpu', cpu, 'SIGXCPU', 'exceeded');
    const hard = cpuHardSeconds(limits.cpuSeconds, killGraceMs);
    if (signal === 'SIGKILL' && end.durationMs * cores >= hard * 1000) {
      return hit('cpu', cpu, `SIGKILL at the hard limit ${formatDuration(hard * 1000)}, SIGXCPU having been handled`, 'exceeded');
    }
  }
  const words = (pattern: RegExp): string | undefined => {
    const found = pattern.exec(end.recentOutput);
    return found ? `"${found[0]}" in its output` : undefined;
  };
  if (limits.memoryBytes !== undefined) {
    const memory = formatSize(limits.memoryBytes);
    const said = words(MEMORY_WORDS);
    if (said !== undefined) return hit('memory', memory, said, 'exceeded');
    if (signal !== null && MEMORY_SIGNALS.has(signal)) return hit('memory', memory, signal, 'exceeded');
  }
  if (limits.openFiles !== undefined) {
    const said = words(OPEN_FILES_WORDS);
    if (said !== undefined) return hit('open_files', String(limits.openFiles), said, 'reached');
  }
  if (limits.processes !== undefined) {
    const said = words(PROCESS_WORDS);
    if (said !== undefined) return hit('processes', String(limits.processes), said, 'reached');
  }
  return undefined;
}
