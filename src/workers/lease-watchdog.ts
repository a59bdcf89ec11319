// A watchdog outside the agent's process for the process groups of its runs. The agent's own lease
// timers (src/workers/fetch-loop.ts) stop a run whose lease ran out, but not when the agent itself is
// paused (SIGSTOP, a stopped container, a frozen VM, a long GC pause): its children go on running while
// another agent takes the run over. So the agent tells a small bash process, every second and at each
// start, how long each group's lease has left by its own clock; when a group is not told again in time,
// the watchdog sends the group SIGTERM, then SIGKILL after the given grace. When the agent dies (the
// watchdog's stdin closes), it kills the groups it still watches. Time is read from /proc/uptime (the
// monotonic boot clock), so a wall-clock step changes nothing.
//
// Where /bin/bash is missing the watchdog is off (one warning); the in-process lease timers still apply.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Logger } from '../log.ts';

const BASH = '/bin/bash';

/** Reads `PGID LEFT_MS GRACE_MS` lines; LEFT_MS 0 forgets the group. */
export const WATCHDOG_SCRIPT = `

declare -A due=() grace=()
now_ms() { local up; read -r up _ < /proc/uptime; NOW=$(( \${up%.*} * 1000 + 10#\${up#*.} * 10 )); }
while :; do
  if (( \${#due[@]} > 0 )); then read -r -t 0.1 pgid left kg; rc=$?; else read -r pgid left kg; rc=$?; fi
  if (( rc == 0 )); then
    now_ms
    if (( left > 0 )); then due[$pgid]=$(( NOW + left )); grace[$pgid]=$kg; else unset "due[$pgid]" "grace[$pgid]"; fi
  elif (( rc <= 128 )); then
    for p in "\${!due[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    exit 0
  fi
  now_ms
  for p in "\${!due[@]}"; do
    if (( due[$p] <= NOW )); then
      kill -TERM -- "-$p" 2>/dev/null
      g=\${grace[$p]}
      ( sleep "$(( g / 1000 )).$(printf %03d $(( g % 1000 )))"; kill -KILL -- "-$p" 2>/dev/null ) &
      unset "due[$p]" "grace[$p]"
    fi
  done
done
`;

export class LeaseWatchdog {
  private readonly logger: Logger;
  private child: ChildProcess | undefined;
  private unavailable = false;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** Watches group `pgid`: terminated unless told again within `leftMs`; SIGKILL `graceMs` after SIGTERM. */
  watch(pgid: number, leftMs: number, graceMs: number): void {
    this.send(`${pgid} ${Math.max(1, Math.floor(leftMs))} ${Math.max(0, Math.floor(graceMs))}\n`);
  }

  forget(pgid: number): void {
    if (this.child) this.send(`${pgid} 0 0\n`);
  }

  /** Ends the watchdog; groups it still watches are killed (there are none after a drain). */
  stop(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private send(line: string): void {
    const child = this.start();
    if (!child?.stdin?.writable) return;
    child.stdin.write(line);
  }

  private start(): ChildProcess | undefined {
    if (this.child || this.unavailable) return this.child;
    try {
      accessSync(BASH, constants.X_OK);
    } catch {
      this.unavailable = true;
      this.logger.warn(`${BASH} not found: no watchdog outside the agent for its runs' leases (a paused agent's commands are not stopped when their lease runs out)`);
      return undefined;
    }
    // Its own process group: a Ctrl-Z or a signal to the agent's group does not reach it.
    const child = spawn(BASH, ['-c', WATCHDOG_SCRIPT, 'jobsd-lease-watchdog'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    child.stdin!.on('error', () => undefined);
    child.on('error', (err) => this.logger.warn({ err }, 'the lease watchdog could not start'));
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    this.child = child;
    return child;
  }
}
