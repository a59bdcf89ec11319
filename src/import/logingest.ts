// The LogIngest scheduler's config.yaml → job files: `scheduler:` (timezone, max_parallel_jobs,
// default_retry, default_timeout) and `sources:` (a list with `name`, or a map by name) with their
// schedule (a cron string or APScheduler {type, args}), timeout, retry, and the command that ingests it.

import { duration, IdPool, slugId } from './common.ts';
import { OmegaResolver } from './omegaconf.ts';
import { NOTE_CODES as C, type ImportedJob, type ImportResult, type ImportSource, type Notes } from './types.ts';

type Obj = Record<string, unknown>;

const CARRIED = new Set(['name', 'id', 'description', 'enabled', 'schedule', 'timeout', 'retry', 'command', 'script', 'args', 'env', 'cwd']);

export function importLogIngest(config: Obj, source: ImportSource, notes: Notes): ImportResult {
  const resolver = new OmegaResolver(config, notes, source.name);
  const scheduler = obj(config.scheduler);
  const zone = scheduler.timezone;
  const ids = new IdPool();
  const jobs: ImportedJob[] = [];
  const sources: Obj[] = Array.isArray(config.sources)
    ? config.sources.filter(isObj)
    : Object.entries(obj(config.sources)).map(([name, s]) => ({ name, ...obj(s) }));
  if (scheduler.max_parallel_jobs !== undefined) {
    notes.changed(C.concurrency, `${source.name}: scheduler.max_parallel_jobs`, `an agent setting: start the agent with --concurrency ${String(scheduler.max_parallel_jobs)} (JOBSD_CONCURRENCY)`);
  }
  for (const [index, entry] of sources.entries()) {
    const name = String(entry.name ?? entry.id ?? `source-${index + 1}`);
    const where = `${source.name}: sources ${name}`;
    const at = (field: string) => resolver.resolve(entry[field], ['sources', index, field]);
    const id = ids.claim(slugId(name, `source-${index + 1}`));
    const job: Obj = { id };
    const description = at('description');
    if (typeof description === 'string') job.description = description;
    if (entry.enabled !== undefined) job.enabled = at('enabled');
    const schedule = at('schedule');
    if (typeof schedule === 'string') job.schedule = zone !== undefined ? { cron: schedule, timezone: zone } : schedule;
    else if (isObj(schedule)) job.schedule = zone !== undefined && schedule.timezone === undefined ? { ...schedule, timezone: zone } : schedule;
    else {
      notes.dropped(C.schedule, where, 'not imported: no schedule', id);
      continue;
    }
    const timeout = entry.timeout ?? scheduler.default_timeout;
    if (timeout !== undefined) job.timeout = typeof timeout === 'number' ? duration(timeout * 1000) : timeout;
    const retry = retryOf(isObj(entry.retry) ? { ...obj(scheduler.default_retry), ...entry.retry } : obj(scheduler.default_retry), where, id, notes);
    if (retry) job.retry = retry;
    const command = at('command');
    const script = at('script');
    if (typeof command === 'string' || Array.isArray(command)) job.task = { type: 'command', command };
    else if (typeof script === 'string') {
      const args = Array.isArray(at('args')) ? (at('args') as unknown[]).map(String) : [];
      job.task = { type: 'command', command: /\.py$/.test(script) ? ['python3', script, ...args] : [script, ...args] };
    } else {
      notes.dropped(C.command, where, "not imported: the source names no command: or script:, so LogIngest ran its own ingestion code for it, which jobsd cannot run; add the command that ingests this source and import again", id);
      continue;
    }
    const env = at('env');
    if (isObj(env)) (job.task as Obj).env = env;
    const cwd = at('cwd');
    if (typeof cwd === 'string') (job.task as Obj).cwd = cwd;
    const extra = Object.keys(entry).filter((k) => !CARRIED.has(k));
    if (extra.length) notes.dropped(C.setting, where, `not imported: ${extra.join(', ')}`, id);
    jobs.push({ id, job, where });
  }
  return { jobs, notes: notes.list };
}

/** `{attempts | max_attempts | max_retries, delay | delay_seconds | backoff_seconds, backoff | multiplier, max_delay}`. */
function retryOf(retry: Obj, where: string, id: string, notes: Notes): Obj | undefined {
  const attempts = retry.attempts ?? retry.max_retries ?? (typeof retry.max_attempts === 'number' ? retry.max_attempts - 1 : undefined);
  if (attempts === undefined) return undefined;
  if (retry.max_attempts !== undefined) notes.changed(C.retry, where, `max_attempts ${String(retry.max_attempts)} counts the first attempt: retry.attempts ${String(attempts)} counts the retries`, id);
  const out: Obj = { attempts };
  const delay = retry.delay ?? retry.delay_seconds ?? retry.backoff_seconds ?? retry.initial_delay;
  if (delay !== undefined) out.delay = typeof delay === 'number' ? duration(delay * 1000) : delay;
  const backoff = retry.backoff ?? retry.multiplier ?? retry.backoff_multiplier;
  if (typeof backoff === 'number') out.backoff = backoff;
  const max = retry.max_delay ?? retry.max_delay_seconds;
  if (max !== undefined) out.max_delay = typeof max === 'number' ? duration(max * 1000) : max;
  return out;
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}
