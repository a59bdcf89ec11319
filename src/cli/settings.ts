// Agent settings shared by commands: flags first, then the environment, then defaults.

import type { LoadOptions } from '../definitions/load.ts';
import { maxFileBytes } from '../config.ts';
import { UsageError, type Io } from './command.ts';

export interface FileSettingsFlags {
  env?: string | undefined;
  'allow-insecure-files'?: boolean | undefined;
  'max-file-size'?: string | undefined;
}

export function loadOptions(flags: FileSettingsFlags, io: Io): LoadOptions {
  const environment = flags.env ?? io.env.JOBSD_ENV;
  return {
    env: environment !== undefined ? { ...io.env, JOBSD_ENV: environment } : io.env,
    ...(environment ? { environment } : {}),
    defaultTimezone: io.env.JOBSD_TIMEZONE || 'UTC',
    allowInsecureFiles: flags['allow-insecure-files'] ?? io.env.JOBSD_ALLOW_INSECURE_FILES === 'true',
    maxFileBytes: sizeFlag(flags['max-file-size'] ?? io.env.JOBSD_MAX_FILE_SIZE),
  };
}

export function jobsDir(flag: string | undefined, io: Io): string {
  return flag ?? io.env.JOBSD_JOBS_DIR ?? 'jobs.d';
}

/** The flags of every command that loads job files. */
export const FILE_FLAGS = {
  env: { type: 'string' },
  'allow-insecure-files': { type: 'boolean' },
  'max-file-size': { type: 'string' },
} as const;

function sizeFlag(text: string | undefined): number {
  try {
    return maxFileBytes(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
