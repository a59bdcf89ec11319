// What an instance reports of its catalog in jobsd.instances: enough for `jobsd list` to show the jobs
// as the agent runs them (a broken file's last good version, the agent's JOBSD_ENV) and for `jobsd run`
// to know the job and the definition it runs (by hash). No secret: the task is left out, and the
// description and schedule are scrubbed of the job's secrets.

import type { JobDefinition, TaskType } from '../definitions/types.ts';
import { allSecrets, redactDeep, scrubText } from '../redact.ts';

/** What an agent reports of a job: the definition's fields that say what and when, never its task. */
export interface ReportedJob extends Pick<JobDefinition, 'id' | 'file' | 'description' | 'enabled' | 'schedule' | 'overlap'> {
  task_type: TaskType;
  /** The definition's hash (src/definitions/normalize.ts): which version of the file the agent runs. */
  hash: string;
}

export function reportedJob(def: JobDefinition): ReportedJob {
  const secrets = allSecrets(def.secrets);
  return {
    id: def.id,
    file: def.file,
    ...(def.description !== undefined ? { description: scrubText(def.description, secrets) } : {}),
    enabled: def.enabled,
    schedule: redactDeep(def.schedule, secrets),
    overlap: def.overlap,
    task_type: def.task.type,
    hash: def.hash,
  };
}

/** Each definition's entry as JSON, made once: a reload with one changed file of 10,000 re-serialises one. */
const serialised = new WeakMap<JobDefinition, string>();

/** The catalog as the JSON array stored in jobsd.instances.catalog. */
export function catalogJson(definitions: readonly JobDefinition[]): string {
  const parts = definitions.map((def) => {
    let text = serialised.get(def);
    if (text === undefined) serialised.set(def, (text = JSON.stringify(reportedJob(def))));
    return text;
  });
  return `[${parts.join(',')}]`;
}
