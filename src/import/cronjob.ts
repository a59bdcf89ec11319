// Kubernetes CronJob manifests → job files: one document, several (`---`), or a `List`.
// The schedule, time zone, concurrency policy, deadlines, retries and the container's command,
// arguments and environment are carried over; the image is not run (the command runs on the agent's host).

import { parseAllDocuments } from 'yaml';
import { parseCron } from '../definitions/cron.ts';
import { parseDuration } from '../definitions/duration.ts';
import { duration, IdPool, joinParts, literal, slugId, type Part } from './common.ts';
import { NOTE_CODES as C, Notes, type ImportedJob, type ImportResult, type ImportSource } from './types.ts';

type Obj = Record<string, unknown>;

const OVERLAP: Record<string, string> = { Allow: 'allow', Forbid: 'skip', Replace: 'replace' };
/** The Job controller's retry delays: 10 s, doubled per failure, at most 6 minutes; backoffLimit defaults to 6. */
const K8S_RETRY = { delay: '10s', backoff: 2, max_delay: '6m' };
const CARRIED_CONTAINER = new Set(['name', 'image', 'command', 'args', 'env', 'workingDir', 'imagePullPolicy']);

export function importCronJobs(source: ImportSource): ImportResult {
  const notes = new Notes();
  const jobs: ImportedJob[] = [];
  const ids = new IdPool();
  const documents = parseAllDocuments(source.text);
  const list = Array.isArray(documents) ? documents : [documents];
  for (const [n, doc] of list.entries()) {
    if (doc.errors.length) {
      notes.dropped(C.unparsed, `${source.name}: document ${n + 1}`, `not YAML: ${doc.errors[0]!.message}`);
      continue;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const items = isObj(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!isObj(item) || item.kind !== 'CronJob') {
        const kind = isObj(item) && typeof item.kind === 'string' ? item.kind : 'a value without kind';
        notes.dropped(C.unparsed, `${source.name}: document ${n + 1}`, `${kind} is not a CronJob and is not imported`);
        continue;
      }
      const job = convert(item, ids, notes, source.name);
      if (job) jobs.push(job);
    }
  }
  return { jobs, notes: notes.list };
}

