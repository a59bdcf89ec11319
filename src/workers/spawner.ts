// The agent's side of the spawn helper (src/workers/spawner-process.ts): a command's process is forked by a
// small helper process instead of the agent, whose fork costs its event loop 3–10 ms (the page tables of the
// whole agent are copied), and each process it spawns is represented here by a `SpawnedProcess`, with
// the same events and fields as a ChildProcess: 'spawn', 'error', 'exit', pid, exitCode, signalCode,
// and its stdout and stderr as streams. README, "The spawn helper".
//
// The helper is started with the agent's workers; until it has said it is ready, and where it cannot run,
// a command is spawned by the agent itself, as before. If the helper exits while commands run, their process groups are killed (so that nothing runs
// unwatched) and each run ends as killed by SIGKILL; the next command starts a new helper.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';
import { withDeathSignal } from './death-signal.ts';
import { signalGroup } from './process-group.ts';

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

export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** A pipe on fd 3 that holds the process until `openGate` (src/workers/command-ahead.ts). */
  gate: boolean;
}

/** A command's process, spawned by the agent or by its helper. */
export interface CommandProcess extends EventEmitter {
  readonly pid?: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The spawn helper that forked it; undefined when the agent did. */
  readonly helperPid?: number | undefined;
  /** Releases a gated process: it execs its command. */
  openGate(): void;
  /** Closes the gate unreleased: the gated process exits without running its command. */
  closeGate(): void;
  /** Closes every pipe still open to the process (stdout and stderr, the gate). */
  release(): void;
}

type FromHelper =
  | { t: 'ready' }
  | { t: 'spawned'; id: number; pid: number }
  | { t: 'error'; id: number; code?: string; message: string }
  | { t: 'out'; id: number; fd: 1 | 2; data: Uint8Array }
  | { t: 'closed'; id: number; fd: 1 | 2 }
  | { t: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };

/** A process the helper spawned. */
class HelperProcess extends EventEmitter implements CommandProcess {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly helperPid: number | undefined;
  private gateOpen: boolean;
  /** Which of stdout and stderr the helper has said are closed. */
  private readonly closedFds = new Set<number>();
  private readonly id: number;
  private readonly post: (message: Record<string, unknown>) => void;

  constructor(id: number, post: (message: Record<string, unknown>) => void, gate: boolean, helperPid: number | undefined) {
    super();
    this.id = id;
    this.helperPid = helperPid;
    this.post = post;
    this.gateOpen = gate;
    this.stdout = this.stream(1);
    this.stderr = this.stream(2);
  }

  private stream(fd: 1 | 2): Readable {
    return new ReadableStream({
      read() {},
      destroy: (err, callback) => {
        if (!this.closedFds.has(fd)) this.post({ t: 'drop', id: this.id, fd }); // the helper still reads it
        callback(err);
      },
    });
  }

  openGate(): void {
    if (!this.gateOpen) return;
    this.gateOpen = false;
    this.post({ t: 'gate', id: this.id });
  }

  closeGate(): void {
    if (!this.gateOpen) return;
    this.gateOpen = false;
    this.post({ t: 'drop', id: this.id, fd: 3 });
  }

  release(): void {
    this.closeGate();
    this.stdout.destroy();
    this.stderr.destroy();
  }

  /** What the helper said of this process. True once nothing more will be said. */
  heard(m: FromHelper): boolean {
    switch (m.t) {
      case 'spawned':
        this.pid = m.pid;
        this.emit('spawn');
        return false;
      case 'error':
        this.emit('error', Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
        return true;
      case 'out':
        if (!this.streamOf(m.fd).destroyed) this.streamOf(m.fd).push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
        return false;
      case 'closed':
        this.closedFds.add(m.fd);
        this.streamOf(m.fd).push(null);
        return this.done();
      case 'exit':
        this.gateOpen = false;
        this.exitCode = m.code;
        this.signalCode = m.signal;
        this.emit('exit', m.code, m.signal);
        return this.done();
      default:
        return false;
    }
  }

  /** The helper is gone: the process's group is killed, and it ends as killed by SIGKILL. */
  orphaned(): void {
    if (this.pid === undefined) {
      this.emit('error', new Error('the spawn helper exited before the command was spawned'));
      return;
    }
    signalGroup(this.pid, 'SIGKILL');
    for (const stream of [this.stdout, this.stderr]) if (!stream.readableEnded) stream.push(null);
    if (this.exitCode === null && this.signalCode === null) {
      this.signalCode = 'SIGKILL';
      this.emit('exit', null, 'SIGKILL');
    }
  }

  private streamOf(fd: 1 | 2): Readable {
    return fd === 1 ? this.stdout : this.stderr;
  }

  private done(): boolean {
    return (this.exitCode !== null || this.signalCode !== null) && this.closedFds.size === 2;
  }
}

/** A process the agent spawned itself (no helper yet, or none possible). */
export function spawnDirect(request: SpawnRequest): CommandProcess {
  const child = spawn(request.file, request.args, {
    cwd: request.cwd,
    env: request.env,
    detached: true, // its own process group, so signals reach the whole tree
    stdio: request.gate ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
  });
  const gate = child.stdio[3] as Writable | null | undefined;
  // The gate's write fails (EPIPE) if the held process was killed meanwhile: its exit tells the run.
  gate?.on('error', () => {});
  return Object.assign(child as ChildProcess & { stdout: Readable; stderr: Readable }, {
    openGate: () => void gate?.end('\n'),
    closeGate: () => void gate?.destroy(),
    release: () => {
      gate?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  });
}

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

  /** Spawns `request` (the helper is usable); a failure to spawn arrives as the process's 'error' event. */
  spawn(request: SpawnRequest): CommandProcess {
    const helper = this.helper!;
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
      // The helper dies with the agent where it can (a parent-death signal), and otherwise when its
      // channel closes. Its own process group: Ctrl-C and a signal to the agent's group do not reach it.
      const argv = withDeathSignal(nodeBinary(), ['--max-old-space-size=32', '--max-semi-space-size=1', HELPER], process.env, process.cwd());
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
