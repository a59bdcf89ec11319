// Bounded capture of a child's output: the last N bytes of a stream, and a splitter that
// logs each line as it arrives (supercronic drains stdout/stderr line by line into its logger).
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../log.ts';

export const OUTPUT_TAIL_BYTES = 64 * 1024;

/** True for a UTF-8 continuation byte (0b10xxxxxx). */
function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && (byte & 0xc0) === 0x80;
}

/** The last at most `max` bytes of `buf`, starting on a character boundary. */
export function utf8Tail(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let start = buf.length - max;
  // A character is at most 4 bytes, so skip at most 3 continuation bytes.
  for (let i = 0; i < 3 && isContinuation(buf[start]); i++) start++;
  return buf.subarray(start);
}

/** The first at most `max` bytes of `buf`, not ending inside a character. */
export function utf8Head(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  // Back up to the first byte of the character that straddles the cut, if any.
  for (let i = 0; i < 3 && isContinuation(buf[end]); i++) end--;
  return buf.subarray(0, end);
}

/** Keeps the last `limit` bytes written to it. */
export class OutputTail {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #total = 0;

  constructor(limit = OUTPUT_TAIL_BYTES) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    if (chunk.length >= this.limit) {
      this.#chunks = [chunk.subarray(chunk.length - this.limit)];
      this.#size = this.limit;
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    // Drop whole chunks from the front while the rest still covers the limit.
    while (this.#chunks.length > 1 && this.#size - this.#chunks[0]!.length >= this.limit) {
      this.#size -= this.#chunks.shift()!.length;
    }
  }

  /** Bytes written in total, including those no longer kept. */
  get totalBytes(): number {
    return this.#total;
  }

  get truncated(): boolean {
    return this.#total > this.limit;
  }

  toString(): string {
    return utf8Tail(Buffer.concat(this.#chunks, this.#size), this.limit).toString('utf8');
  }
}

/** Longest line logged as one entry; longer runs without a newline are logged in pieces. */
export const MAX_LINE_CHARS = 16 * 1024;

export interface LineSink {
  write(chunk: Buffer): void;
  /** Logs a final line that had no newline. */
  end(): void;
}

/**
 * Splits a byte stream into lines (`\n`, with a trailing `\r` dropped) and logs each one at
 * info with `fields` plus `stream`. Multi-byte characters split across chunks are kept whole.
 */
export function lineLogger(logger: Logger, fields: Record<string, unknown>, stream: string): LineSink {
  const decoder = new StringDecoder('utf8');
  const bindings = { ...fields, stream };
  let pending = '';

  const emit = (line: string): void => {
    logger.info(bindings, line.endsWith('\r') ? line.slice(0, -1) : line);
  };
  const drain = (text: string): void => {
    pending += text;
    let start = 0;
    let nl: number;
    while ((nl = pending.indexOf('\n', start)) !== -1) {
      emit(pending.slice(start, nl));
      start = nl + 1;
    }
    pending = pending.slice(start);
    while (pending.length > MAX_LINE_CHARS) {
      emit(pending.slice(0, MAX_LINE_CHARS));
      pending = pending.slice(MAX_LINE_CHARS);
    }
  };

  return {
    write(chunk) {
      drain(decoder.write(chunk));
    },
    end() {
      drain(decoder.end());
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}

/**
 * The `output` limit: lets the first `limit` bytes through (cut on a character boundary) and counts the
 * rest. Without a limit everything passes.
 */
export class OutputBudget {
  readonly limit: number | undefined;
  #passed = 0;
  #dropped = 0;

  constructor(limit?: number) {
    this.limit = limit;
  }

  /** The part of `chunk` within the budget (possibly empty); the rest is counted as dropped. */
  take(chunk: Buffer): Buffer {
    if (this.limit === undefined) return chunk;
    if (this.#dropped > 0) {
      this.#dropped += chunk.length;
      return chunk.subarray(0, 0);
    }
    const kept = utf8Head(chunk, this.limit - this.#passed);
    this.#passed += kept.length;
    this.#dropped += chunk.length - kept.length;
    return kept;
  }

  /** Bytes not let through. */
  get dropped(): number {
    return this.#dropped;
  }
}
