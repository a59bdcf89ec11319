// The JSON views of the API: jobs with their next fire and last result, runs, file errors.
import { DateTime } from 'luxon';
import type { FireRow } from '../db/ledger.ts';
import { pauseJson as pauseView, type Pause } from '../db/pauses.ts';

export { pauseJson as pauseView } from '../db/pauses.ts';
import { latenessFrom } from '../queue/fire-id.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import type { JobDefinition } from '../definitions/types.ts';
import { allSecrets, REDACTED, redactDeep, scrubText } from '../redact.ts';
import { describeTrigger } from '../schedule/describe.ts';

export function instantView(ms: number | undefined, zone: string): { utc: string; local: string } | null {
  if (ms === undefined) return null;
  return { utc: new Date(ms).toISOString(), local: DateTime.fromMillis(ms, { zone }).toISO() ?? new Date(ms).toISOString() };
}

export function runView(row: FireRow, secrets: readonly string[] = []) {
  const fire = row.fire_time.getTime();
  const started = row.started_at?.getTime();
  const finished = row.finished_at?.getTime();
  return redactDeep(
    {
      job_id: row.job_id,
      run_id: row.run_id,
      fire_time: row.fire_time.toISOString(),
      state: row.state,
      manual: row.manual,
      attempts: row.attempts,
      instance: row.instance,
      enqueued_at: row.enqueued_at?.toISOString() ?? null,
      started_at: row.started_at?.toISOString() ?? null,
      finished_at: row.finished_at?.toISOString() ?? null,
      lateness_ms: started === undefined || row.manual ? null : started - latenessFrom(fire, row.due_at?.getTime()),
      duration_seconds: started === undefined || finished === undefined ? null : (finished - started) / 1000,
      message: typeof row.result?.message === 'string' ? row.result.message : null,
      result: row.result,
    },
    allSecrets(secrets), // a run's output can hold another job's secret
  );
}

export function jobView(def: JobDefinition, next: number | undefined, last: FireRow | undefined, pause?: Pause) {
  return {
    id: def.id,
    description: def.description === undefined ? null : scrubText(def.description, allSecrets(def.secrets)), // may be a ${file:…}
    file: def.file,
    enabled: def.enabled,
    schedule: describeTrigger(def.schedule),
    timezone: def.schedule.timezone,
    overlap: def.overlap,
    task_type: def.task.type,
    timeout_seconds: def.timeoutMs / 1000,
    next_fire: def.enabled ? instantView(next, def.schedule.timezone) : null,
    last_run: last ? runView(last, def.secrets) : null,
    pause: pauseView(pause),
  };
}

/**
 * The whole definition for /api/jobs/:id, which answers without a token: secrets replaced, and the values of
 * environment variables and headers hidden whatever their names (they often carry credentials).
 */
export function definitionView(def: JobDefinition) {
  const { secrets: _secrets, hash: _hash, ...rest } = def;
  const view = redactDeep(rest, allSecrets(def.secrets)) as unknown as { task: Record<string, unknown>; notify?: { webhook?: { headers: Record<string, string> } } };
  const hideValues = (map: unknown) =>
    map && typeof map === 'object' ? Object.fromEntries(Object.keys(map).map((k) => [k, REDACTED])) : map;
  if ('env' in view.task) view.task.env = hideValues(view.task.env);
  if ('headers' in view.task) view.task.headers = hideValues(view.task.headers);
  if (view.notify?.webhook) view.notify.webhook.headers = hideValues(view.notify.webhook.headers) as Record<string, string>;
  return view;
}

export function fileErrorView(error: FileError) {
  return { ...error, text: formatFileError(error) };
}
