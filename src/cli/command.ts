// What every CLI command module exports, and the usage error that means exit code 2.

import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT / SIGTERM. */
  signal: AbortSignal;
  /** Aborted on a second SIGINT / SIGTERM: stop now. */
  urgent: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run: (args: string[], io: Io) => Promise<number>;
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class UsageError extends Error {
  /** Whether the command's usage text follows the message (not for a flag whose value is wrong in itself). */
  readonly withUsage: boolean;
  constructor(message: string, options: { withUsage?: boolean } = {}) {
    super(message);
    this.withUsage = options.withUsage ?? true;
  }
}

/**
 * A failure that its message says all about (the database cannot be reached, a login refused, an unknown
 * job): exit 1, one line, no stack trace.
 */
export class CliError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with strict flags and usage errors instead of exceptions (`--help` is main.ts's). */
export function parseCommandArgs<O extends Options>(args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, not "${text}"`);
  return n;
}
