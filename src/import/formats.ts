// The formats of `jobsd import`, by name: each a pure function from source text to job files and notes.

import { canonicalZone } from '../definitions/zone.ts';
import { importApscheduler } from './apscheduler.ts';
import { importCronJobs } from './cronjob.ts';
import { importCrontab } from './crontab.ts';
import { importSystemd } from './systemd.ts';
import type { ImportResult, ImportSource } from './types.ts';

export interface FormatOptions {
  /** crontab: the file has a user column (/etc/crontab, /etc/cron.d). */
  system?: boolean;
}

export const FORMATS = {
  crontab: (source: ImportSource, options: FormatOptions) => importCrontab(source, { system: options.system === true }),
  cronjob: (source: ImportSource) => importCronJobs(source),
  systemd: (source: ImportSource) => importSystemd(source, (name) => canonicalZone(name) !== null),
  apscheduler: (source: ImportSource) => importApscheduler(source),
} as const satisfies Record<string, (source: ImportSource, options: FormatOptions) => ImportResult>;

export type FormatName = keyof typeof FORMATS;

export function isFormat(name: string): name is FormatName {
  return Object.hasOwn(FORMATS, name);
}
