// Where log lines go. Two writers to a file descriptor:
//
// The agent's (`coalesce`) writes the lines of one turn of the event loop together once the turn ends
// (setImmediate), or at once when they reach 64 KiB, and never waits for the reader: a reader that lags
// or stops reading (a container runtime's log driver, the journal under load, a pipe to a log shipper)
// delays no fire. What the reader has not taken yet waits in memory, in order, up to `bufferBytes`
// (4 MiB), and is written as the reader makes room (tried again on a timer, 1 to 50 ms apart). Past that
// bound the lines of each turn are dropped whole, and counted (logLinesDropped, the metric
// jobsd_log_lines_dropped_total), until the reader has taken half of what waits; then one warning,
// `log lines dropped` with the count, comes before the lines that follow. Whatever is pending is written
// when the process exits (process.exit and uncaught exceptions included) or before a fatal error is
// printed (flushLogs), waiting at most EXIT_WAIT_MS for a reader that does not read; what is left then
// is counted on stderr. A process killed outright (SIGKILL, an abort) loses the lines of its last turn.
//
// Not waiting needs a non-blocking descriptor. Whether one is non-blocking belongs to the open file
// description, shared by every process that holds it. A pipe (FIFO) is opened anew through
// /proc/self/fd, which gives the agent a description of its own, non-blocking, and leaves the shared one
// as it was. A socket (what Node's child_process and systemd's journal hand a child as its stdout) cannot
// be opened anew, nor can another user's pipe: the shared description is made non-blocking, through
// `process.stdout` (which Node creates so). A file is written as it is.
//
// The one-shot commands write each line at once, synchronously: their lines keep their place among what
// they print. On a non-blocking pipe (under `npm start`: npm is Node and switched it), a full pipe makes a
// write fail with EAGAIN; pino's own writer (sonic-boom) sleeps 100 ms on that, this one 1 ms at a time,
// so it waits only as long as the reader needs (test/log.test.ts).
//
// A write that fails for another reason than a full pipe (a full disk) drops its lines, says so once on
// stderr, and does not stop the agent: jobs go on running without their log until writes succeed.
import { constants, fstatSync, openSync, writeSync } from 'node:fs';

export interface LineWriter {
  write(chunk: string): boolean;
}

export interface AgentLineWriter extends LineWriter {
  /** Called, once the reader has made room again, with the number of lines dropped meanwhile. */
  onDropped?: (lines: number) => void;
}

export interface WriterOptions {
  /** The agent's writer (above); otherwise each line is written at once. */
  coalesce?: boolean;
  /** What waits for a lagging reader at most (coalesce only). */
  bufferBytes?: number;
}

const FLUSH_AT = 64 * 1024;
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024;
/** How long the exit waits at most for a reader that does not read. */
const EXIT_WAIT_MS = 1_000;
const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 50;

const pause = new Int32Array(new SharedArrayBuffer(4));
let dropped = 0;

/** Lines the agent's writers dropped since the process started (a reader that lagged too far, a failed write). */
export function logLinesDropped(): number {
  return dropped;
}

/** The writers that may hold lines not yet written: flushLogs writes them all. */
const agentWriters = new Set<{ flushNow: (deadlineMs: number) => void }>();
let exitHooked = false;

export function fdWriter(fd: number, { coalesce = false, bufferBytes = LOG_BUFFER_BYTES }: WriterOptions = {}): AgentLineWriter {
  return coalesce ? agentWriter(fd, bufferBytes) : immediateWriter(fd);
}

/** Writes the lines every agent writer still holds, waiting a moment for a lagging reader (on exit, before a fatal error). */
export function flushLogs(): void {
  const deadline = Date.now() + EXIT_WAIT_MS;
  for (const writer of agentWriters) writer.flushNow(deadline);
}

/** Each line at once, waiting 1 ms at a time while a non-blocking pipe is full (the one-shot commands). */
function immediateWriter(fd: number): LineWriter {
  const failure = failureNotice(fd);
  let closed = false; // the reader went away (EPIPE): lines are dropped
  return {
    write(chunk) {
      if (closed) return false;
      try {
        let buf = Buffer.from(chunk);
        while (buf.length > 0) {
          try {
            buf = buf.subarray(writeSync(fd, buf));
          } catch (err) {
            if (!isFull(err)) throw err;
            Atomics.wait(pause, 0, 0, 1);
          }
        }
        failure.cleared();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') closed = true;
        else failure.failed(err);
      }
      return !closed;
    },
  };
}

interface Queued {
  buf: Buffer;
  lines: number;
}

