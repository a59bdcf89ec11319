// A `command` run claimed ahead of its time (src/queue/ahead.ts) has its process spawned while the
// worker holds it: spawning forks the whole agent (about 10 ms of its event loop), which this moves
// before the fire. The process is a shell that waits on fd 3 and then execs the command in place (same
// pid, process group, environment and pipes), so starting the run costs a write to a pipe. If the pipe
// closes unwritten (the run is cancelled, the agent dies), the shell exits without running anything.
// At the start the process, its program and its cwd are checked again; if any changed, the run spawns
// anew (README, "Commands spawned ahead").
import { statSync } from 'node:fs';
import type { Logger } from '../log.ts';
import { resolveProgram } from './death-signal.ts';
import { argvOf, commandEnv, launch, type CommandJob, type Gate, type Launched } from './command-launch.ts';
import { signalGroup } from './process-group.ts';
import { makeOutputDir, removeOutputDir } from './output-files.ts';
import type { RunContext } from './result.ts';

/** What a command spawned ahead was spawned with, checked again when it is started. */
interface Spawned {
  /** The program as found on PATH (the environment's). */
  resolved: string;
  env: NodeJS.ProcessEnv;
  /** The cwd's device and inode: a directory removed or swapped (a `current` symlink) since then differs. */
  cwd: string;
}

/** The shell that holds a command spawned ahead until a line arrives on fd 3. */
const GATE_SCRIPT = 'read -r _ <&3 || exit 125; exec "$@" 3<&-';

const gated: Gate = (program, args) => ['/bin/sh', ['-c', GATE_SCRIPT, 'jobsd-gate', program, ...args]];

/** A command spawned ahead of its due time, waiting to be started by `runCommand` or discarded. */
export interface HeldCommand {
  readonly launched: Launched;
  readonly spawned: Spawned;
  /** The attempt's JOBSD_OUTPUT_DIR, made before the spawn; removed by `discard`, else by the run. */
  readonly outputDir: string;
  /** Set once `runCommand` has taken it over (started it, or discarded it to spawn anew). */
  taken: boolean;
  /** Ends the waiting process without running the command, and removes its output directory. */
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
 * Spawns the command ahead of its due time, held at its gate. Undefined when it is not done: the run then
 * spawns it when due, and reports any problem (a missing program, a bad cwd) as it would. Not done when
 * the shell would change the environment (a variable whose name is not a shell name).
 */
export async function spawnAhead(def: CommandJob, ctx: RunContext): Promise<HeldCommand | undefined> {
  const [program] = argvOf(def.task);
  if (program === undefined) return undefined;
  if (!Object.keys(commandEnv(def, ctx, '')).every((name) => SHELL_NAME.test(name))) return undefined;
  const outputDir = await makeOutputDir().catch(() => undefined);
  if (outputDir === undefined) return undefined; // the run makes it when due, and reports why it cannot
  const env = commandEnv(def, ctx, outputDir);
  const resolved = resolveProgram(program, env, def.task.cwd);
  const cwd = cwdIdentity(def.task.cwd);
  const launched = resolved === undefined || cwd === undefined ? undefined : await launch(def, ctx, outputDir, gated);
  if (launched === undefined || 'problem' in launched) {
    await removeOutputDir(outputDir);
    return undefined;
  }
  return {
    launched,
    spawned: { resolved: resolved!, env, cwd: cwd! },
    outputDir,
    taken: false,
    async discard() {
      launched.child.closeGate();
      signalGroup(launched.pid, 'SIGKILL');
      await launched.exited.catch(() => {});
      launched.child.release();
      await removeOutputDir(outputDir);
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

/**
 * Starts the held process if it is still valid, and returns it; otherwise discards it and returns
 * undefined, for the run to spawn the command anew. Either way the run has taken it over.
 */
export async function startHeld(def: CommandJob, held: HeldCommand, log: Logger): Promise<Launched | undefined> {
  held.taken = true;
  if (stillValid(def, held)) {
    held.launched.child.openGate();
    return held.launched;
  }
  log.info({ pid: held.launched.pid }, 'the process spawned ahead is gone, or its program or cwd changed: spawning the command now');
  await held.discard();
  return undefined;
}
