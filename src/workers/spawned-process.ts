// A command's process as the command worker sees it, whoever forked it: the agent itself (`spawnDirect`)
// or one of its spawn helpers (`HelperProcess`, fed by src/workers/spawner.ts with what the helper says).
// Both have the events and fields of a ChildProcess ('spawn', 'error', 'exit', pid, exitCode, signalCode,
// stdout and stderr as streams) and the gate of a command spawned ahead.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { withDeathSignal } from './death-signal.ts';
import { signalGroup } from './process-group.ts';

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

export type FromHelper =
  | { t: 'ready' }
  | { t: 'spawned'; id: number; pid: number }
  | { t: 'error'; id: number; code?: string; message: string }
  | { t: 'out'; id: number; fd: 1 | 2; data: Uint8Array }
  | { t: 'closed'; id: number; fd: 1 | 2 }
  | { t: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };

/** A process the helper spawned. */
export class HelperProcess extends EventEmitter implements CommandProcess {
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
      // It may have been forked, its pid not yet told: its own death signal ends it (src/workers/spawner.ts).
      this.emit('error', new Error('the spawn helper exited before it told whether the command started (one that did was killed with the helper)'));
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

/** A process the agent spawned itself (no helper yet, or none possible), with its death signal. */
export function spawnDirect(request: SpawnRequest): CommandProcess {
  const argv = withDeathSignal(request.file, request.args, request.env, request.cwd);
  const child = spawn(argv.program, argv.args, {
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
