// Errors are values: a stable code, the place they concern, and a message a person can act on.

export const ERROR_CODES = {
  read: 'JOBSD_E_READ',
  syntax: 'JOBSD_E_SYNTAX',
  interpolate: 'JOBSD_E_INTERPOLATE',
  schema: 'JOBSD_E_SCHEMA',
  cron: 'JOBSD_E_CRON',
  timezone: 'JOBSD_E_TIMEZONE',
  duration: 'JOBSD_E_DURATION',
  schedule: 'JOBSD_E_SCHEDULE',
  id: 'JOBSD_E_ID',
  duplicateId: 'JOBSD_E_DUPLICATE_ID',
  insecure: 'JOBSD_E_INSECURE_FILE',
  defaults: 'JOBSD_E_DEFAULTS',
  /** Over a limit of src/files/limits.ts (size, depth, values, aliases). */
  limit: 'JOBSD_E_LIMIT',
  nul: 'JOBSD_E_NUL',
  /** "and 9,981 more": the errors of a file past the first MAX_ERRORS_PER_FILE. */
  more: 'JOBSD_E_MORE',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface FileError {
  code: ErrorCode;
  /** Path of the file as the user named it (relative paths stay relative). */
  file: string;
  /** 1-based; absent when the error concerns the whole file. */
  line?: number;
  column?: number;
  /** Dotted path of the offending field, e.g. `schedule.cron` or `task.command[1]`. */
  field?: string;
  message: string;
}

/** `PATH:LINE:COL: FIELD: message`, leaving out the parts that are unknown. */
export function formatFileError(error: FileError): string {
  let place = error.file;
  if (error.line !== undefined) place += `:${error.line}:${error.column ?? 1}`;
  return error.field ? `${place}: ${error.field}: ${error.message}` : `${place}: ${error.message}`;
}

/** A located problem found while normalising a value; the loader turns it into a FileError. */
export class DefinitionError extends Error {
  readonly code: ErrorCode;
  /** JSON pointer segments of the offending value. */
  readonly path: readonly (string | number)[];
  constructor(code: ErrorCode, path: readonly (string | number)[], message: string) {
    super(message);
    this.code = code;
    this.path = path;
  }
}

/**
 * A key as a field name may show it. An unknown key may be a line of another file (a symlink to
 * /etc/shadow reads as one key per line): a key longer than 40 characters, or with spaces, colons or
 * control characters, is no field name, and is shown as its length only.
 */
function shownKey(key: string): string {
  // eslint-disable-next-line no-control-regex
  return key.length <= 40 && !/[\s:\u0000-\u001f\u007f-\u009f]/.test(key) ? key : `‹a key of ${key.length} characters›`;
}

/** `['task', 'command', 1]` → `task.command[1]`. */
export function fieldName(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${shownKey(part)}` : shownKey(part);
  }
  return out;
}
