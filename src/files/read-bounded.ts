// Reading a file with a size limit, whatever it is: a 50 MB job file, `${file:/dev/zero}` or a FIFO must
// fail with a message, not fill the memory or block.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The file's bytes; throws a readable error when it is a directory or holds more than `maxBytes`. */
export function readBounded(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new Error('is a directory');
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > maxBytes) throw new Error(tooBig(stat.size, maxBytes));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new Error(tooBig(total, maxBytes, false));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** `exact`: `size` is the file's size; otherwise reading stopped after `size` bytes. */
export function tooBig(size: number, maxBytes: number, exact = true): string {
  return `${exact ? formatBytes(size) : `more than ${formatBytes(maxBytes)}`}, over the limit of ${formatBytes(maxBytes)}: raise it with --max-file-size (JOBSD_MAX_FILE_SIZE) if this is intended`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB`;
  return `${n} bytes`;
}
