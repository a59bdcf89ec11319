// Where log lines go: synchronous writes to a file descriptor, that survive a pipe in non-blocking
// mode; for the agent (`coalesce`), one write for the lines of one turn of the event loop.
//
// Coalesced, the lines logged in one turn are written together once it ends (setImmediate), or at
// once when they reach 64 KiB, and whatever is pending is written when the process exits
// (process.exit and uncaught exceptions included) or before a fatal error is printed (flushLogs).
// When 100 runs due at one instant start in one callback, each `run started` line was a write(2) of
// its own, about 35 µs here, and every run waited for the lines of the runs before it. A process
// killed outright (SIGKILL, an abort, a signal it does not handle) loses the lines of its last turn.
// The one-shot commands write each line at once: their lines keep their place among what they print.
//
// A write that fails for another reason than a full pipe (a full disk) drops the lines, says so once
// on stderr, and does not stop the agent: jobs go on running without their log until writes succeed.
//
// Whether a pipe is non-blocking belongs to the open pipe, shared by every process that holds it: a
// parent that is itself a Node process (`npm start`), or any Node code in the agent that creates
// `process.stdout`, switches it. A write then fails with EAGAIN whenever the reader lags, and pino's
// own writer (sonic-boom) sleeps 100 ms on that, with the event loop held: every run due meanwhile
// started 100 ms late. This writer waits 1 ms and tries again, so it waits only as long as the reader
// needs (test/log.test.ts).
import { writeSync } from 'node:fs';

const RETRY_MS = 1;
const pause = new Int32Array(new SharedArrayBuffer(4));

export interface LineWriter {
  write(chunk: string): boolean;
}

const FLUSH_AT = 64 * 1024;

/** The writers holding lines not yet written: one exit listener writes them all. */
const unflushed = new Set<() => void>();
let exitHooked = false;

export function fdWriter(fd: number, { coalesce = false }: { coalesce?: boolean } = {}): LineWriter {
  let pending: string[] = [];
  let size = 0;
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false; // the reader went away (EPIPE): lines are dropped, runs go on
  let failing = false; // a write failed otherwise (a full disk): lines are dropped until one succeeds

  const write = (text: string) => {
    if (closed) return;
    try {
      closed = !writeAll(fd, Buffer.from(text));
      failing = false;
    } catch (err) {
      // Not a reason to stop running jobs; said once on stderr (when the log is not stderr itself).
      if (!failing && fd !== 2) {
        try {
          writeSync(2, `jobsd: writing log lines failed (${(err as NodeJS.ErrnoException).code ?? String(err)}): lines are dropped until a write succeeds\n`);
        } catch {
          // nowhere left to say it
        }
      }
      failing = true;
    }
  };

  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    unflushed.delete(flush);
    if (pending.length === 0) return;
    const text = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    size = 0;
    write(text);
  };
  if (coalesce && !exitHooked) {
    exitHooked = true;
    process.on('exit', flushLogs);
  }

  return {
    write(chunk) {
      if (closed) return false;
      if (!coalesce) {
        write(chunk);
        return !closed;
      }
      pending.push(chunk);
      size += chunk.length;
      if (size >= FLUSH_AT) {
        flush();
      } else if (!scheduled) {
        scheduled = setImmediate(flush);
        unflushed.add(flush);
      }
      return !closed;
    },
  };
}

/** Writes the lines every coalescing writer still holds (on exit, and before printing a fatal error). */
export function flushLogs(): void {
  for (const flush of unflushed) flush();
}

/** Writes all of `buf`, waiting 1 ms at a time while the pipe is full; false if nobody reads it any more. */
function writeAll(fd: number, buf: Buffer): boolean {
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EBUSY') Atomics.wait(pause, 0, 0, RETRY_MS);
      else if (code === 'EPIPE') return false;
      else throw err;
    }
  }
  return true;
}
