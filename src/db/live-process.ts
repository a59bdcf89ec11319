// Whether a pid read from a file (postmaster.pid, DATA_DIR/agent.pid) is still the process that wrote
// it: alive, and on Linux with the expected command line (a stale file's pid may have been reused).

import { readFileSync } from 'node:fs';

/** Whether `pid` is alive and, where /proc tells, its command line passes `matches`. */
export function liveProcess(pid: number, matches: (argv: string[]) => boolean): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    return matches(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
  } catch {
    return false;
  }
}
