// A converted job as the text of a YAML job file, with a comment saying where it came from.

import { stringify } from 'yaml';
import type { ImportedJob } from './types.ts';

export function renderJob(job: ImportedJob, format: string): string {
  const header = `# Imported by \`jobsd import ${format}\` from ${job.where.replace(/\n/g, ' ')}\n`;
  return header + stringify(job.job, { lineWidth: 0 });
}
