// On Linux, a command should die with the agent: if the agent is killed (SIGKILL, OOM), its child
// must not run on unnoticed while another replica retries the run. Node cannot set the child's
// parent-death signal (prctl PR_SET_PDEATHSIG) itself, so the child is started through util-linux's
// `setpriv --pdeathsig KILL`, which sets it and then execs the program. Processes the command
// started in the background do not inherit it (the kernel clears it on fork); see README.

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

/** The program as found on PATH (or as given when it holds a slash), or undefined when there is none. */
export function resolveProgram(program: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
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

/** The argv that starts `program args` so that it receives SIGKILL when the agent dies, where possible. */
export function withDeathSignal(program: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): { program: string; args: string[] } {
  if (!setprivAvailable()) return { program, args };
  const resolved = resolveProgram(program, env, cwd);
  if (resolved === undefined) return { program, args }; // let spawn report the missing program
  return { program: SETPRIV, args: ['--pdeathsig', 'KILL', '--', resolved, ...args] };
}
