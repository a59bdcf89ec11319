// The configuration of the original VictoriaMetrics jobs service (APScheduler) → job files:
// `jobs:` (id, name, enabled, script, args, schedule: {type, args}), `environments:` overlays (into each
// job's `environments:`), OmegaConf interpolation, `max_workers`. A LogIngest `config.yaml`
// (`scheduler:` and `sources:`) is recognised and read by src/import/logingest.ts.

import { parse } from 'yaml';
import { IdPool, literal, slugId } from './common.ts';
import { importLogIngest } from './logingest.ts';
import { OmegaResolver } from './omegaconf.ts';
import { NOTE_CODES as C, Notes, type ImportedJob, type ImportResult, type ImportSource } from './types.ts';

type Obj = Record<string, unknown>;

const CARRIED = new Set(['id', 'job_id', 'name', 'description', 'enabled', 'script', 'args', 'schedule', 'task', 'env', 'cwd', 'timeout', 'retry', 'max_instances', 'notify', 'overlap', 'timezone']);

export function importApscheduler(source: ImportSource): ImportResult {
  const notes = new Notes();
  let config: unknown;
  try {
    config = parse(source.text);
  } catch (error) {
    notes.dropped(C.unparsed, source.name, `not YAML: ${(error as Error).message}`);
    return { jobs: [], notes: notes.list };
  }
  if (!isObj(config)) {
    notes.dropped(C.unparsed, source.name, 'expected a mapping with jobs: (or scheduler: and sources: for LogIngest)');
    return { jobs: [], notes: notes.list };
  }
  if (config.sources !== undefined && config.jobs === undefined) return importLogIngest(config, source, notes);

  const { environments, ...base } = config;
  const overlays = isObj(environments) ? environments : {};
  const baseJobs = jobsOf(base, source, notes, true);
  const ids = new IdPool();
  const result: ImportedJob[] = [];
  const perEnv = Object.entries(overlays).map(([name, overlay]) => {
    const merged = mergeConfig(base, isObj(overlay) ? overlay : {});
    return { name, jobs: jobsOf(merged, source, new Notes(), false) };
  });
  for (const [key, job] of baseJobs) {
    const id = ids.claim(String(job.id));
    const out: Obj = { ...job, id };
    const envs: Obj = {};
    for (const { name, jobs } of perEnv) {
      const other = jobs.get(key);
      if (!other) continue;
      const diff = difference(job, other);
      if (diff !== undefined && Object.keys(diff as Obj).length) envs[name] = diff;
    }
    if (Object.keys(envs).length) out.environments = envs;
    result.push({ id, job: out, where: `${source.name}: jobs ${key}` });
  }
  for (const { name, jobs } of perEnv) {
    for (const key of jobs.keys()) {
      if (!baseJobs.has(key)) notes.dropped(C.setting, `${source.name}: environments.${name}.jobs`, `the job ${key} exists only in environment ${name} and is not imported; add it to jobs: with enabled: false`);
    }
  }
  const workers = config.max_workers ?? obj(config.scheduler).max_workers ?? obj(obj(obj(config.executors).default)).max_workers;
  if (workers !== undefined) {
    notes.changed(C.concurrency, `${source.name}: max_workers`, `max_workers ${String(workers)} is an agent setting: start the agent with --concurrency ${String(workers)} (JOBSD_CONCURRENCY)`);
  }
  for (const [name, overlay] of Object.entries(overlays)) {
    const w = obj(overlay).max_workers;
    if (w !== undefined) notes.changed(C.concurrency, `${source.name}: environments.${name}.max_workers`, `in ${name}, start the agent with --concurrency ${String(w)}`);
  }
  return { jobs: result, notes: notes.list };
}

