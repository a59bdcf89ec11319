// The agent's side of the spawn helper (src/workers/spawner-process.ts): a command's process is forked by a
// small helper process instead of the agent, whose fork costs its event loop 3–10 ms (the page tables of the
// whole agent are copied); each process a helper spawns is a `HelperProcess` (src/workers/spawned-process.ts),
// with the same events and fields as a ChildProcess. README, "The spawn helper".
//
// One helper per core, up to 4, started with the agent's workers; until they have said they are ready, and
// where none can run, a command is spawned by the agent itself, as before. If a helper exits while commands
// run, their process groups are killed (so that nothing runs unwatched), each run ends as killed by
// SIGKILL, and a new helper takes its place.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';
import { withDeathSignal } from './death-signal.ts';
import { HelperProcess, spawnDirect, type CommandProcess, type FromHelper, type SpawnRequest } from './spawned-process.ts';

const HELPER = fileURLToPath(new URL('./spawner-process.ts', import.meta.url));
/**
 * The Node binary the helper runs on: the agent's own, through /proc/PID/exe on Linux, which reaches it
 * also where its path does not (an agent started under another user from a checkout closed to it, a
 * binary replaced since the start).
 */
function nodeBinary(): string {
  if (process.platform === 'linux') {
    // The agent's pid, not `self`: setpriv execs it, and its own `self` would be setpriv.
    const exe = `/proc/${process.pid}/exe`;
    try {
      accessSync(exe, constants.X_OK);
      return exe;
    } catch {
      // no /proc: the path it was started by
    }
  }
  return process.execPath;
}

/** A helper that exits this many times in a row without having spawned anything is not started again. */
const MAX_FAILED_STARTS = 3;

/** One helper process, started again when it exits (up to MAX_FAILED_STARTS times in a row at its start). */
class Helper {
  private helper: ChildProcess | undefined;
  private isReady = false;
  private failedStarts = 0;
  private nextId = 1;
  private readonly running = new Map<number, HelperProcess>();
  /** Spawns asked of it and not yet answered: the spawner gives the next to the helper with the fewest. */
  pending = 0;
  private stopped = false;
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  prepare(): void {
    this.startHelper();
  }

  get usable(): boolean {
    return this.helper !== undefined && this.isReady;
  }

  /** Starts the helper if it is not running; true once it is ready, false where there can be none. */
  async ready(): Promise<boolean> {
    for (;;) {
      const helper = this.startHelper();
      if (!helper) return false;
      if (this.isReady) return true;
      this.ref(helper, true); // what is awaited here keeps the process alive
      const gone = (): [undefined] => [undefined];
      const [m] = (await Promise.race([once(helper, 'message').catch(gone), once(helper, 'exit').then(gone, gone)])) as [{ t: 'batch' } | undefined];
      this.refWhileRunning(helper);
      if (m === undefined && this.failedStarts >= MAX_FAILED_STARTS) return false;
    }
  }

  /**
   * Spawns `request` (the helper is usable); a failure to spawn arrives as the process's 'error' event.
   * A command started at once gets its own death signal (SIGKILL when the helper dies): should the helper
   * be killed before this agent learns the pid, nothing else would stop it. A held one needs none: its
   * gate closes with the helper.
   */
  spawn(request: SpawnRequest): CommandProcess {
    const helper = this.helper!;
    if (!request.gate) {
      const argv = withDeathSignal(request.file, request.args, request.env, request.cwd);
      request = { ...request, file: argv.program, args: argv.args };
    }
    const id = this.nextId++;
    const post = (message: Record<string, unknown>): void => {
      if (this.helper === helper && helper.connected) helper.send(message);
    };
    const child = new HelperProcess(id, post, request.gate, helper.pid);
    this.running.set(id, child);
    this.pending++;
    child.once('spawn', () => this.pending--);
    child.once('error', () => this.pending--);
    this.refWhileRunning(helper);
    post({ t: 'spawn', id, ...request });
    return child;
  }

  /** Ends the helper (the agent is stopping; its commands have ended or been given up). */
  stop(): void {
    this.stopped = true;
    if (this.helper?.connected) this.helper.disconnect();
  }

