// The spawn helper: a small Node process that forks the agent's commands, so that the fork (which copies
// the forking process's page tables: about 1 ms for this process, 3–10 ms for an agent of 200–560 MB) is
// not paid on the agent's event loop (README, "The spawn helper"). The agent side is src/workers/spawner.ts.
//
// It imports nothing of the project and only node:child_process, to stay small. Over its IPC channel
// (advanced serialization: Buffers pass as they are) it takes
//   { t: 'spawn', id, file, args, cwd, env, gate }   spawn detached (its own process group), stdin ignored,
//                                                     stdout and stderr piped, and with `gate` a pipe on fd 3
//   { t: 'gate', id }                                 write a line to fd 3 and close it (start a held command)
//   { t: 'drop', id, fd }                             close that pipe (the agent stopped reading, or a gate unused)
// and answers, the messages of one turn of its event loop together ({ t: 'batch', batch: [...] })
//   { t: 'spawned', id, pid } | { t: 'error', id, code, message }
//   { t: 'out', id, fd, data } | { t: 'closed', id, fd } | { t: 'exit', id, code, signal }
// A child's output is read while what the agent has not yet been sent stays under a bound; past it every
// child's reading pauses (the child then waits on its write, as it would on a slow agent).
//
// It ignores the terminal's and the service manager's signals (Ctrl-C reaches the whole foreground group):
// it ends when the agent does. When the agent dies (its parent-death signal, SIGUSR2, where util-linux
// setpriv exists: src/workers/death-signal.ts) or its channel closes, it kills the process group of every
// command still running or held, and exits. So a command held at its gate needs no death signal of its
// own (one exec less for each), and what it started in the background goes with it. Should the helper
// itself be killed, a held command's gate closes and it exits unstarted; a command started due now has a
// death signal of its own (the agent adds it: src/workers/spawner.ts), for the agent may not know its pid yet.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

process.title = 'jobsd-spawner';
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => {});

/** Output read but not yet handed to the channel, past which reading pauses. */
const UNSENT_LIMIT = 1 << 20;

interface Entry {
  child: ChildProcess;
  pid?: number;
  streams: Map<number, Readable>;
  gate?: Writable;
}

const children = new Map<number, Entry>();
let unsent = 0;
let paused = false;

/** Messages of this turn of the event loop, sent together once it ends: one write for many. */
let outgoing: Array<Record<string, unknown>> = [];
let outgoingBytes = 0;

function send(message: Record<string, unknown>, bytes = 0): void {
  if (!process.connected) return;
  if (outgoing.length === 0) setImmediate(flush);
  outgoing.push(message);
  outgoingBytes += bytes;
  unsent += bytes;
  if (!paused && unsent >= UNSENT_LIMIT) {
    paused = true;
    for (const entry of children.values()) for (const stream of entry.streams.values()) stream.pause();
  }
}

function flush(): void {
  if (outgoing.length === 0) return;
  const batch = outgoing;
  const bytes = outgoingBytes;
  outgoing = [];
  outgoingBytes = 0;
  if (!process.connected) return;
  process.send!({ t: 'batch', batch }, undefined, {}, () => {
    unsent -= bytes;
    if (paused && unsent < UNSENT_LIMIT / 2) {
      paused = false;
      for (const entry of children.values()) for (const stream of entry.streams.values()) stream.resume();
    }
  });
}

/**
 * Spawns wait their turn, one per turn of the event loop: a fork holds this process until the child has
 * exec'd (libuv waits to learn whether the exec failed), 1–10 ms on a busy machine, and what arrives
 * meanwhile (a held command's start, output) is handled between two spawns, not after all of them.
 */
const spawns: Array<() => void> = [];

function queueSpawn(spawnOne: () => void): void {
  spawns.push(spawnOne);
  if (spawns.length === 1) setImmediate(nextSpawn);
}

function nextSpawn(): void {
  flush(); // what the last spawn had to say ('spawned'), before this one holds the loop
  spawns.shift()?.();
  if (spawns.length > 0) setImmediate(nextSpawn);
}

function start(id: number, file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, gate: boolean): void {
  let child: ChildProcess;
  try {
    child = spawn(file, args, { cwd, env, detached: true, stdio: gate ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    send({ t: 'error', id, code: (err as NodeJS.ErrnoException).code, message: (err as Error).message });
    return;
  }
  const entry: Entry = { child, streams: new Map() };
  children.set(id, entry);
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (entry.pid !== undefined) return; // after the spawn: a kill that failed; the exit tells the rest
    children.delete(id);
    for (const stream of child.stdio) stream?.destroy();
    send({ t: 'error', id, code: err.code, message: err.message });
  });
  child.once('spawn', () => {
    entry.pid = child.pid;
    send({ t: 'spawned', id, pid: child.pid });
    for (const fd of [1, 2]) {
      const stream = child.stdio[fd] as Readable;
      entry.streams.set(fd, stream);
      stream.on('data', (data: Buffer) => send({ t: 'out', id, fd, data }, data.length));
      stream.on('error', () => {});
      stream.once('close', () => {
        entry.streams.delete(fd);
        send({ t: 'closed', id, fd });
        forgetIfDone(id, entry);
      });
      if (paused) stream.pause();
    }
    if (gate) {
      entry.gate = child.stdio[3] as Writable;
      entry.gate.on('error', () => {}); // EPIPE: the held process was killed meanwhile; its exit tells
    }
  });
  child.once('exit', (code, signal) => {
    entry.gate?.destroy();
    entry.gate = undefined;
    send({ t: 'exit', id, code, signal });
    forgetIfDone(id, entry);
  });
}

function forgetIfDone(id: number, entry: Entry): void {
  if (entry.streams.size === 0 && (entry.child.exitCode !== null || entry.child.signalCode !== null)) children.delete(id);
}

process.on('message', (m: { t: string; id: number; fd?: number; file?: string; args?: string[]; cwd?: string; env?: NodeJS.ProcessEnv; gate?: boolean }) => {
  if (m.t === 'spawn') return queueSpawn(() => start(m.id, m.file!, m.args!, m.cwd!, m.env!, m.gate === true));
  const entry = children.get(m.id);
  if (!entry) return;
  if (m.t === 'gate') {
    entry.gate?.end('\n');
    entry.gate = undefined;
  } else if (m.t === 'drop') {
    if (m.fd === 3) {
      entry.gate?.destroy();
      entry.gate = undefined;
    } else {
      entry.streams.get(m.fd!)?.destroy();
    }
  }
});

/** The agent is gone: nothing it started may run on unwatched. */
function killAllAndExit(): never {
  for (const entry of children.values()) {
    const pid = entry.child.pid; // set at the fork, before its 'spawn' event
    if (pid === undefined) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  process.exit(0);
}
// SIGUSR2 is the death signal only when the agent is gone (this process has a new parent then): one sent
// from outside, as `systemctl kill -s USR2` sends it to every process of the unit, is not.
const agentPid = process.ppid;
process.on('SIGUSR2', () => {
  if (process.ppid !== agentPid) killAllAndExit();
});
process.on('disconnect', killAllAndExit);

send({ t: 'ready' });