/** The config's jobs as job files, keyed by their id in the source, after interpolation. */
function jobsOf(config: Obj, source: ImportSource, notes: Notes, report: boolean): Map<string, Obj> {
  const resolver = new OmegaResolver(config, notes, source.name);
  const out = new Map<string, Obj>();
  const list = Array.isArray(config.jobs) ? config.jobs : isObj(config.jobs) ? Object.entries(config.jobs).map(([id, j]) => ({ id, ...obj(j) })) : [];
  const configZone = obj(config.scheduler).timezone ?? config.timezone;
  for (const [index, entry] of list.entries()) {
    if (!isObj(entry)) continue;
    const key = String(entry.id ?? entry.job_id ?? entry.name ?? `job-${index + 1}`);
    const where = `${source.name}: jobs[${index}] (${key})`;
    const at = (field: string) => resolver.resolve(entry[field], ['jobs', index, field]);
    const id = slugId(key, `job-${index + 1}`);
    if (report && id !== key) notes.changed(C.id, where, `id "${key}" became "${id}" (ids are lower case a-z, 0-9, ".", "_", "-")`, id);
    const job: Obj = { id };
    const description = at('description') ?? at('name');
    if (typeof description === 'string' && description !== '') job.description = description;
    if (entry.enabled !== undefined) job.enabled = at('enabled');
    const schedule = at('schedule');
    const zone = entry.timezone ?? configZone;
    if (isObj(schedule)) {
      const zoned = schedule.timezone !== undefined || obj(schedule.args).timezone !== undefined;
      job.schedule = zone !== undefined && !zoned ? { ...schedule, timezone: zone } : schedule;
    }
    else if (typeof schedule === 'string') job.schedule = zone !== undefined ? { cron: schedule, timezone: zone } : schedule;
    else {
      if (report) notes.dropped(C.schedule, where, 'not imported: no schedule', id);
      continue;
    }
    for (const field of ['timeout', 'retry', 'notify', 'overlap'] as const) if (entry[field] !== undefined) job[field] = at(field);
    const instances = entry.max_instances;
    if (typeof instances === 'number' && instances > 1) {
      job.overlap = 'allow';
      if (report) notes.changed(C.overlap, where, `max_instances ${instances} became overlap: allow, which has no upper bound`, id);
    }
    if (entry.task !== undefined) job.task = at('task');
    else if (entry.script !== undefined) {
      const script = String(at('script'));
      const args = argList(at('args'));
      const python = /\.py$/.test(script);
      job.task = { type: 'command', command: python ? ['python3', script, ...args] : [script, ...args] };
      if (report && python) notes.changed(C.command, where, 'the script runs with python3 from the agent\'s PATH, not with the service\'s own interpreter', id);
      if (report && !script.startsWith('/') && !script.startsWith('$')) {
        notes.changed(C.command, where, `the relative script path ${script} is resolved against the job file's directory: set task.cwd to the service's working directory`, id);
      }
    } else {
      if (report) notes.dropped(C.command, where, 'not imported: neither script: nor task:', id);
      continue;
    }
    const env = at('env');
    if (isObj(env) && isObj(job.task)) job.task = { ...(job.task as Obj), env };
    const cwd = at('cwd');
    if (typeof cwd === 'string' && isObj(job.task)) job.task = { ...(job.task as Obj), cwd };
    if (report) {
      const extra = Object.keys(entry).filter((k) => !CARRIED.has(k));
      if (extra.length) notes.dropped(C.setting, where, `not imported: ${extra.join(', ')}`, id);
    }
    out.set(key, job);
  }
  if (report && resolver.envDefaults) {
    notes.changed(C.interpolation, source.name, '${oc.env:VAR,default} became ${VAR:-default}: OmegaConf used the default only when VAR was unset, jobsd also when it is empty');
  }
  return out;
}

function argList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : literal(String(v))));
  if (isObj(value)) return Object.entries(value).flatMap(([k, v]) => (v === true ? [literal(k)] : v === false || v === null ? [] : [literal(k), typeof v === 'string' ? v : literal(String(v))]));
  if (typeof value === 'string') return [value];
  return [];
}

/** An environment overlay over the base: objects key by key, `jobs` by id, other values replaced. */
function mergeConfig(base: Obj, overlay: Obj): Obj {
  const out: Obj = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (key === 'jobs') out.jobs = mergeJobs(base.jobs, value);
    else out[key] = isObj(value) && isObj(base[key]) ? deepMerge(base[key] as Obj, value) : value;
  }
  return out;
}

function mergeJobs(base: unknown, overlay: unknown): unknown {
  const byId = (list: unknown): [string, Obj][] =>
    Array.isArray(list) ? list.filter(isObj).map((j, i) => [String(j.id ?? j.job_id ?? j.name ?? `job-${i + 1}`), j]) : isObj(list) ? Object.entries(list).map(([id, j]) => [id, { id, ...obj(j) }]) : [];
  const merged = new Map(byId(base));
  for (const [id, job] of byId(overlay)) merged.set(id, merged.has(id) ? deepMerge(merged.get(id)!, job) : job);
  return [...merged.values()];
}

function deepMerge(base: Obj, overlay: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(overlay)) out[k] = isObj(v) && isObj(base[k]) ? deepMerge(base[k] as Obj, v) : v;
  return out;
}

/** What an overlay must hold to turn `base` into `other` under jobsd's merge (objects by key, the rest replaced). */
function difference(base: unknown, other: unknown): unknown {
  if (isObj(base) && isObj(other)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(other)) {
      if (!(k in base)) out[k] = v;
      else {
        const d = difference(base[k], v);
        if (d !== undefined) out[k] = d;
      }
    }
    return Object.keys(out).length ? out : undefined;
  }
  return JSON.stringify(base) === JSON.stringify(other) ? undefined : other;
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}