function convert(cronJob: Obj, ids: IdPool, notes: Notes, file: string): ImportedJob | undefined {
  const meta = obj(cronJob.metadata);
  const name = str(meta.name) ?? 'cronjob';
  const where = `${file}: CronJob ${meta.namespace ? `${String(meta.namespace)}/` : ''}${name}`;
  const spec = obj(cronJob.spec);
  const jobSpec = obj(obj(spec.jobTemplate).spec);
  const podSpec = obj(obj(jobSpec.template).spec);
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers.filter(isObj) : [];
  const id = ids.claim(slugId(name, 'cronjob'));
  const drop = (message: string) => notes.dropped(C.setting, where, message, id);

  let text = str(spec.schedule)?.trim() ?? '';
  let zone = str(spec.timeZone);
  const prefixed = /^(?:CRON_)?TZ=(\S+)\s+(.*)$/.exec(text);
  if (prefixed) {
    zone ??= prefixed[1];
    text = prefixed[2]!;
  }
  const every = /^@every\s+(\S+)$/i.exec(text);
  const cron = every ? undefined : robfigToVixie(text);
  if (cron !== undefined) {
    const parsed = parseCron(cron);
    if ('error' in parsed) {
      notes.dropped(C.schedule, where, `not imported: spec.schedule ${parsed.error}`, id);
      return undefined;
    }
    if (cron !== text) notes.changed(C.schedule, where, `spec.schedule "${text}" is written "${cron}": the same days under cron's rules, where */N in a day field counts as restricted in Kubernetes`, id);
  } else if (typeof parseDuration(every![1]!) !== 'number') {
    notes.dropped(C.schedule, where, `not imported: spec.schedule "${text}": the interval is not a duration`, id);
    return undefined;
  }
  const container = containers[0];
  if (!container) {
    notes.dropped(C.container, where, 'not imported: the job template has no container', id);
    return undefined;
  }
  const command = [...strings(container.command), ...strings(container.args)];
  if (strings(container.command).length === 0) {
    notes.dropped(C.command, where, `not imported: the container has no command, so the image's entrypoint runs (${str(container.image) ?? 'no image'}), which jobsd cannot know; add command: to the manifest and import again`, id);
    return undefined;
  }

  const schedule: Obj = cron !== undefined ? { cron } : { every: every![1]! };
  if (every) notes.changed(C.schedule, where, `@every ${every[1]} became every: ${every[1]}: jobsd aligns the fires to the Unix epoch, Kubernetes counted from the controller's last start`, id);
  if (zone !== undefined) schedule.timezone = zone;
  if (cron !== undefined && zone !== undefined && zone !== 'UTC' && zone !== 'Etc/UTC') {
    notes.changed(C.timezone, where, "around daylight-saving changes jobsd follows Vixie cron: a fixed time in the spring-forward gap fires at the end of the gap, and one in the repeated autumn hour fires once; Kubernetes' cron library skips the first and may run the second twice", id);
  }
  else notes.changed(C.timezone, where, "no timeZone: the schedule is evaluated in the agent's JOBSD_TIMEZONE (default UTC); Kubernetes used kube-controller-manager's local time zone", id);
  const deadline = num(spec.startingDeadlineSeconds);
  schedule.catchup = 'latest';
  if (deadline !== undefined) schedule.catchup_window = duration(deadline * 1000);
  else notes.changed(C.catchup, where, 'no startingDeadlineSeconds: Kubernetes starts the latest missed schedule however late; jobsd looks back one hour (catchup_window: 1h)', id);

  const job: Obj = { id, schedule };
  const description = obj(meta.annotations).description ?? obj(meta.annotations)['kubernetes.io/description'];
  if (typeof description === 'string') job.description = description;
  if (spec.suspend === true) job.enabled = false;
  const policy = str(spec.concurrencyPolicy) ?? 'Allow';
  if (OVERLAP[policy] === undefined) drop(`concurrencyPolicy ${policy} is unknown; overlap: allow (Kubernetes' default) is used`);
  job.overlap = OVERLAP[policy] ?? 'allow';

  const active = num(jobSpec.activeDeadlineSeconds);
  if (active !== undefined) {
    job.timeout = duration(active * 1000);
    notes.changed(C.timeout, where, 'activeDeadlineSeconds bounds the whole Job, retries included; jobsd\'s timeout bounds each attempt', id);
  } else {
    notes.changed(C.timeout, where, 'no activeDeadlineSeconds: Kubernetes set no limit; jobsd stops an attempt after one hour (timeout: 1h)', id);
  }
  const attempts = num(jobSpec.backoffLimit) ?? 6;
  if (attempts > 0) job.retry = { attempts, ...K8S_RETRY };

  const env: Record<string, string> = {};
  const known = new Map<string, string | null>();
  for (const variable of Array.isArray(container.env) ? container.env.filter(isObj) : []) {
    const key = str(variable.name);
    if (!key) continue;
    if (variable.valueFrom !== undefined) {
      env[key] = `\${${key}}`;
      known.set(key, null);
      notes.changed(C.secret, where, `env ${key} comes from ${describeValueFrom(obj(variable.valueFrom))}: it is read from the agent's environment as \${${key}}, so set ${key} there`, id);
    } else {
      const value = String(variable.value ?? '');
      env[key] = expandRefs(value, known);
      known.set(key, value);
    }
  }
  if (container.envFrom !== undefined) drop('envFrom is not imported: put those variables in the agent\'s environment or in task.env');

  const task: Obj = { type: 'command', command: command.map((word) => expandRefs(word, known)) };
  if (Object.keys(env).length) task.env = env;
  if (typeof container.workingDir === 'string') task.cwd = literal(container.workingDir);
  job.task = task;

  notes.dropped(C.image, where, `the image ${str(container.image) ?? '(none)'} is not run: the command runs on the agent's host, which must have the program`, id);
  const extra = Object.keys(container).filter((k) => !CARRIED_CONTAINER.has(k));
  if (extra.length) drop(`container settings not imported: ${extra.join(', ')}`);
  if (containers.length > 1) drop(`only the first container is imported; not: ${containers.slice(1).map((c) => str(c.name) ?? '?').join(', ')}`);
  if (Array.isArray(podSpec.initContainers) && podSpec.initContainers.length) drop('initContainers are not imported');
  for (const key of ['volumes', 'serviceAccountName', 'nodeSelector', 'affinity', 'tolerations', 'securityContext']) {
    if (podSpec[key] !== undefined) drop(`pod ${key} is not imported`);
  }
  for (const key of ['successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) {
    if (spec[key] !== undefined) notes.changed(C.setting, where, `${key}: jobsd keeps every fire in its ledger (jobsd history)`, id);
  }
  for (const key of ['parallelism', 'completions', 'ttlSecondsAfterFinished', 'podFailurePolicy']) {
    if (jobSpec[key] !== undefined) drop(`jobTemplate.spec.${key} is not imported`);
  }
  return { id, job, where };
}

/**
 * Kubernetes' `$(VAR)` references in command, args and env values: a variable defined earlier with a
 * value is put in; one from a secret or config map becomes `${VAR}` (read at load from the agent's
 * environment); `$$(VAR)` is the literal `$(VAR)`; unknown references stay as written, as in Kubernetes.
 * The result is job-file text: everything else is escaped so that it reaches the command as written.
 */
function expandRefs(text: string, known: Map<string, string | null>): string {
  const parts: Part[] = [];
  let plain = '';
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('$$(', i)) {
      plain += '$(';
      i += 2;
      continue;
    }
    const m = /^\$\(([A-Za-z_][A-Za-z0-9_]*)\)/.exec(text.slice(i));
    if (m && known.has(m[1]!)) {
      const value = known.get(m[1]!);
      if (value === null) {
        parts.push({ plain }, { raw: `\${${m[1]}}` });
        plain = '';
      } else plain += value;
      i += m[0].length - 1;
      continue;
    }
    plain += text[i]!;
  }
  parts.push({ plain });
  return joinParts(parts);
}