  private startHelper(): ChildProcess | undefined {
    if (this.helper || this.stopped || this.failedStarts >= MAX_FAILED_STARTS) return this.helper;
    let helper: ChildProcess;
    try {
      // The helper ends with the agent, killing its commands' groups first: at its parent-death signal
      // (SIGUSR2, where setpriv exists), and when its channel closes. Its own process group: Ctrl-C and a
      // signal to the agent's group do not reach it.
      const argv = withDeathSignal(nodeBinary(), ['--max-old-space-size=32', '--max-semi-space-size=1', HELPER], process.env, process.cwd(), 'USR2');
      helper = spawn(argv.program, argv.args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced', detached: true });
    } catch (err) {
      this.failedStarts++;
      this.logger.warn({ error: (err as Error).message }, 'the spawn helper could not start: commands are spawned by the agent');
      return undefined;
    }
    this.helper = helper;
    this.isReady = false;
    helper.on('message', (message: { t: 'batch'; batch: FromHelper[] }) => {
      for (const m of message.batch) {
        if (m.t === 'ready') {
          this.isReady = true;
          this.failedStarts = 0;
          continue;
        }
        const child = this.running.get(m.id);
        if (child?.heard(m)) {
          this.running.delete(m.id);
          this.refWhileRunning(helper);
        }
      }
    });
    helper.on('error', (err) => {
      if (helper.pid !== undefined) {
        this.logger.warn({ error: err.message }, 'the spawn helper failed');
        return;
      }
      // It could not be started at all (EACCES, ENOENT): no exit follows, and trying again would fail the same way.
      this.failedStarts = MAX_FAILED_STARTS;
      this.logger.warn({ error: err.message }, 'the spawn helper could not start: commands are forked by the agent');
      this.helperExited(helper, null, null);
    });
    helper.once('exit', (code, signal) => this.helperExited(helper, code, signal));
    this.refWhileRunning(helper);
    return helper;
  }

  private helperExited(helper: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.helper !== helper) return;
    const wasReady = this.isReady;
    this.helper = undefined;
    this.isReady = false;
    if (!wasReady) this.failedStarts++;
    const orphans = [...this.running.values()];
    this.running.clear();
    const neverStarted = helper.pid === undefined; // said when its error came
    if (!this.stopped && !neverStarted) {
      const fields = { exit_code: code, signal, commands_killed: orphans.length };
      if (this.failedStarts >= MAX_FAILED_STARTS) this.logger.warn(fields, 'the spawn helper keeps exiting at its start: commands are spawned by the agent from now on');
      else this.logger.warn(fields, 'the spawn helper exited: the commands it had spawned are killed, and the next command starts a new helper');
    }
    for (const child of orphans) child.orphaned();
    this.pending = 0;
  }

  /** The helper keeps the agent alive only while it has commands running (an idle agent may exit). */
  private refWhileRunning(helper: ChildProcess): void {
    this.ref(helper, this.running.size > 0);
  }

  private ref(helper: ChildProcess, keepAlive: boolean): void {
    const channel = helper.channel as { ref?(): void; unref?(): void } | undefined | null;
    if (keepAlive) {
      helper.ref();
      channel?.ref?.();
    } else {
      helper.unref();
      channel?.unref?.();
    }
  }
}

/**
 * How many helpers an agent runs: a fork holds its helper until the child has exec'd, so one helper forks
 * one command at a time, a few milliseconds each on a busy machine; one per core, up to 4, fork in parallel.
 */
export function helperCount(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Spawns commands through the helpers once they are ready, and by itself until then. */
export class Spawner {
  private readonly helpers: Helper[];

  constructor(logger: Logger, count = helperCount()) {
    this.helpers = Array.from({ length: count }, () => new Helper(logger));
  }

  /** Starts the helpers ahead of the first command (the agent's workers start). */
  prepare(): void {
    for (const helper of this.helpers) helper.prepare();
  }

  /** Starts the helpers that are not running; true once all are ready, false where there can be none. */
  async ready(): Promise<boolean> {
    return (await Promise.all(this.helpers.map((helper) => helper.ready()))).every(Boolean);
  }

  /** Spawns `request`; a failure to spawn arrives as the process's 'error' event, or is thrown. */
  spawn(request: SpawnRequest): CommandProcess {
    let chosen: Helper | undefined;
    for (const helper of this.helpers) {
      if (!helper.usable) helper.prepare(); // one that exited starts again
      else if (chosen === undefined || helper.pending < chosen.pending) chosen = helper;
    }
    return chosen ? chosen.spawn(request) : spawnDirect(request);
  }

  /** Ends the helpers (the agent is stopping; its commands have ended or been given up). */
  stop(): void {
    for (const helper of this.helpers) helper.stop();
  }
}
