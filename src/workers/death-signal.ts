// On Linux, a command should die with the agent: if the agent is killed (SIGKILL, OOM), its child
// must not run on unnoticed while another replica retries the run. Node cannot set the child's
// parent-death signal (prctl PR_SET_PDEATHSIG) itself, so a command the agent forks is started through
// util-linux's `setpriv --pdeathsig KILL`, which sets it and then execs the program. Processes the
// command started in the background do not inherit it (the kernel clears it on fork); see README. A
// command a spawn helper forks needs none: the helper itself gets a death signal (SIGUSR2), at which it
// kills the process group of every command it forked (src/workers/spawner-process.ts).

import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const SETPRIV = '/usr/bin/setpriv';
let available: boolean | undefined;

function setprivAvailable(): boolean {
  if (available === undefined) {
    try {
      accessSync(SETPRIV, constants.X_OK);
      available = process.platform === 'linux';
    } catch {
      available = false;
    }
  }
  return available;
}

/** Lookups of the last minute: a PATH search is one access() per PATH entry, on every run. */
const RESOLVED_TTL_MS = 60_000;
const resolved = new Map<string, { path: string; atMs: number }>();

/**
 * The program as found on PATH (or as given when it holds a slash), or undefined when there is none.
 * A program found in the last minute is checked where it was found (one access()), not searched for.
 */
export function resolveProgram(program: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const key = `${program}\0${env.PATH ?? ''}\0${cwd}`;
  const known = resolved.get(key);
  if (known && Date.now() - known.atMs < RESOLVED_TTL_MS) {
    try {
      accessSync(known.path, constants.X_OK);
      return known.path;
    } catch {
      resolved.delete(key);
    }
  }
  const found = searchProgram(program, env, cwd);
  if (found !== undefined) {
    if (resolved.size > 1000) resolved.clear();
    resolved.set(key, { path: found, atMs: Date.now() });
  }
  return found;
}

function searchProgram(program: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const candidates = program.includes('/') ? [path.resolve(cwd, program)] : (env.PATH ?? '').split(':').filter(Boolean).map((dir) => path.join(dir, program));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The argv that starts `program args` so that it receives `signal` when the agent dies, where possible. */
export function withDeathSignal(program: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, signal: 'KILL' | 'USR2' = 'KILL'): { program: string; args: string[] } {
  if (!setprivAvailable()) return { program, args };
  const resolved = resolveProgram(program, env, cwd);
  if (resolved === undefined) return { program, args }; // let spawn report the missing program
  return { program: SETPRIV, args: ['--pdeathsig', signal, '--', resolved, ...args] };
}