/**
 * Kubernetes reads schedules with robfig/cron v3: `?` is `*`, and a day field stepped from `*` by N > 1
 * counts as restricted, so with the other day field restricted either one matching is enough. Vixie cron (and
 * jobsd) count any field starting with `*` as unrestricted: such a field is written as its range.
 */
export function robfigToVixie(text: string): string {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5) return text;
  const dayRange = ['1-31', '0-6'];
  return fields
    .map((f, i) => {
      const g = f.replaceAll('?', '*');
      if (i < 2 || i === 3) return g;
      const range = dayRange[i === 2 ? 0 : 1]!;
      return g.split(',').map((item) => item.replace(/^\*\/(\d+)$/, (all, n: string) => (Number(n) > 1 ? `${range}/${n}` : all))).join(',');
    })
    .join(' ');
}

function describeValueFrom(from: Obj): string {
  const ref = obj(from.secretKeyRef ?? from.configMapKeyRef);
  if (from.secretKeyRef) return `secret ${str(ref.name) ?? '?'} key ${str(ref.key) ?? '?'}`;
  if (from.configMapKeyRef) return `config map ${str(ref.name) ?? '?'} key ${str(ref.key) ?? '?'}`;
  if (from.fieldRef) return `the pod field ${str(obj(from.fieldRef).fieldPath) ?? '?'}`;
  return 'a reference';
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}
