// What every converter of `jobsd import` returns: job-file objects and what could not be carried over exactly.

/**
 * `dropped`: a setting of the source with no counterpart in jobsd, left out (or a job left out whole);
 * `jobsd import` exits 1 for these unless `--allow-partial`.
 * `changed`: carried over, with a difference in behaviour the note names.
 */
export type NoteKind = 'dropped' | 'changed';

export interface ImportNote {
  kind: NoteKind;
  /** Stable code, e.g. `JOBSD_I_USER`. */
  code: string;
  /** Where in the source: `crontab:12`, `backup.timer: OnCalendar=`, `CronJob default/backup`. */
  where: string;
  /** The id of the job the note concerns, when there is one. */
  job?: string;
  message: string;
}

export interface ImportedJob {
  id: string;
  /** A job file as an object, in the schema of schemas/job.schema.json. */
  job: Record<string, unknown>;
  /** Where it came from, for the header comment of the written file. */
  where: string;
}

export interface ImportResult {
  jobs: ImportedJob[];
  notes: ImportNote[];
}

/** The source text of one file, and what the caller knows about it. */
export interface ImportSource {
  text: string;
  /** The file name as the user gave it (`-` for stdin). */
  name: string;
  /** Other files the format may need (a timer's .service), by base name. */
  siblings?: Readonly<Record<string, string>>;
}

export const NOTE_CODES = {
  unparsed: 'JOBSD_I_UNPARSED',
  user: 'JOBSD_I_USER',
  mail: 'JOBSD_I_MAIL',
  reboot: 'JOBSD_I_REBOOT',
  timezone: 'JOBSD_I_TIMEZONE',
  shell: 'JOBSD_I_SHELL',
  schedule: 'JOBSD_I_SCHEDULE',
  image: 'JOBSD_I_IMAGE',
  secret: 'JOBSD_I_SECRET',
  container: 'JOBSD_I_CONTAINER',
  setting: 'JOBSD_I_SETTING',
  catchup: 'JOBSD_I_CATCHUP',
  timeout: 'JOBSD_I_TIMEOUT',
  retry: 'JOBSD_I_RETRY',
  overlap: 'JOBSD_I_OVERLAP',
  command: 'JOBSD_I_COMMAND',
  interpolation: 'JOBSD_I_INTERPOLATION',
  concurrency: 'JOBSD_I_CONCURRENCY',
  split: 'JOBSD_I_SPLIT',
  id: 'JOBSD_I_ID',
} as const;

/** Collects notes for one source. */
export class Notes {
  readonly list: ImportNote[] = [];
  dropped(code: string, where: string, message: string, job?: string): void {
    this.list.push({ kind: 'dropped', code, where, message, ...(job !== undefined ? { job } : {}) });
  }
  changed(code: string, where: string, message: string, job?: string): void {
    this.list.push({ kind: 'changed', code, where, message, ...(job !== undefined ? { job } : {}) });
  }
}