function agentWriter(fd: number, bufferBytes: number): AgentLineWriter {
  const out = nonBlocking(fd);
  const failure = failureNotice(fd);
  let pending: string[] = []; // this turn's lines
  let pendingSize = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const queue: Queued[] = []; // handed over, not yet taken by the reader
  let queuedBytes = 0;
  let retry: NodeJS.Timeout | undefined;
  let retryMs = RETRY_MIN_MS;
  let dropping = false; // past the bound: whole turns are dropped until half of the queue is written
  let droppedHere = 0; // since the last report
  let closed = false; // the reader went away (EPIPE)

  const drop = (lines: number) => {
    dropped += lines;
  };

  /** Writes from the head of the queue until it is empty or the descriptor is full; true when empty. */
  const writeQueued = (): boolean => {
    let wrote = false;
    while (queue.length > 0) {
      const head = queue[0]!;
      try {
        const n = writeSync(out, head.buf);
        wrote = true;
        queuedBytes -= n;
        if (n === head.buf.length) queue.shift();
        else head.buf = head.buf.subarray(n);
        failure.cleared();
      } catch (err) {
        if (isFull(err)) break;
        queue.shift();
        queuedBytes -= head.buf.length;
        drop(countLines(head.buf));
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
          closed = true;
          for (const q of queue.splice(0)) drop(countLines(q.buf));
          queuedBytes = 0;
        } else {
          failure.failed(err);
        }
      }
    }
    retryMs = wrote ? RETRY_MIN_MS : Math.min(RETRY_MAX_MS, retryMs * 2);
    if (dropping && queuedBytes <= bufferBytes / 2) {
      dropping = false;
      const lines = droppedHere;
      droppedHere = 0;
      writer.onDropped?.(lines); // logs through this writer: the report comes first among the lines that follow
    }
    return queue.length === 0;
  };

  const drain = () => {
    retry = undefined;
    if (!writeQueued()) retry = setTimeout(drain, retryMs).unref();
  };

  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    if (pending.length === 0) return;
    const lines = pending.length;
    const text = lines === 1 ? pending[0]! : pending.join('');
    pending = [];
    pendingSize = 0;
    if (closed) return drop(lines);
    const buf = Buffer.from(text);
    if (dropping || (queue.length > 0 && queuedBytes + buf.length > bufferBytes)) {
      dropping = true;
      droppedHere += lines;
      return drop(lines);
    }
    queue.push({ buf, lines });
    queuedBytes += buf.length;
    if (!retry) drain(); // else the timer's turn writes it, after what waits before it
  };

  const flushNow = (deadlineMs: number) => {
    flush();
    if (dropping && droppedHere > 0) {
      // The reader will not make room before the exit: the count goes last.
      dropping = false;
      const lines = droppedHere;
      droppedHere = 0;
      writer.onDropped?.(lines);
      flush();
    }
    clearTimeout(retry);
    retry = undefined;
    while (!writeQueued() && Date.now() < deadlineMs) Atomics.wait(pause, 0, 0, 1);
    if (queue.length === 0) return;
    const left = queue.splice(0).reduce((n, q) => n + countLines(q.buf), 0);
    queuedBytes = 0;
    drop(left);
    try {
      writeSync(2, `jobsd: ${left} log lines not written: the log's reader did not read them within ${EXIT_WAIT_MS} ms\n`);
    } catch {
      // nowhere left to say it
    }
  };

  const writer: AgentLineWriter = {
    write(chunk) {
      if (closed) return false;
      pending.push(chunk);
      pendingSize += chunk.length;
      if (pendingSize >= FLUSH_AT) flush();
      else scheduled ??= setImmediate(flush);
      return !closed;
    },
  };
  agentWriters.add({ flushNow });
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', flushLogs);
  }
  return writer;
}

/**
 * A descriptor for `fd` on which a write never waits: a pipe's own, opened anew through /proc; else `fd`
 * itself, a pipe or socket switched to non-blocking (shared with whoever else holds it), or a file.
 */
function nonBlocking(fd: number): number {
  let stat;
  try {
    stat = fstatSync(fd);
  } catch {
    return fd;
  }
  if (stat.isFIFO()) {
    try {
      return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      // no /proc, or another user's pipe: switched below
    }
  }
  if (stat.isFIFO() || stat.isSocket()) {
    // Node creates a pipe or socket's stream non-blocking (libuv). It is kept, not used: the lines go through `out`.
    if (fd === 1) void process.stdout;
    else if (fd === 2) void process.stderr;
  }
  return fd;
}

function isFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EBUSY';
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** A failed write (a full disk) said once on stderr, when the log is not stderr itself; again after a write succeeded. */
function failureNotice(fd: number): { failed: (err: unknown) => void; cleared: () => void } {
  let failing = false;
  return {
    failed(err) {
      if (!failing && fd !== 2) {
        try {
          writeSync(2, `jobsd: writing log lines failed (${(err as NodeJS.ErrnoException).code ?? String(err)}): lines are dropped until a write succeeds\n`);
        } catch {
          // nowhere left to say it
        }
      }
      failing = true;
    },
    cleared() {
      failing = false;
    },
  };
}
