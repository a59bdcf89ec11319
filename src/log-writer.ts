// Where the agent's log lines go: synchronous writes to a file descriptor (a line written before a
// crash is not lost), that survive a pipe in non-blocking mode.
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

export function fdWriter(fd: number): LineWriter {
  return {
    write(chunk) {
      let buf = Buffer.from(chunk);
      while (buf.length > 0) {
        try {
          buf = buf.subarray(writeSync(fd, buf));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' || code === 'EBUSY') Atomics.wait(pause, 0, 0, RETRY_MS);
          else if (code === 'EPIPE') return false; // nobody reads the log any more: runs go on
          else throw err;
        }
      }
      return true;
    },
  };
}
