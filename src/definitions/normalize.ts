// A merged, interpolated, schema-valid job document → a JobDefinition, or located problems.

import { createHash } from 'node:crypto';
import { ERROR_CODES, type DefinitionError } from './errors.ts';
import { duration, Problems, url } from './fields.ts';
import type { JobFile } from './job-file.ts';
import { normalizeSchedule } from './normalize-schedule.ts';
import { normalizeTask } from './normalize-task.ts';
import { DEFAULT_LEASE_MS, MIN_LEASE_MS } from './lease.ts';
import type { HistoryPolicy, JobDefinition, NotifyPolicy } from './types.ts';

export const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export interface NormalizeContext {
  /** Absolute path of the job file. */
  file: string;
  /** The id the file name gives when the file sets none. */
  fileId: string;
  defaultTimezone: string;
}

/**
 * `notify.email`. Files to attach are left only by a command task: `attach: true` elsewhere attaches nothing
 * (so that `_defaults.yaml` can set it for every job), a list of names is an error.
 */
function email(problems: Problems, input: NonNullable<NonNullable<JobFile['notify']>['email']>, taskType: string | undefined): NonNullable<NotifyPolicy['email']> {
  const attach = input.attach === true || (Array.isArray(input.attach) && input.attach.length > 0) ? input.attach : undefined;
  if (Array.isArray(attach) && taskType !== 'command') {
    problems.add(ERROR_CODES.schema, ['notify', 'email', 'attach'], `only a command task leaves files to attach (JOBSD_OUTPUT_DIR); this job's task is ${taskType ?? 'not set'}: remove the list (attach: true attaches nothing here)`);
  }
  return { to: input.to, ...(input.from ? { from: input.from } : {}), ...(attach !== undefined ? { attach } : {}) };
}

export function normalizeJob(doc: JobFile, context: NormalizeContext): JobDefinition | DefinitionError[] {
  const problems = new Problems();
  if (doc.id !== undefined && doc.job_id !== undefined && doc.id !== doc.job_id) {
    problems.add(ERROR_CODES.id, ['job_id'], `conflicts with id "${doc.id}": keep one of them`);
  }
  const id = doc.id ?? doc.job_id ?? context.fileId;
  if (doc.id === undefined && doc.job_id === undefined && !ID_PATTERN.test(id)) {
    problems.add(ERROR_CODES.id, [], `the file name gives the id "${id}", which is not valid (1-128 of a-z 0-9 . _ -, starting with a letter or digit): rename the file or set id`);
  }
  const schedule = normalizeSchedule(problems, doc.schedule, context.defaultTimezone);
  const task = normalizeTask(problems, doc.task, { jobId: id, file: context.file });
  const timeoutMs = duration(problems, doc.timeout, ['timeout'], 3_600_000, { min: 1 });
  const retry = doc.retry ?? {};
  const history = historyPolicy(problems, doc);
  const definition: Omit<JobDefinition, 'hash' | 'secrets'> = {
    id,
    file: context.file,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    enabled: doc.enabled === undefined ? true : doc.enabled === true || doc.enabled === 'true',
    schedule: schedule!,
    overlap: doc.overlap ?? 'skip',
    timeoutMs,
    leaseMs: duration(problems, doc.lease, ['lease'], DEFAULT_LEASE_MS, { min: MIN_LEASE_MS }),
    ...(doc.pause_after_failures !== undefined ? { pauseAfterFailures: doc.pause_after_failures } : {}),
    retry: {
      attempts: retry.attempts ?? 0,
      delayMs: duration(problems, retry.delay, ['retry', 'delay'], 30_000),
      backoff: retry.backoff ?? 2,
      maxDelayMs: duration(problems, retry.max_delay, ['retry', 'max_delay'], 600_000),
    },
    ...(history !== undefined ? { history } : {}),
    ...(doc.notify && (doc.notify.webhook || doc.notify.email)
      ? {
          notify: {
            on: doc.notify.on ?? ['failure', 'recovery'],
            ...(doc.notify.webhook ? { webhook: { url: url(problems, doc.notify.webhook.url, ['notify', 'webhook', 'url']), headers: doc.notify.webhook.headers ?? {} } } : {}),
            ...(doc.notify.email ? { email: email(problems, doc.notify.email, doc.task?.type) } : {}),
          },
        }
      : {}),
    ...(doc.idempotency_key !== undefined ? { idempotencyKey: doc.idempotency_key } : {}),
    task,
  };
  if (problems.list.length > 0 || !schedule) return problems.list;
  return { ...definition, hash: createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16), secrets: [] };
}

/** Below this an hourly prune would keep nothing useful: a typo for 1h or 1d, most likely. */
const MIN_HISTORY_AGE_MS = 60_000;

function historyPolicy(problems: Problems, doc: JobFile): HistoryPolicy | undefined {
  if (doc.history === undefined) return undefined;
  const policy: HistoryPolicy = {};
  const { keep, max_age } = doc.history;
  if (keep !== undefined) {
    // pause_after_failures counts the last N runs in the ledger: pruning must leave them.
    if (doc.pause_after_failures !== undefined && keep < doc.pause_after_failures) {
      problems.add(ERROR_CODES.schema, ['history', 'keep'], `must be at least pause_after_failures (${doc.pause_after_failures}), whose count reads that many runs from the history`);
    } else policy.keep = keep;
  }
  if (max_age !== undefined) {
    const ms = duration(problems, max_age, ['history', 'max_age'], -1, { min: MIN_HISTORY_AGE_MS });
    if (ms >= MIN_HISTORY_AGE_MS) policy.maxAgeMs = ms;
  }
  return Object.keys(policy).length > 0 ? policy : undefined;
}
