// Signals to, and liveness of, a child's process group.
//
// A zombie still "exists" for kill(pid, 0), and a container's PID 1 does not always reap the
// orphans it inherits (it does not in our CI VM), so on Linux a group whose remaining members
// are all zombies counts as gone: /proc/<pid>/stat gives each process's state and group.
// Node cannot set PR_SET_PDEATHSIG or become a child subreaper, so if the agent itself is
// SIGKILLed its children live on; the queue's expiry and the retry's fresh group are the
// backstop for that case.
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Sends `signal` to every process in group `pgid`. False when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if (errno(err) === 'ESRCH') return false;
    throw err;
  }
}

interface ProcStat {
  state: string;
  pgrp: number;
}

async function readStat(pid: number | string): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ..." where comm may itself contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  return state === undefined ? undefined : { state, pgrp };
}

const useProc = process.platform === 'linux';

/** Whether `pid` is a running (not zombie) process. */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return errno(err) !== 'ESRCH';
  }
  if (!useProc) return true;
  const stat = await readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Whether any non-zombie process is left in group `pgid`. */
export async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return errno(err) !== 'ESRCH';
  }
  if (!useProc) return true;
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return true;
  }
  const stats = await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((e) => readStat(e)));
  return stats.some((s) => s !== undefined && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X');
}

/** Polls until group `pgid` is gone or `timeoutMs` passes. True when it is gone. */
export async function waitForGroupExit(pgid: number, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await groupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
