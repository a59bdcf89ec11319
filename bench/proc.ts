// The benchmark's descendant processes as /proc tells them: name, parent, and CPU in ms (their own, and
// that of their reaped children), for the peers' CPU figures (PostgreSQL, VictoriaMetrics).
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcCpu {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, ms. */
  ownMs: number;
  /** cutime + cstime (children waited for), ms. */
  childrenMs: number;
}

/** Every process descended from this one, now. */
export function descendants(): ProcCpu[] {
  const procs = new Map<number, ProcCpu>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const close = stat.lastIndexOf(')');
    const f = stat.slice(close + 2).split(' ');
    // utime, stime, cutime, cstime (fields 14–17), in clock ticks of 1/100 s
    procs.set(Number(entry), { pid: Number(entry), ppid: Number(f[1]), comm: stat.slice(stat.indexOf('(') + 1, close), ownMs: (Number(f[11]) + Number(f[12])) * 10, childrenMs: (Number(f[13]) + Number(f[14])) * 10 });
  }
  const ours = (pid: number) => {
    for (let p = procs.get(pid)?.ppid; p !== undefined && p > 1; p = procs.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  return [...procs.values()].filter((p) => ours(p.pid));
}

/** The parent of a process among `procs`, if it is there. */
export function parentOf(procs: readonly ProcCpu[], p: ProcCpu): ProcCpu | undefined {
  return procs.find((q) => q.pid === p.ppid);
}
