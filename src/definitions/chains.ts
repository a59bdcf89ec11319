// Chained jobs (`schedule: { after: JOB }`) across the definitions of a directory: an `after` that names
// no job, or a cycle of them, is an error of the downstream job's file, located at its `after`. Pure.

import { ERROR_CODES, type FileError } from './errors.ts';
import type { JobDefinition } from './types.ts';
import type { Location } from '../files/locations.ts';

/** The errors of chained jobs, by job id; `afterAt` locates each job's `after` field. */
export function chainErrors(definitions: readonly JobDefinition[], afterAt: (def: JobDefinition) => Location | undefined): Map<string, FileError> {
  const byId = new Map(definitions.map((d) => [d.id, d]));
  const upstreamOf = (d: JobDefinition) => (d.schedule.trigger.kind === 'after' ? d.schedule.trigger.job : undefined);
  const errors = new Map<string, FileError>();
  const error = (def: JobDefinition, message: string): FileError => {
    const at = afterAt(def);
    return { code: ERROR_CODES.schedule, file: def.file, ...(at ? { line: at.line, column: at.column } : {}), field: 'schedule.after', message };
  };
  for (const def of definitions) {
    const upstream = upstreamOf(def);
    if (upstream === undefined) continue;
    if (!byId.has(upstream)) {
      errors.set(def.id, error(def, `no job "${upstream}" to run after: jobsd list shows the jobs`));
      continue;
    }
    // Follow the chain upstream; coming back to this job is a cycle.
    const path = [def.id];
    for (let at: string | undefined = upstream; at !== undefined; at = upstreamOf(byId.get(at)!)) {
      if (at === def.id) {
        errors.set(def.id, error(def, `a cycle of after: ${[...path, def.id].join(' → ')}: one job of it must have a schedule of its own`));
        break;
      }
      if (path.includes(at) || !byId.has(at)) break; // a cycle further up (its own jobs report it), or a missing job
      path.push(at);
    }
  }
  return errors;
}
